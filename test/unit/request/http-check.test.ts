import { describe, expect, it } from '@jest/globals';
import { httpCheckRequest } from '../../../src/request/http-check.js';
import type { HttpCheckCall } from '../../../src/wire/http-check.js';

const options = {
  trustedProxies: [] as string[],
  originalMethodHeader: 'x-original-method',
  originalUriHeader: 'x-original-uri',
  originalHostHeader: 'x-original-host',
  envoyPrefix: '/envoy',
  nginxAuthLocation: '/_rolegate',
};

function call(headers: Record<string, string | string[]>, extra: Partial<HttpCheckCall> = {}) {
  const distinct: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(headers)) distinct[k] = Array.isArray(v) ? v : [v];
  return { method: 'GET', target: '/nginx', headers: distinct, peerIp: '127.0.0.1', ...extra };
}

describe('httpCheckRequest: nginx auth_request', () => {
  it('rebuilds method, URI and host from X-Original-*; the control headers are not request headers', () => {
    const r = httpCheckRequest(
      'nginx',
      call({
        host: 'rolegate',
        'x-original-method': 'POST',
        'x-original-uri': '/orders/%7E1?b=2&a=1',
        'x-original-host': 'API.example.com',
        authorization: 'Bearer t',
      }),
      options,
    );
    expect(r.refused).toBeUndefined();
    expect(r.method).toBe('POST');
    expect(r.path).toBe('/orders/~1');
    expect(r.query.get('a')).toEqual(['1']);
    expect(r.host).toBe('api.example.com');
    expect(r.headers['host']).toBe('API.example.com');
    expect(r.headers['x-original-uri']).toBeUndefined();
    expect(r.headers['authorization']).toBe('Bearer t');
    expect(r.sourceAddress).toBe('127.0.0.1');
  });

  it('uses Host when X-Original-Host is absent', () => {
    const r = httpCheckRequest(
      'nginx',
      call({ host: 'shop.example.com', 'x-original-method': 'GET', 'x-original-uri': '/' }),
      options,
    );
    expect(r.host).toBe('shop.example.com');
  });

  it.each([
    ['no X-Original-URI', { host: 'h', 'x-original-method': 'GET' }],
    ['no X-Original-Method', { host: 'h', 'x-original-uri': '/' }],
    [
      'two X-Original-URI',
      { host: 'h', 'x-original-method': 'GET', 'x-original-uri': ['/a', '/b'] },
    ],
    ['no host at all', { 'x-original-method': 'GET', 'x-original-uri': '/' }],
    ['an empty X-Original-URI', { host: 'h', 'x-original-method': 'GET', 'x-original-uri': '' }],
  ])('refuses %s with ERR_REQUEST_MISSING_ORIGINAL', (_, headers) => {
    const r = httpCheckRequest('nginx', call(headers), options);
    expect(r.refused).toBe('ERR_REQUEST_MISSING_ORIGINAL');
    expect(r.path).toBe('');
  });

  it.each(['http://x/admin', 'https://api.example.com/orders/1', '*', 'orders/1'])(
    'refuses the original target %j (not origin form) with ERR_REQUEST_TARGET_FORM',
    (uri) => {
      const r = httpCheckRequest(
        'nginx',
        call({ host: 'h', 'x-original-method': 'GET', 'x-original-uri': uri }),
        options,
      );
      expect(r.refused).toBe('ERR_REQUEST_TARGET_FORM');
    },
  );

  // nginx docs (ngx_http_core_module, $uri): inside the auth_request
  // subrequest $uri is the subrequest's own URI, the auth location.
  it.each(['/_rolegate', '/_rolegate?x=1'])(
    'refuses an original URI equal to the auth location (%s: $uri sent) with ERR_REQUEST_ORIGINAL_IS_CHECK',
    (uri) => {
      const r = httpCheckRequest(
        'nginx',
        call({ host: 'h', 'x-original-method': 'GET', 'x-original-uri': uri }),
        options,
      );
      expect(r.refused).toBe('ERR_REQUEST_ORIGINAL_IS_CHECK');
    },
  );

  it('reads the auth location from the options, and only at the nginx door', () => {
    const nginx = (uri: string) =>
      httpCheckRequest(
        'nginx',
        call({ host: 'h', 'x-original-method': 'GET', 'x-original-uri': uri }),
        {
          ...options,
          nginxAuthLocation: '/auth',
        },
      );
    expect(nginx('/auth').refused).toBe('ERR_REQUEST_ORIGINAL_IS_CHECK');
    expect(nginx('/_rolegate').refused).toBeUndefined();
    const forward = httpCheckRequest(
      'forward',
      call({
        'x-forwarded-method': 'GET',
        'x-forwarded-uri': '/_rolegate',
        'x-forwarded-host': 'h',
      }),
      options,
    );
    expect(forward.refused).toBeUndefined();
  });

  it.each(['//host/admin', '//evil.example/admin', '///admin', '/.//admin', '/a/..//admin', '//'])(
    'refuses the network-path reference %j with ERR_PATH_NETWORK_PATH',
    (uri) => {
      const r = httpCheckRequest(
        'nginx',
        call({ host: 'h', 'x-original-method': 'GET', 'x-original-uri': uri }),
        options,
      );
      expect(r.refused).toBe('ERR_PATH_NETWORK_PATH');
    },
  );

  it('names the header it reads from the options', () => {
    const r = httpCheckRequest('nginx', call({ host: 'h', 'x-m': 'DELETE', 'x-u': '/x' }), {
      ...options,
      originalMethodHeader: 'x-m',
      originalUriHeader: 'x-u',
    });
    expect([r.method, r.path]).toEqual(['DELETE', '/x']);
  });

  it('hands a traversal in the original URI to the same canonicaliser as gRPC', () => {
    const r = httpCheckRequest(
      'nginx',
      call({ host: 'h', 'x-original-method': 'GET', 'x-original-uri': '/../etc' }),
      options,
    );
    expect(r.refused).toBe('ERR_PATH_TRAVERSAL');
  });
});

describe('httpCheckRequest: forward-auth (Traefik, Caddy)', () => {
  const forwardCall = call({
    host: 'rolegate',
    'x-forwarded-method': 'PUT',
    'x-forwarded-uri': '/a/b',
    'x-forwarded-host': 'app.example.com',
    'x-forwarded-proto': 'https',
  });

  it('rebuilds the request from X-Forwarded-Method, -Uri, -Host, and -Proto from a trusted proxy', () => {
    const r = httpCheckRequest('forward', forwardCall, {
      ...options,
      trustedProxies: ['127.0.0.1'],
    });
    expect([r.method, r.path, r.host, r.secure]).toEqual(['PUT', '/a/b', 'app.example.com', true]);
  });

  it('reads the request as plain HTTP when the peer is not a trusted proxy', () => {
    const r = httpCheckRequest('forward', forwardCall, options);
    expect([r.method, r.path, r.secure]).toEqual(['PUT', '/a/b', false]);
  });

  it('refuses a request without X-Forwarded-Host', () => {
    const r = httpCheckRequest(
      'forward',
      call({ host: 'h', 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/' }),
      options,
    );
    expect(r.refused).toBe('ERR_REQUEST_MISSING_ORIGINAL');
  });
});

describe('httpCheckRequest: Envoy http_service', () => {
  it('takes the path after the prefix, the method and Host of the check call', () => {
    const r = httpCheckRequest(
      'envoy',
      call({ host: 'api.example.com' }, { method: 'DELETE', target: '/envoy/orders/7?x=1' }),
      options,
    );
    expect([r.method, r.path, r.host]).toEqual(['DELETE', '/orders/7', 'api.example.com']);
    expect(r.query.get('x')).toEqual(['1']);
  });

  it('reads the prefix alone as /', () => {
    const r = httpCheckRequest('envoy', call({ host: 'h' }, { target: '/envoy' }), options);
    expect(r.path).toBe('/');
    expect(r.refused).toBeUndefined();
  });

  it('refuses a path that does not continue the prefix with /', () => {
    const r = httpCheckRequest('envoy', call({ host: 'h' }, { target: '/envoyx/a' }), options);
    expect(r.refused).toBe('ERR_REQUEST_MISSING_ORIGINAL');
  });
});

describe('httpCheckRequest: the client address and scheme', () => {
  const nginx = { host: 'h', 'x-original-method': 'GET', 'x-original-uri': '/' };
  const trusting = { ...options, trustedProxies: ['127.0.0.1', '10.0.0.0/8'] };

  it('believes no forwarded header from an untrusted peer (the default)', () => {
    const r = httpCheckRequest(
      'nginx',
      call({
        ...nginx,
        'x-real-ip': '203.0.113.9',
        'x-forwarded-for': '203.0.113.8',
        'x-forwarded-proto': 'https',
        forwarded: 'for=203.0.113.7;proto=https',
      }),
      options,
    );
    expect([r.sourceAddress, r.secure, r.refused]).toEqual(['127.0.0.1', false, undefined]);
  });

  it('never reads X-Real-IP or Forwarded, even from a trusted proxy: they carry no chain', () => {
    const r = httpCheckRequest(
      'nginx',
      call({ ...nginx, 'x-real-ip': '203.0.113.9', forwarded: 'for=203.0.113.7' }),
      trusting,
    );
    expect(r.sourceAddress).toBe('127.0.0.1');
  });

  it.each([
    ['one line', ['198.51.100.1, 203.0.113.7, 10.0.0.2'], '203.0.113.7'],
    ['several lines', ['198.51.100.1', '203.0.113.7', '10.0.0.2'], '203.0.113.7'],
    ['no spaces', ['198.51.100.1,203.0.113.7'], '203.0.113.7'],
    ['every hop trusted', ['10.0.0.3, 10.0.0.2'], '10.0.0.3'],
    ['a forged left part', ['10.9.9.9, 1.2.3.4, 203.0.113.7'], '203.0.113.7'],
  ])('takes the right-most untrusted X-Forwarded-For hop (%s)', (_, xff, want) => {
    const r = httpCheckRequest('nginx', call({ ...nginx, 'x-forwarded-for': xff }), trusting);
    expect(r.sourceAddress).toBe(want);
  });

  it.each([
    'evil',
    '203.0.113.7:443',
    '[2001:db8::1]',
    'unknown',
    '',
    '2002:a01:203::1',
    '::10.1.2.3',
  ])(
    'refuses the X-Forwarded-For entry %j from a trusted proxy with ERR_REQUEST_SOURCE_INVALID',
    (entry) => {
      const r = httpCheckRequest(
        'nginx',
        call({ ...nginx, 'x-forwarded-for': `${entry}, 203.0.113.7` }),
        trusting,
      );
      expect(r.refused).toBe('ERR_REQUEST_SOURCE_INVALID');
    },
  );

  it.each([
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['64:ff9b::a01:203', '10.1.2.3'],
    ['2001:DB8::1', '2001:db8::1'],
  ])('reads the forwarded address %s as %s', (entry, want) => {
    const r = httpCheckRequest('nginx', call({ ...nginx, 'x-forwarded-for': entry }), trusting);
    expect(r.sourceAddress).toBe(want);
  });

  it.each([
    [['https'], true],
    [['HTTPS'], true],
    [['http'], false],
  ])('believes X-Forwarded-Proto %j from a trusted proxy', (proto, secure) => {
    const r = httpCheckRequest('nginx', call({ ...nginx, 'x-forwarded-proto': proto }), trusting);
    expect([r.secure, r.refused]).toEqual([secure, undefined]);
  });

  it.each([[['https', 'https']], [['https, http']], [['wss']], [['']]])(
    'refuses X-Forwarded-Proto %j from a trusted proxy with ERR_REQUEST_SCHEME_INVALID',
    (proto) => {
      const r = httpCheckRequest('nginx', call({ ...nginx, 'x-forwarded-proto': proto }), trusting);
      expect(r.refused).toBe('ERR_REQUEST_SCHEME_INVALID');
    },
  );

  it('reads an IPv4-mapped IPv6 peer as IPv4 when matching trusted proxies', () => {
    const r = httpCheckRequest(
      'nginx',
      call({ ...nginx, 'x-forwarded-for': '2001:db8::1' }, { peerIp: '::ffff:127.0.0.1' }),
      { ...options, trustedProxies: ['127.0.0.1'] },
    );
    expect(r.sourceAddress).toBe('2001:db8::1');
  });

  it('refuses a peer address embedding IPv4 in a refused form', () => {
    const r = httpCheckRequest('nginx', call(nginx, { peerIp: '::127.0.0.1' }), options);
    expect(r.refused).toBe('ERR_REQUEST_SOURCE_INVALID');
  });
});
