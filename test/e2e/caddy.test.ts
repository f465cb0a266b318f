/**
 * rolegate behind a real Caddy (Debian's package, a child process on
 * loopback) with `forward_auth`, configured by `examples/caddy/Caddyfile`
 * verbatim but for its three ports: client -> Caddy -> `/forward` ->
 * rolegate -> the echo upstream.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Rolegate } from '../../src/main.js';
import { DENY_BODY } from '../../src/response/check-response.js';
import { CaddyPeer } from '../harness/caddy.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { JwksIssuer } from '../harness/jwks.js';
import { substitutePorts } from '../harness/nginx.js';
import { freePort } from '../harness/ports.js';
import { frontDoorConfig, readerToken } from '../support/front-door.js';
import { captureLogger } from '../support/log-capture.js';
import { rawRequest } from '../support/raw-http.js';
import { startTestRolegate } from '../support/rolegate.js';

const EXAMPLE = new URL('../../examples/caddy/Caddyfile', import.meta.url);

const idp = new JwksIssuer({ audience: 'orders-api' });
const upstream = new EchoUpstream();
const audit = captureLogger();
const ops = captureLogger('warn');
let rolegate: Rolegate;
let caddy: CaddyPeer;
let port: number;

beforeAll(async () => {
  await Promise.all([idp.start(), upstream.start()]);
  ({ rolegate } = await startTestRolegate(frontDoorConfig(idp), { ops, audit }, { httpPort: 0 }));
  port = await freePort();
  caddy = new CaddyPeer({
    port,
    caddyfile: substitutePorts(readFileSync(EXAMPLE, 'utf8'), {
      8080: port,
      9003: rolegate.httpPort as number,
      8081: upstream.port,
    }),
  });
  await caddy.start();
}, 60_000);

afterAll(async () => {
  await caddy?.stop();
  await rolegate?.stop().catch(() => undefined);
  await Promise.all([idp.stop(), upstream.stop()]);
});

const bearer = async () => ({ authorization: `Bearer ${await readerToken(idp)}` });

describe('rolegate behind a real Caddy (forward_auth)', () => {
  it('allows a reader; copy_headers carries the identity headers, forged ones are gone', async () => {
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

  it('rolegate down: Caddy answers 502 and never passes the request', async () => {
    await rolegate.stop();
    upstream.clear();
    const res = await rawRequest(port, 'GET', '/orders/42', await bearer());
    expect(res.status).toBe(502);
    expect(upstream.requests).toHaveLength(0);
  });
});
