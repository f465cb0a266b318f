/**
 * The direct CheckRequest decoder (src/transport/grpc/decode-check-request.ts)
 * against the generic one: requests encoded with Envoy's upstream protos
 * (every field populated, random requests, repeated fields, mutated
 * frames) decode to the same fields the pipeline reads as proto-loader's
 * decoder (the server's former deserializer) gives, and normalise to the
 * same request. A frame it refuses throws only CheckRequestDecodeError.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import type protobuf from 'protobufjs';
import { normalizeCheckRequest } from '../../../src/request/normalize.js';
import {
  CheckRequestDecodeError,
  decodeCheckRequest,
} from '../../../src/transport/grpc/decode-check-request.js';
import type { CheckRequest, CheckRequestFields } from '../../../src/wire/ext-authz.js';
import { loadAuthorizationService } from '../../../src/transport/grpc/protos.js';
import { UPSTREAM_INCLUDE_DIRS, loadRoot } from '../../support/upstream-protos.js';

const SEED = 0x17d3c0;
const generic = loadAuthorizationService().Check.requestDeserialize;
let upCheckRequest: protobuf.Type;

beforeAll(() => {
  upCheckRequest = loadRoot(UPSTREAM_INCLUDE_DIRS).lookupType('envoy.service.auth.v3.CheckRequest');
});

const encodeUpstream = (o: object): Buffer =>
  Buffer.from(upCheckRequest.encode(upCheckRequest.fromObject(o)).finish());

/** The fields the pipeline reads, as plain data (from either decoder's output). */
function project(m: CheckRequestFields): unknown {
  const a = m.attributes;
  if (a === null) return { attributes: null };
  const http = a.request?.http ?? null;
  const socket = a.source?.address?.socket_address;
  return {
    attributes: {
      source:
        a.source === null
          ? null
          : {
              address:
                a.source.address === null
                  ? null
                  : socket === undefined || socket === null
                    ? {}
                    : { socket_address: { address: socket.address } },
              principal: a.source.principal,
            },
      request:
        a.request === null
          ? null
          : {
              http:
                http === null
                  ? null
                  : {
                      id: http.id,
                      method: http.method,
                      headers: { ...http.headers },
                      header_map:
                        http.header_map === null
                          ? null
                          : http.header_map.headers.map((h) => ({
                              key: h.key,
                              value: h.value,
                              raw_value: Buffer.from(h.raw_value).toString('hex'),
                            })),
                      path: http.path,
                      host: http.host,
                      scheme: http.scheme,
                      query: http.query,
                    },
            },
      context_extensions: { ...a.context_extensions },
      tls_session: a.tls_session === null ? null : 'present',
    },
  };
}

type Outcome = { ok: true; fields: unknown; normalized: unknown } | { ok: false };

function viaGeneric(frame: Buffer): Outcome {
  let m: CheckRequest;
  try {
    m = generic(frame);
  } catch {
    return { ok: false };
  }
  return { ok: true, fields: project(m), normalized: normalizeCheckRequest(m) };
}

function viaDirect(frame: Buffer): Outcome {
  let m: CheckRequestFields;
  try {
    m = decodeCheckRequest(frame);
  } catch (err) {
    // The only way it refuses.
    expect(err).toBeInstanceOf(CheckRequestDecodeError);
    return { ok: false };
  }
  return { ok: true, fields: project(m), normalized: normalizeCheckRequest(m) };
}

/** Everything CheckRequest can carry, in upstream's field names. */
const FULL = {
  attributes: {
    source: {
      address: { socket_address: { protocol: 'TCP', address: '10.1.2.3', port_value: 51234 } },
      service: 'frontend',
      labels: { app: 'web' },
      principal: 'spiffe://cluster.local/ns/default/sa/web',
      certificate: '-----BEGIN%20CERTIFICATE-----',
    },
    destination: {
      address: { socket_address: { address: '10.9.8.7', port_value: 8443, ipv4_compat: true } },
      principal: 'spiffe://cluster.local/ns/default/sa/api',
    },
    request: {
      time: { seconds: 1735689600, nanos: 123456789 },
      http: {
        id: '7c1e3a10',
        method: 'POST',
        headers: { ':path': '/orders/42?x=1', authorization: 'Bearer a.b.c', 'X-Mixed': 'v' },
        header_map: {
          headers: [
            { key: 'x-multi', raw_value: Buffer.from('one') },
            { key: 'x-multi', raw_value: Buffer.from('two') },
            { key: 'x-legacy', value: 'text-value' },
          ],
        },
        path: '/orders/42?x=1',
        host: 'api.example.com',
        scheme: 'https',
        query: 'q=1',
        fragment: 'frag',
        size: 42,
        protocol: 'HTTP/2',
        body: '{"a":1}',
        raw_body: Buffer.from([0, 1, 2, 255]),
      },
    },
    context_extensions: { route: 'orders', 'x-env': 'prod' },
    metadata_context: {
      filter_metadata: {
        'envoy.filters.http.jwt_authn': { fields: { sub: { stringValue: 'alice' } } },
      },
    },
    route_metadata_context: { filter_metadata: { r: { fields: { n: { numberValue: 1 } } } } },
    tls_session: { sni: 'api.example.com' },
  },
};

describe('decodeCheckRequest against the generic decoder', () => {
  it('a fully populated upstream request: same fields, same normalised request', () => {
    const frame = encodeUpstream(FULL);
    const direct = viaDirect(frame);
    expect(direct).toEqual(viaGeneric(frame));
    expect(direct.ok).toBe(true);
    // Not vacuous: the fields are there.
    expect(JSON.stringify(direct)).toContain('api.example.com');
    expect(JSON.stringify(direct)).toContain('spiffe://cluster.local/ns/default/sa/web');
  });

  it('header names read again (the known-name table) decode as the first time', () => {
    // Names that share a slot replace each other; non-ASCII and long names bypass the table.
    const names = [
      'accept',
      'Accept',
      'x-a',
      'x-b',
      'é-x',
      'x'.repeat(40),
      'x'.repeat(41),
      ...Array.from({ length: 2000 }, (_, i) => `x-h${i}`),
    ];
    const frames = [0, 1, 2].map((round) =>
      encodeUpstream({
        attributes: {
          request: {
            http: {
              headers: Object.fromEntries(names.map((n, i) => [n, `v${round}-${i}`])),
              header_map: { headers: names.slice(0, 50).map((key) => ({ key, value: key })) },
            },
          },
        },
      }),
    );
    for (const frame of [...frames, ...frames]) expect(viaDirect(frame)).toEqual(viaGeneric(frame));
  });

  it('empty and minimal frames', () => {
    for (const o of [
      {},
      { attributes: {} },
      { attributes: { request: {} } },
      { attributes: { request: { http: {} } } },
      { attributes: { source: { address: {} } } },
      { attributes: { source: { address: { pipe: { path: '/sock' } } } } },
      { attributes: { tls_session: {} } },
    ]) {
      const frame = encodeUpstream(o);
      expect(viaDirect(frame)).toEqual(viaGeneric(frame));
    }
  });

  it('repeated fields: the last singular value and the last sub-message win, map keys merge', () => {
    const a = encodeUpstream({
      attributes: {
        request: { http: { method: 'GET', path: '/a', headers: { x: '1', y: '2' } } },
        context_extensions: { k: 'a' },
      },
    });
    const b = encodeUpstream({
      attributes: {
        request: { http: { path: '/b', headers: { x: '3' } } },
        context_extensions: { k: 'b', j: 'c' },
      },
    });
    for (const frame of [Buffer.concat([a, b]), Buffer.concat([b, a]), Buffer.concat([a, a])]) {
      expect(viaDirect(frame)).toEqual(viaGeneric(frame));
    }
  });

  const text = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.string({ unit: 'grapheme', maxLength: 8 }),
    fc.constantFrom('__proto__', 'constructor', 'toString', ''),
  );
  const dict = fc.dictionary(text, text, { maxKeys: 6 });
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const request = fc.record(
    {
      attributes: fc.record(
        {
          source: fc.record(
            {
              address: fc.oneof(
                fc.record({ socket_address: fc.record({ address: text, port_value: fc.nat() }) }),
                fc.record({ pipe: fc.record({ path: text }) }),
                fc.constant({}),
              ),
              service: text,
              labels: dict,
              principal: text,
            },
            { requiredKeys: [] },
          ),
          destination: maybe(fc.record({ principal: text, labels: dict })),
          request: fc.record(
            {
              time: maybe(fc.record({ seconds: fc.nat(), nanos: fc.nat(999_999_999) })),
              http: fc.record(
                {
                  id: text,
                  method: text,
                  headers: dict,
                  header_map: fc.record({
                    headers: fc.array(
                      fc.record(
                        { key: text, value: text, raw_value: fc.uint8Array({ maxLength: 8 }) },
                        { requiredKeys: [] },
                      ),
                      { maxLength: 4 },
                    ),
                  }),
                  path: text,
                  host: text,
                  scheme: text,
                  query: text,
                  fragment: text,
                  size: fc.integer({ min: -1, max: 1 << 30 }),
                  protocol: text,
                  body: text,
                  raw_body: fc.uint8Array({ maxLength: 8 }),
                },
                { requiredKeys: [] },
              ),
            },
            { requiredKeys: [] },
          ),
          context_extensions: dict,
          metadata_context: maybe(
            fc.record({ filter_metadata: fc.dictionary(text, fc.constant({ fields: {} })) }),
          ),
          tls_session: maybe(fc.record({ sni: text })),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: [] },
  );

  it('random upstream requests: same fields, same normalised request', () => {
    fc.assert(
      fc.property(request, (o) => {
        const frame = encodeUpstream(o);
        const direct = viaDirect(frame);
        expect(direct.ok).toBe(true);
        expect(direct).toEqual(viaGeneric(frame));
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('mutated and random frames: refused, or decoded as the generic decoder does', () => {
    let both = 0;
    let refusedByDirectOnly = 0;
    const mismatches: string[] = [];
    fc.assert(
      fc.property(
        request,
        fc.array(
          fc.record({
            at: fc.nat(),
            kind: fc.constantFrom('flip', 'set', 'cut', 'drop', 'insert'),
            byte: fc.integer({ min: 0, max: 255 }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        (o, edits) => {
          let frame = encodeUpstream(o);
          for (const e of edits) {
            if (frame.length === 0) break;
            const at = e.at % frame.length;
            const c = Buffer.from(frame);
            if (e.kind === 'flip') c[at] = (c[at] ?? 0) ^ (1 << (e.byte % 8));
            if (e.kind === 'set') c[at] = e.byte;
            frame =
              e.kind === 'cut'
                ? c.subarray(0, at)
                : e.kind === 'drop'
                  ? Buffer.concat([c.subarray(0, at), c.subarray(at + 1)])
                  : e.kind === 'insert'
                    ? Buffer.concat([c.subarray(0, at), Buffer.from([e.byte]), c.subarray(at)])
                    : c;
          }
          const direct = viaDirect(frame);
          const gen = viaGeneric(frame);
          if (direct.ok && gen.ok) {
            both++;
            if (!isDeepStrictEqual(direct, gen)) mismatches.push(frame.toString('hex'));
          }
          if (!direct.ok && gen.ok) refusedByDirectOnly++;
        },
      ),
      { seed: SEED, numRuns: 3_000 },
    );
    expect(mismatches).toEqual([]);
    // Not vacuous: many mutated frames still decode with both.
    expect(both).toBeGreaterThan(300);
    expect(refusedByDirectOnly).toBeLessThan(3_000);
  });

  it('random bytes never throw anything but a refusal', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        viaDirect(Buffer.from(bytes));
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });
});
