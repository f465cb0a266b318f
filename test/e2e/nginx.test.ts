/**
 * rolegate behind a real nginx (Debian's package, a child process on
 * loopback) with `auth_request`, configured by `examples/nginx/rolegate.conf`
 * verbatim but for its three ports: client -> nginx -> auth subrequest ->
 * rolegate's HTTP check -> the echo upstream.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { frontDoorOwnedHeaders, useFrontDoor } from '../support/front-door-bed.js';
import { nginxDoor } from '../support/front-doors.js';
import { rawRequest } from '../support/raw-http.js';

const bed = useFrontDoor(nginxDoor(), { timeoutMs: 60_000 });
const { upstream, audit, bearer } = bed;

describe('rolegate behind a real nginx (auth_request)', () => {
  it('allows a reader, and auth_request_set carries the identity headers to the upstream', async () => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', '/orders/42?x=1', await bearer());
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/42');
    expect(seen?.path).toBe('/orders/42?x=1');
    expect(seen?.headers['x-rolegate-principal']).toBe('alice');
    expect(seen?.headers['x-rolegate-role']).toBe('arn:rolegate:iam:::role/orders-reader');
    expect(seen?.headers['x-user-email']).toBe('alice@example.com');
    const id = seen?.headers['x-rolegate-decision-id'] as string;
    expect(audit.auditFor(id)).toMatchObject({ decision: 'allow', action: 'orders:GetOrder' });
  });

  it('replaces client-sent identity and method-override headers', async () => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', '/orders/7', {
      ...(await bearer()),
      'x-rolegate-principal': 'mallory',
      'x-user-email': 'mallory@example.com',
      'x-http-method-override': 'DELETE',
    });
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/7');
    expect(seen?.headers['x-rolegate-principal']).toBe('alice');
    expect(seen?.headers['x-user-email']).toBe('alice@example.com');
    expect(seen?.headers['x-http-method-override']).toBeUndefined();
  });

  it('lets no forged copy of any owned header reach the upstream', async () => {
    upstream.clear();
    const forged = Object.fromEntries(
      frontDoorOwnedHeaders()
        .filter((h) => h.name !== 'x-rolegate-role') // the requested-role header: a real request
        .map((h) => [h.name, `forged-${h.name}`]),
    );
    const res = await rawRequest(bed.port(), 'GET', '/orders/8', {
      ...(await bearer()),
      ...forged,
    });
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/8');
    const leaked = Object.entries(seen?.headers ?? {}).filter(([, v]) =>
      String(v).includes('forged'),
    );
    expect(leaked).toEqual([]);
    expect(seen?.headers['x-rolegate-principal']).toBe('alice');
  });

  it("hands the API nginx's X-Forwarded-For chain and scheme, not the client's claims", async () => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', '/orders/9', {
      ...(await bearer()),
      'x-forwarded-for': '203.0.113.7',
      'x-real-ip': '203.0.113.8',
      'x-forwarded-proto': 'https',
    });
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/9');
    // rolegate and the API get the same chain: the client's entry, then the
    // address nginx saw (the right-most, the one a reader of the chain takes).
    expect(seen?.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(seen?.headers['x-forwarded-proto']).toBe('http');
    expect(seen?.headers['x-real-ip']).toBeUndefined();
    // This config trusts no proxy: rolegate takes the TCP peer, nginx.
    const record = audit.auditFor(seen?.headers['x-rolegate-decision-id'] as string);
    expect(record).toMatchObject({ decision: 'allow', source_address: '127.0.0.1' });
  });

  it('answers 401 with RFC 6750 WWW-Authenticate without a token; the upstream sees nothing', async () => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', '/orders/1');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="rolegate"');
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 403 to a reader deleting; the upstream sees nothing', async () => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'DELETE', '/orders/1', await bearer());
    expect(res.status).toBe(403);
    expect(upstream.requests).toHaveLength(0);
    expect(audit.records().at(-1)?.['audit']).toMatchObject({
      decision: 'deny',
      reason: 'ERR_IMPLICIT_DENY',
      action: 'orders:DeleteOrder',
    });
  });

  // The config sends $request_uri: rolegate decides on the bytes the client
  // sent, which are the bytes `proxy_pass` forwards. Paths whose meaning
  // nginx's $uri would have changed are refused (400 -> nginx 500), never
  // decided on a normalised spelling the upstream does not receive.
  it.each([
    ['an encoded separator', '/orders/1%2F..%2F..%2Fadmin', 'ERR_PATH_ENCODED_SEPARATOR'],
    ['a path parameter', '/orders/1;jsessionid=x', 'ERR_PATH_INVALID'],
    ['a raw backslash', '/orders/1\\..\\x', 'ERR_PATH_INVALID'],
  ])('refuses %s: nginx answers 500 and never passes the request', async (_, path, reason) => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', path, await bearer());
    expect(res.status).toBe(500);
    expect(upstream.requests).toHaveLength(0);
    expect(audit.records().at(-1)?.['audit']).toMatchObject({ decision: 'deny', reason });
  });

  it('a climb above the root is refused by nginx itself (400) before any check', async () => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', '/orders/%2e%2e/%2e%2e/etc', await bearer());
    expect(res.status).toBe(400);
    expect(upstream.requests).toHaveLength(0);
  });

  it('decides a dot-segment path on its canonical form, the one the upstream resolves', async () => {
    upstream.clear();
    // Reader may GET /orders/{id}; /orders/x/../9 is /orders/9 for both.
    const res = await rawRequest(bed.port(), 'GET', '/orders/x/../9', await bearer());
    expect(res.status).toBe(200);
    const last = audit.records().at(-1)?.['audit'];
    expect(last).toMatchObject({ decision: 'allow', resource: 'arn:rolegate:orders:::order/9' });
  });

  it('rolegate down: nginx answers 500 and never passes the request', async () => {
    await bed.rolegate().stop();
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', '/orders/42', await bearer());
    expect(res.status).toBe(500);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('the same config with $uri instead of $request_uri (what not to do)', () => {
  const wrong = nginxDoor({
    name: 'nginx with $uri',
    edit: (text) => {
      expect(text).toContain('X-Original-URI $request_uri;');
      return text.replace('X-Original-URI $request_uri;', 'X-Original-URI $uri;');
    },
  });

  beforeAll(() => bed.variant(wrong), 60_000);

  // Inside the auth subrequest $uri is the subrequest's own URI, the auth
  // location `/_rolegate`: rolegate refuses an original URI naming it (400,
  // nginx answers 500), so the mistake fails at once and never reaches the
  // upstream, even with a catch-all route. (Outside a subrequest $uri is
  // nginx's decoded, normalised path without the query: a decision about
  // bytes the upstream never gets.)
  it.each(['/orders/42', '/orders/1%2F..%2F2', '/orders/42?x=1'])(
    '%s is refused as naming the auth location',
    async (path) => {
      upstream.clear();
      const res = await rawRequest(wrong.port(), 'GET', path, await bearer());
      expect(res.status).toBe(500);
      expect(upstream.requests).toHaveLength(0);
      expect(audit.records().at(-1)?.['audit']).toMatchObject({
        decision: 'deny',
        reason: 'ERR_REQUEST_ORIGINAL_IS_CHECK',
      });
    },
  );
});
