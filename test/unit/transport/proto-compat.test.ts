/**
 * Wire compatibility of rolegate's minimal ext_authz protos (proto/) with
 * Envoy's upstream definitions (shipped by @grpc/grpc-js-xds under deps/).
 *
 * Requests: a fully populated upstream CheckRequest is encoded with the
 * upstream schema, decoded by our service definition (the exact path
 * grpc-js uses on the server) and compared field by field; re-encoding our
 * decoded object must give back the same bytes, which proves no populated
 * field was dropped as unknown. Responses: the reverse direction.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import protobuf from 'protobufjs';

import type {
  CheckRequest,
  CheckResponse,
  DeniedCheckResponse,
  OkCheckResponse,
} from '../../../src/wire/ext-authz.js';
import { RpcCode } from '../../../src/wire/ext-authz.js';
import { TO_OBJECT, UPSTREAM_INCLUDE_DIRS, loadRoot } from '../../support/upstream-protos.js';
import {
  CHECK_METHOD_PATH,
  PROTO_LOADER_OPTIONS,
  loadAuthorizationService,
  protoDir,
} from '../../../src/transport/grpc/protos.js';

const structOf = (fields: Record<string, unknown>): { fields: Record<string, unknown> } => ({
  fields,
});

/** Everything CheckRequest can carry, in upstream's field names. */
const FULL_REQUEST = {
  attributes: {
    source: {
      address: { socket_address: { protocol: 'TCP', address: '10.1.2.3', port_value: 51234 } },
      service: 'frontend',
      labels: { app: 'web', team: 'edge' },
      principal: 'spiffe://cluster.local/ns/default/sa/web',
      certificate: '-----BEGIN%20CERTIFICATE-----%0AMIIB...%0A-----END%20CERTIFICATE-----%0A',
    },
    destination: {
      address: {
        socket_address: {
          protocol: 'TCP',
          address: '10.9.8.7',
          port_value: 8443,
          resolver_name: 'custom',
          ipv4_compat: true,
        },
      },
      principal: 'spiffe://cluster.local/ns/default/sa/api',
    },
    request: {
      time: { seconds: '1735689600', nanos: 123456789 },
      http: {
        id: '7c1e3a10-7a4e-4e0c-9f1e-0123456789ab',
        method: 'POST',
        headers: {
          ':authority': 'api.example.com',
          ':method': 'POST',
          ':path': '/orders/42?expand=items&x=%20y',
          authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig',
          'x-forwarded-for': '203.0.113.9',
          cookie: 'a=1; b=2',
        },
        header_map: {
          headers: [
            { key: ':authority', raw_value: Buffer.from('api.example.com') },
            { key: ':path', raw_value: Buffer.from('/orders/42?expand=items&x=%20y') },
            { key: 'authorization', raw_value: Buffer.from('Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig') },
            { key: 'x-multi', raw_value: Buffer.from('one') },
            { key: 'x-multi', raw_value: Buffer.from('two') },
            { key: 'x-legacy', value: 'text-value' },
          ],
        },
        path: '/orders/42?expand=items&x=%20y',
        host: 'api.example.com',
        scheme: 'https',
        query: 'expand=items&x=%20y',
        fragment: 'frag',
        size: '-1',
        protocol: 'HTTP/2',
        body: '{"a":1}',
        raw_body: Buffer.from([0, 1, 2, 255]),
      },
    },
    context_extensions: { virtual_host: 'api', route: 'orders' },
    metadata_context: {
      filter_metadata: {
        'envoy.filters.http.jwt_authn': structOf({
          sub: { stringValue: 'user-1' },
          n: { numberValue: 3.5 },
          ok: { boolValue: true },
          none: { nullValue: 'NULL_VALUE' },
          list: { listValue: { values: [{ stringValue: 'a' }, { numberValue: 1 }] } },
          nested: { structValue: structOf({ k: { stringValue: 'v' } }) },
        }),
      },
      typed_filter_metadata: {
        'envoy.test': {
          type_url: 'type.googleapis.com/envoy.config.core.v3.QueryParameter',
          value: Buffer.from([10, 1, 107, 18, 1, 118]),
        },
      },
    },
    route_metadata_context: {
      filter_metadata: { rolegate: structOf({ action: { stringValue: 'orders:Read' } }) },
    },
    tls_session: { sni: 'api.example.com' },
  },
};

describe('proto compatibility with upstream Envoy ext_authz v3', () => {
  let upstream: protobuf.Root;
  let ours: protobuf.Root;
  let upCheckRequest: protobuf.Type;
  let upCheckResponse: protobuf.Type;
  const service = loadAuthorizationService();

  beforeAll(() => {
    upstream = loadRoot(UPSTREAM_INCLUDE_DIRS);
    ours = loadRoot([protoDir()]);
    upCheckRequest = upstream.lookupType('envoy.service.auth.v3.CheckRequest');
    upCheckResponse = upstream.lookupType('envoy.service.auth.v3.CheckResponse');
  });

  it('serves Check at the path Envoy calls', () => {
    expect(CHECK_METHOD_PATH).toBe('/envoy.service.auth.v3.Authorization/Check');
    expect(service.Check.path).toBe('/envoy.service.auth.v3.Authorization/Check');
    expect(service.Check.requestStream).toBe(false);
    expect(service.Check.responseStream).toBe(false);
    const upService = upstream.lookupService('envoy.service.auth.v3.Authorization');
    expect(Object.keys(upService.methods)).toEqual(['Check']);
    expect(upService.methods['Check']?.resolvedRequestType).toBe(upCheckRequest);
  });

  it('loads from the package proto/ directory with documented options', () => {
    expect(existsSync(join(protoDir(), 'envoy/service/auth/v3/external_auth.proto'))).toBe(true);
    expect(PROTO_LOADER_OPTIONS.keepCase).toBe(true);
  });

  it('decodes a fully populated upstream CheckRequest field for field', () => {
    const bytes = Buffer.from(
      upCheckRequest.encode(upCheckRequest.fromObject(FULL_REQUEST)).finish(),
    );
    const decoded: CheckRequest = service.Check.requestDeserialize(bytes);
    const theirs = upCheckRequest.toObject(upCheckRequest.decode(bytes), TO_OBJECT);

    // Same decoded tree as upstream (we declare every AttributeContext field).
    expect(decoded).toEqual(theirs);

    // Spot checks on what rolegate reads, in our typed shape.
    const attrs = decoded.attributes;
    const http = attrs?.request?.http;
    expect(http?.method).toBe('POST');
    expect(http?.path).toBe('/orders/42?expand=items&x=%20y');
    expect(http?.headers['authorization']).toBe('Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig');
    expect(http?.header_map?.headers.map((h) => [h.key, h.raw_value.toString(), h.value])).toEqual([
      [':authority', 'api.example.com', ''],
      [':path', '/orders/42?expand=items&x=%20y', ''],
      ['authorization', 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig', ''],
      ['x-multi', 'one', ''],
      ['x-multi', 'two', ''],
      ['x-legacy', '', 'text-value'],
    ]);
    expect(http?.size).toBe('-1');
    expect(http?.raw_body).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(attrs?.request?.time).toEqual({ seconds: '1735689600', nanos: 123456789 });
    expect(attrs?.source?.principal).toBe('spiffe://cluster.local/ns/default/sa/web');
    expect(attrs?.source?.address?.address).toBe('socket_address');
    expect(attrs?.source?.address?.socket_address).toMatchObject({
      address: '10.1.2.3',
      port_value: 51234,
      port_specifier: 'port_value',
      protocol: 'TCP',
    });
    expect(attrs?.context_extensions).toEqual({ virtual_host: 'api', route: 'orders' });
    expect(
      attrs?.metadata_context?.filter_metadata['envoy.filters.http.jwt_authn']?.fields['sub'],
    ).toEqual({ kind: 'stringValue', stringValue: 'user-1' });
    expect(attrs?.route_metadata_context?.filter_metadata['rolegate']?.fields['action']).toEqual({
      kind: 'stringValue',
      stringValue: 'orders:Read',
    });
    expect(attrs?.tls_session).toEqual({ sni: 'api.example.com' });

    // Nothing was dropped as an unknown field: decoding with our schema and
    // re-encoding (raw messages, so only fields present on the wire) is
    // byte-identical.
    const ourType = ours.lookupType('envoy.service.auth.v3.CheckRequest');
    expect(Buffer.from(ourType.encode(ourType.decode(bytes)).finish())).toEqual(bytes);
  });

  it('decodes requests that carry only header_map (encode_raw_headers) or only headers', () => {
    const rawOnly = {
      attributes: {
        request: {
          http: {
            method: 'GET',
            path: '/x',
            header_map: { headers: [{ key: 'authorization', raw_value: Buffer.from('Bearer t') }] },
          },
        },
      },
    };
    const ours1 = service.Check.requestDeserialize(
      Buffer.from(upCheckRequest.encode(upCheckRequest.fromObject(rawOnly)).finish()),
    );
    expect(ours1.attributes?.request?.http?.headers).toEqual({});
    expect(ours1.attributes?.request?.http?.header_map?.headers[0]?.raw_value.toString()).toBe(
      'Bearer t',
    );

    const mapOnly = {
      attributes: { request: { http: { headers: { authorization: 'Bearer t' } } } },
    };
    const ours2 = service.Check.requestDeserialize(
      Buffer.from(upCheckRequest.encode(upCheckRequest.fromObject(mapOnly)).finish()),
    );
    expect(ours2.attributes?.request?.http?.header_map).toBeNull();
    expect(ours2.attributes?.request?.http?.headers).toEqual({ authorization: 'Bearer t' });
    expect(ours2.attributes?.source).toBeNull();
  });

  function viaUpstream(response: CheckResponse): Record<string, unknown> {
    const bytes = service.Check.responseSerialize(response);
    const decoded = upCheckResponse.decode(bytes);
    // Upstream re-encoding is byte-identical: every field we set is known upstream.
    expect(Buffer.from(upCheckResponse.encode(decoded).finish())).toEqual(bytes);
    // Only what is on the wire (protobufjs writes explicitly set zero values).
    return upCheckResponse.toObject(decoded, {
      longs: String,
      enums: String,
      bytes: Buffer,
      oneofs: true,
    });
  }

  it('encodes an OK response that upstream decodes equal', () => {
    const ok: OkCheckResponse = {
      status: { code: RpcCode.OK },
      ok_response: {
        headers: [
          {
            header: { key: 'x-rolegate-principal', value: 'arn:aws:iam::123456789012:role/reader' },
            append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
          },
          { header: { key: 'x-added', value: '1' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
          {
            header: { key: 'x-empty', value: '' },
            append_action: 'ADD_IF_ABSENT',
            keep_empty_value: true,
          },
        ],
        headers_to_remove: ['authorization', 'x-internal'],
        response_headers_to_add: [
          { header: { key: 'x-rolegate', value: 'allow' }, append_action: 'OVERWRITE_IF_EXISTS' },
        ],
        query_parameters_to_set: [{ key: 'tenant', value: 't1' }],
        query_parameters_to_remove: ['token'],
      },
      dynamic_metadata: {
        fields: {
          principal: { stringValue: 'arn:aws:iam::123456789012:role/reader' },
          decision: {
            structValue: { fields: { allowed: { boolValue: true }, n: { numberValue: 2 } } },
          },
          tags: { listValue: { values: [{ stringValue: 'a' }, { nullValue: 'NULL_VALUE' }] } },
        },
      },
    };
    expect(viaUpstream(ok)).toEqual({
      status: { code: 0 },
      ok_response: {
        headers: [
          {
            header: { key: 'x-rolegate-principal', value: 'arn:aws:iam::123456789012:role/reader' },
            append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
          },
          { header: { key: 'x-added', value: '1' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
          {
            header: { key: 'x-empty', value: '' },
            append_action: 'ADD_IF_ABSENT',
            keep_empty_value: true,
          },
        ],
        headers_to_remove: ['authorization', 'x-internal'],
        response_headers_to_add: [
          { header: { key: 'x-rolegate', value: 'allow' }, append_action: 'OVERWRITE_IF_EXISTS' },
        ],
        query_parameters_to_set: [{ key: 'tenant', value: 't1' }],
        query_parameters_to_remove: ['token'],
      },
      http_response: 'ok_response',
      dynamic_metadata: {
        fields: {
          principal: { stringValue: 'arn:aws:iam::123456789012:role/reader', kind: 'stringValue' },
          decision: {
            structValue: {
              fields: {
                allowed: { boolValue: true, kind: 'boolValue' },
                n: { numberValue: 2, kind: 'numberValue' },
              },
            },
            kind: 'structValue',
          },
          tags: {
            listValue: {
              values: [
                { stringValue: 'a', kind: 'stringValue' },
                { nullValue: 'NULL_VALUE', kind: 'nullValue' },
              ],
            },
            kind: 'listValue',
          },
        },
      },
    });
  });

  it('encodes a denied response that upstream decodes equal', () => {
    const denied: DeniedCheckResponse = {
      status: { code: RpcCode.PERMISSION_DENIED, message: 'denied by policy' },
      denied_response: {
        status: { code: 'Forbidden' },
        headers: [
          {
            header: { key: 'content-type', value: 'application/json' },
            append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
          },
          { header: { key: 'www-authenticate', value: 'Bearer error="insufficient_scope"' } },
        ],
        body: '{"error":"forbidden"}',
      },
      dynamic_metadata: { fields: { reason: { stringValue: 'explicit-deny' } } },
    };
    expect(viaUpstream(denied)).toEqual({
      status: { code: 7, message: 'denied by policy' },
      denied_response: {
        status: { code: 'Forbidden' },
        headers: [
          {
            header: { key: 'content-type', value: 'application/json' },
            append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
          },
          { header: { key: 'www-authenticate', value: 'Bearer error="insufficient_scope"' } },
        ],
        body: '{"error":"forbidden"}',
      },
      http_response: 'denied_response',
      dynamic_metadata: {
        fields: { reason: { stringValue: 'explicit-deny', kind: 'stringValue' } },
      },
    });

    // Numeric HTTP status and UNAUTHENTICATED encode the same way.
    const unauth = viaUpstream({
      status: { code: RpcCode.UNAUTHENTICATED },
      denied_response: { status: { code: 401 } },
    });
    expect(unauth).toEqual({
      status: { code: 16 },
      denied_response: { status: { code: 'Unauthorized' } },
      http_response: 'denied_response',
    });
  });

  it('knows every upstream HTTP status code name', () => {
    const ourEnum = new protobuf.Root();
    ourEnum.resolvePath = (_o: string, t: string): string => join(protoDir(), t);
    ourEnum.loadSync('envoy/type/v3/http_status.proto');
    const mine = ourEnum.lookupEnum('envoy.type.v3.StatusCode').values;
    const theirs = upstream.lookupEnum('envoy.type.v3.StatusCode').values;
    expect(mine).toEqual(theirs);
  });
});
