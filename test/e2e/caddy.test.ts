/**
 * rolegate behind a real Caddy (Debian's package, a child process on
 * loopback) with `forward_auth`, configured by `examples/caddy/Caddyfile`
 * verbatim but for its three ports: client -> Caddy -> `/forward` ->
 * rolegate -> the echo upstream.
 */
import { describe, expect, it } from '@jest/globals';
import { DENY_BODY } from '../../src/response/check-response.js';
import { frontDoorOwnedHeaders, useFrontDoor } from '../support/front-door-bed.js';
import { caddyDoor } from '../support/front-doors.js';
import { rawRequest } from '../support/raw-http.js';

const bed = useFrontDoor(caddyDoor(), { timeoutMs: 60_000 });
const { upstream, audit, bearer } = bed;

describe('rolegate behind a real Caddy (forward_auth)', () => {
  it('allows a reader; copy_headers carries the identity headers, forged ones are gone', async () => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', '/orders/42?x=1', {
      ...(await bearer()),
      'x-rolegate-principal': 'mallory',
      'x-http-method-override': 'DELETE',
    });
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/42');
    expect(seen?.path).toBe('/orders/42?x=1');
    expect(seen?.headers['x-rolegate-principal']).toBe('alice');
    expect(seen?.headers['x-user-email']).toBe('alice@example.com');
    expect(seen?.headers['x-http-method-override']).toBeUndefined();
    const id = seen?.headers['x-rolegate-decision-id'] as string;
    expect(audit.auditFor(id)).toMatchObject({ decision: 'allow', path: '/orders/42' });
  });

  // Caddy 2.6 sets a copied header rolegate did not send to the unexpanded
  // placeholder text; the example deletes it again after forward_auth.
  it('lets no forged owned header, and no unexpanded placeholder, reach the upstream', async () => {
    upstream.clear();
    const forged = Object.fromEntries(
      frontDoorOwnedHeaders().map((h) => [h.name, `forged-${h.name}`]),
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

  it("hands rolegate and the API Caddy's own X-Forwarded-For and -Proto", async () => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', '/orders/9', {
      ...(await bearer()),
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'https',
    });
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/9');
    // Without trusted_proxies Caddy drops the client's copies and writes what it saw.
    expect(seen?.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen?.headers['x-forwarded-proto']).toBe('http');
  });

  it('answers 401 with rolegate body and WWW-Authenticate; the upstream sees nothing', async () => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', '/orders/1');
    expect(res.status).toBe(401);
    expect(res.body).toBe(DENY_BODY[401]);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="rolegate"');
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 403 to a reader deleting; the upstream sees nothing', async () => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'DELETE', '/orders/1', await bearer());
    expect(res.status).toBe(403);
    expect(upstream.requests).toHaveLength(0);
  });

  it('rolegate down: Caddy answers 502 and never passes the request', async () => {
    await bed.rolegate().stop();
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', '/orders/42', await bearer());
    expect(res.status).toBe(502);
    expect(upstream.requests).toHaveLength(0);
  });
});
