/**
 * rolegate behind a real Envoy in ext_authz `http_service` mode, configured
 * by `examples/envoy-http/envoy.yaml` with only its port and host
 * placeholders filled: client -> Envoy -> HTTP check (`/envoy` + path) ->
 * rolegate -> the echo upstream.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { DENY_BODY } from '../../src/response/check-response.js';
import { assertEnvoyImage } from '../harness/envoy.js';
import { frontDoorOwnedHeaders, useFrontDoor } from '../support/front-door-bed.js';
import { envoyHttpDoor } from '../support/front-doors.js';
import { hostileRequest } from '../support/hostile-client.js';
import { rawRequest } from '../support/raw-http.js';

const bed = useFrontDoor(envoyHttpDoor(), { before: () => assertEnvoyImage() });
const { upstream, audit, bearer } = bed;

describe('rolegate behind a real Envoy (ext_authz http_service)', () => {
  it('allows a reader; the identity headers reach the upstream', async () => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', '/orders/42?x=1', await bearer());
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/42');
    expect(seen?.path).toBe('/orders/42?x=1');
    expect(seen?.headers['x-rolegate-principal']).toBe('alice');
    expect(seen?.headers['x-rolegate-role']).toBe('arn:rolegate:iam:::role/orders-reader');
    expect(seen?.headers['x-user-email']).toBe('alice@example.com');
    const id = seen?.headers['x-rolegate-decision-id'] as string;
    expect(audit.auditFor(id)).toMatchObject({
      decision: 'allow',
      action: 'orders:GetOrder',
      path: '/orders/42',
    });
  });

  it('replaces forged identity headers and removes the other owned and method-override ones', async () => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', '/orders/7', {
      ...(await bearer()),
      'x-rolegate-principal': 'mallory',
      'x-rolegate-admin': 'true',
      'x-http-method-override': 'DELETE',
    });
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/7');
    expect(seen?.headers['x-rolegate-principal']).toBe('alice');
    expect(seen?.headers['x-rolegate-admin']).toBeUndefined();
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
    const owned = frontDoorOwnedHeaders().map((h) => h.name);
    const reached = Object.fromEntries(
      Object.entries(seen?.headers ?? {}).filter(([name]) => owned.includes(name)),
    );
    expect(reached).toEqual({
      'x-rolegate-principal': 'alice',
      'x-rolegate-role': 'arn:rolegate:iam:::role/orders-reader',
      'x-rolegate-decision-id': expect.any(String),
      'x-user-email': 'alice@example.com',
    });
  });

  it("hands rolegate and the API Envoy's X-Forwarded-For (appended) and -Proto (replaced)", async () => {
    upstream.clear();
    // From 127.0.0.5: for a client at exactly 127.0.0.1 Envoy appends its
    // own host address instead of the loopback one.
    const res = await hostileRequest({
      from: '127.0.0.5',
      port: bed.port(),
      target: '/orders/9',
      headers: [
        ['Authorization', (await bearer()).authorization],
        ['X-Forwarded-For', '203.0.113.7'],
        ['X-Forwarded-Proto', 'https'],
      ],
    });
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/9');
    // use_remote_address: the address Envoy saw goes last, where rolegate reads.
    expect(seen?.headers['x-forwarded-for']).toBe('203.0.113.7,127.0.0.5');
    expect(seen?.headers['x-forwarded-proto']).toBe('http');
  });

  it('answers 401 with the fixed body and RFC 6750 WWW-Authenticate; the upstream sees nothing', async () => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', '/orders/1');
    expect(res.status).toBe(401);
    expect(res.body).toBe(DENY_BODY[401]);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="rolegate"');
    expect(typeof res.headers['x-rolegate-decision-id']).toBe('string');
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 403 to a reader deleting; the upstream sees nothing', async () => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'DELETE', '/orders/1', await bearer());
    expect(res.status).toBe(403);
    expect(res.body).toBe(DENY_BODY[403]);
    expect(upstream.requests).toHaveLength(0);
  });

  it('a route whose denies hide the resource answers 404 with its HTML template', async () => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', '/private/3', await bearer());
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const id = res.headers['x-rolegate-decision-id'] as string;
    expect(res.body).toBe(`<p>no such &#60;page&#62;</p><!-- ${id} 404 -->`);
    expect(upstream.requests).toHaveLength(0);
  });

  it('sends a browser without a token to the login page (host not allowed: no return address)', async () => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', '/orders/3', { accept: 'text/html' });
    expect(res.status).toBe(302);
    expect(res.headers['location']).toBe('https://login.example.com/start?app=orders');
    expect(upstream.requests).toHaveLength(0);
  });

  it('sends it with the original URL when the host is allowed', async () => {
    const res = await rawRequest(bed.port(), 'GET', '/orders/3?x=1', {
      accept: 'text/html',
      host: 'api.example.com',
    });
    expect(res.status).toBe(302);
    expect(res.headers['location']).toBe(
      'https://login.example.com/start?app=orders&return_to=http%3A%2F%2Fapi.example.com%2Forders%2F3%3Fx%3D1',
    );
  });

  it.each([
    ['a path parameter', '/orders/1;x', 'ERR_PATH_INVALID'],
    ['an encoded control character', '/orders/1%01', 'ERR_PATH_INVALID'],
  ])('refuses %s with 400; the upstream sees nothing', async (_, path, reason) => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', path, await bearer());
    expect(res.status).toBe(400);
    expect(upstream.requests).toHaveLength(0);
    expect(audit.records().at(-1)?.['audit']).toMatchObject({ decision: 'deny', reason });
  });

  it('an encoded separator is refused by Envoy itself (path_with_escaped_slashes_action)', async () => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', '/orders/1%2F..%2F2', await bearer());
    expect(res.status).toBe(400);
    expect(upstream.requests).toHaveLength(0);
  });

  it('rolegate down: Envoy denies (403) and never passes the request', async () => {
    await bed.rolegate().stop();
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', '/orders/42', await bearer());
    expect(res.status).toBe(403);
    expect(upstream.requests).toHaveLength(0);
  });
});

// Why the example has rolegate remove client copies (allowed_headers, then
// x-envoy-auth-headers-to-remove) rather than a route's
// request_headers_to_remove: the router applies the route's list after
// ext_authz has added rolegate's headers, so it removes those too.
describe("a route's request_headers_to_remove (what not to do)", () => {
  const ROUTE = '                          route: { cluster: upstream }\n';
  const removing = envoyHttpDoor({
    name: 'envoy-http removing on the route',
    edit: (text) => {
      expect(text).toContain(ROUTE);
      return text.replace(
        ROUTE,
        `${ROUTE}                          request_headers_to_remove: [x-rolegate-principal]\n`,
      );
    },
  });

  beforeAll(() => bed.variant(removing), 120_000);

  it("runs after ext_authz: rolegate's own principal header never reaches the upstream", async () => {
    upstream.clear();
    const res = await rawRequest(removing.port(), 'GET', '/orders/5', {
      ...(await bearer()),
      'x-rolegate-principal': 'mallory',
    });
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/5');
    const id = seen?.headers['x-rolegate-decision-id'] as string;
    expect(audit.auditFor(id)).toMatchObject({ decision: 'allow', subject: 'alice' });
    expect(seen?.headers['x-rolegate-principal']).toBeUndefined();
  });
});
