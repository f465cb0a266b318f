import { describe, expect, it } from '@jest/globals';
import { normalizeCheckRequest } from '../../../src/request/normalize.js';
import { extractBearerToken } from '../../../src/request/credentials.js';
import { RolegateError } from '../../../src/errors.js';
import type { CheckRequest } from '../../../src/wire/ext-authz.js';

function message(http: Record<string, unknown>, extra: Record<string, unknown> = {}): CheckRequest {
  return {
    attributes: {
      source: {
        address: { socket_address: { address: '10.1.2.3', port_value: 5555 } },
        principal: 'spiffe://cluster.local/ns/a/sa/b',
      },
      request: {
        http: {
          headers: {},
          header_map: null,
          path: '/',
          host: '',
          method: 'GET',
          query: '',
          ...http,
        },
      },
      context_extensions: {},
      tls_session: null,
      ...extra,
    },
  } as unknown as CheckRequest;
}

describe('normalizeCheckRequest', () => {
  it('splits path and query, lower-cases host and header names', () => {
    const req = normalizeCheckRequest(
      message({
        method: 'post',
        path: '/orders/1?x=1&x=2&y=3',
        host: 'API.Example.com.',
        headers: { 'X-Thing': 'v', 'x-request-id': 'rid' },
      }),
    );
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/orders/1');
    expect(req.query.get('x')).toEqual(['1', '2']);
    expect(req.host).toBe('api.example.com');
    expect(req.headers['x-thing']).toBe('v');
    expect(req.requestId).toBe('rid');
    expect(req.sourceAddress).toBe('10.1.2.3');
    expect(req.sourcePrincipal).toBe('spiffe://cluster.local/ns/a/sa/b');
    expect(req.secure).toBe(false);
  });

  it('reads header_map (encode_raw_headers) and joins repeated headers', () => {
    const req = normalizeCheckRequest(
      message({
        headers: {},
        header_map: {
          headers: [
            { key: 'Accept', value: '', raw_value: Buffer.from('a') },
            { key: 'accept', value: '', raw_value: Buffer.from('b') },
          ],
        },
      }),
    );
    expect(req.headers['accept']).toBe('a,b');
  });

  it('keeps context extensions and marks TLS sessions secure', () => {
    const req = normalizeCheckRequest(
      message({}, { context_extensions: { action: 'svc:Do' }, tls_session: { sni: 'x' } }),
    );
    expect(req.contextExtensions).toEqual({ action: 'svc:Do' });
    expect(req.secure).toBe(true);
  });

  it('canonicalises the path: decoded once, dot segments resolved', () => {
    const req = normalizeCheckRequest(message({ path: '/x/../accounts/%74reasury/./entries?a=1' }));
    expect(req.path).toBe('/accounts/treasury/entries');
    expect(req.query.get('a')).toEqual(['1']);
    expect(req.refused).toBeUndefined();
  });

  it.each([
    [{ path: '/%2e%2e/admin' }, 'ERR_PATH_TRAVERSAL'],
    [{ path: '/a%2fb' }, 'ERR_PATH_ENCODED_SEPARATOR'],
    [{ path: '/admin;x=1' }, 'ERR_PATH_INVALID'],
    [{ path: '/public#/../admin' }, 'ERR_PATH_INVALID'],
    [{ path: '/public?a=1#/../admin' }, 'ERR_PATH_INVALID'],
    [{ method: 'GET /x' }, 'ERR_REQUEST_METHOD_INVALID'],
    [{ method: 'G:ET' }, 'ERR_REQUEST_METHOD_INVALID'],
    [{ host: 'evil/../x' }, 'ERR_REQUEST_HOST_INVALID'],
    [{ host: 'a b' }, 'ERR_REQUEST_HOST_INVALID'],
    [{ host: 'api.example.com:99999x' }, 'ERR_REQUEST_HOST_INVALID'],
  ])('refuses %j with %s and exposes no raw value', (http, code) => {
    const req = normalizeCheckRequest(message(http));
    expect(req.refused).toBe(code);
    expect(req.path === '' || req.method === '' || req.host === '').toBe(true);
  });

  it.each(['api.example.com:8443', '10.0.0.1:80', '[2001:db8::1]:443', 'svc_a.ns.svc', ''])(
    'accepts the authority %j',
    (host) => expect(normalizeCheckRequest(message({ host })).refused).toBeUndefined(),
  );

  it.each([
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['::FFFF:0a01:0203', '10.1.2.3'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['10.1.2.3', '10.1.2.3'],
    ['fe80::1%eth0', undefined],
    ['not-an-ip', undefined],
  ])('reads the source address %s as %s', (address, expected) => {
    const req = normalizeCheckRequest(
      message({}, { source: { address: { socket_address: { address } }, principal: '' } }),
    );
    expect(req.sourceAddress).toBe(expected);
  });

  it('takes the request id from x-request-id, else the stream id, never a hostile value', () => {
    expect(
      normalizeCheckRequest(message({ id: '77', headers: { 'x-request-id': 'r-1' } })).requestId,
    ).toBe('r-1');
    expect(normalizeCheckRequest(message({ id: '77' })).requestId).toBe('77');
    expect(
      normalizeCheckRequest(message({ id: '77', headers: { 'x-request-id': 'a\nb' } })).requestId,
    ).toBe('77');
    expect(
      normalizeCheckRequest(message({ id: '77', headers: { 'x-request-id': 'x'.repeat(129) } }))
        .requestId,
    ).toBe('77');
  });

  it('survives an empty message', () => {
    const req = normalizeCheckRequest({ attributes: null });
    expect(req.method).toBe('GET');
    expect(req.path).toBe('/');
  });
});

describe('extractBearerToken', () => {
  const req = (authorization?: string) =>
    normalizeCheckRequest(message({ headers: authorization ? { authorization } : {} }));

  it('returns undefined without an Authorization header', () => {
    expect(extractBearerToken(req())).toBeUndefined();
  });
  it('returns the token of a Bearer header, any case of the scheme', () => {
    expect(extractBearerToken(req('bearer abc.def.ghi'))).toBe('abc.def.ghi');
  });
  it.each(['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', 'Bearer <script>'])(
    'rejects %j as malformed',
    (header) => {
      let thrown: unknown;
      try {
        extractBearerToken(req(header));
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(RolegateError);
      expect((thrown as RolegateError).code).toBe('ERR_TOKEN_MALFORMED');
    },
  );
});

/** Envoy's `source.address` read through the one address canonicaliser (src/policy/address.ts). */
describe('normalizeCheckRequest: the source address', () => {
  const from = (address: string) =>
    normalizeCheckRequest({
      attributes: {
        source: { address: { socket_address: { address, port_value: 1 } }, principal: '' },
        request: {
          http: { headers: {}, header_map: null, path: '/', host: 'h', method: 'GET', query: '' },
        },
        context_extensions: {},
        tls_session: null,
      },
    } as unknown as CheckRequest);

  it.each([
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['64:ff9b::a01:203', '10.1.2.3'],
    ['2001:DB8::1', '2001:db8::1'],
  ])('reads %s as %s', (address, want) => {
    const req = from(address);
    expect([req.sourceAddress, req.refused]).toEqual([want, undefined]);
  });

  // An address that is sent but not read would skip every IpAddress Deny: refused instead.
  it.each(['::10.1.2.3', '2002:a01:203::1', '::ffff:0:10.1.2.3', 'fe80::1%eth0', 'not-an-ip'])(
    'refuses %s with ERR_REQUEST_SOURCE_INVALID',
    (address) => expect(from(address).refused).toBe('ERR_REQUEST_SOURCE_INVALID'),
  );
});
