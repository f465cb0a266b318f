import { describe, expect, it } from '@jest/globals';
import { httpCheckRequest, type HttpCheckCall } from '../../../src/request/http-check.js';

const options = {
  trustedProxies: [] as string[],
  originalMethodHeader: 'x-original-method',
  originalUriHeader: 'x-original-uri',
  originalHostHeader: 'x-original-host',
  envoyPrefix: '/envoy',
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
    ['an absolute URI', { host: 'h', 'x-original-method': 'GET', 'x-original-uri': 'http://x/' }],
    ['no host at all', { 'x-original-method': 'GET', 'x-original-uri': '/' }],
  ])('refuses %s with ERR_REQUEST_MISSING_ORIGINAL', (_, headers) => {
    const r = httpCheckRequest('nginx', call(headers), options);
    expect(r.refused).toBe('ERR_REQUEST_MISSING_ORIGINAL');
    expect(r.path).toBe('');
  });

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
  it('rebuilds the request from X-Forwarded-Method, -Uri, -Host, -Proto', () => {
    const r = httpCheckRequest(
      'forward',
      call({
        host: 'rolegate',
        'x-forwarded-method': 'PUT',
        'x-forwarded-uri': '/a/b',
        'x-forwarded-host': 'app.example.com',
        'x-forwarded-proto': 'https',
      }),
      options,
    );
    expect([r.method, r.path, r.host, r.secure]).toEqual(['PUT', '/a/b', 'app.example.com', true]);
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

describe('httpCheckRequest: the client address', () => {
  const nginx = { host: 'h', 'x-original-method': 'GET', 'x-original-uri': '/' };

  it('never believes X-Real-IP or X-Forwarded-For by default', () => {
    const r = httpCheckRequest(
      'nginx',
      call({ ...nginx, 'x-real-ip': '203.0.113.9', 'x-forwarded-for': '203.0.113.8' }),
      options,
    );
    expect(r.sourceAddress).toBe('127.0.0.1');
  });

  it('believes X-Real-IP from a trusted proxy', () => {
    const r = httpCheckRequest('nginx', call({ ...nginx, 'x-real-ip': '203.0.113.9' }), {
      ...options,
      trustedProxies: ['127.0.0.0/8'],
    });
    expect(r.sourceAddress).toBe('203.0.113.9');
  });

  it('takes the right-most untrusted X-Forwarded-For hop from a trusted proxy', () => {
    const r = httpCheckRequest(
      'nginx',
      call({ ...nginx, 'x-forwarded-for': '198.51.100.1, 203.0.113.7, 10.0.0.2' }),
      { ...options, trustedProxies: ['127.0.0.1', '10.0.0.0/8'] },
    );
    expect(r.sourceAddress).toBe('203.0.113.7');
  });

  it('refuses an unreadable address from a trusted proxy', () => {
    const r = httpCheckRequest('nginx', call({ ...nginx, 'x-forwarded-for': 'evil' }), {
      ...options,
      trustedProxies: ['127.0.0.1/32'],
    });
    expect(r.refused).toBe('ERR_REQUEST_SOURCE_INVALID');
  });

  it('reads an IPv4-mapped IPv6 peer as IPv4 when matching trusted proxies', () => {
    const r = httpCheckRequest(
      'nginx',
      call({ ...nginx, 'x-real-ip': '2001:db8::1' }, { peerIp: '::ffff:127.0.0.1' }),
      { ...options, trustedProxies: ['127.0.0.1'] },
    );
    expect(r.sourceAddress).toBe('2001:db8::1');
  });
});
