/**
 * rolegate behind a real Envoy in ext_authz `http_service` mode, configured
 * by `examples/envoy-http/envoy.yaml` with only its port and host
 * placeholders filled: client -> Envoy -> HTTP check (`/envoy` + path) ->
 * rolegate -> the echo upstream.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Rolegate } from '../../src/main.js';
import { DENY_BODY } from '../../src/response/check-response.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { fillTemplate } from '../harness/envoy-config.js';
import { assertEnvoyImage, EnvoyPeer } from '../harness/envoy.js';
import { JwksIssuer } from '../harness/jwks.js';
import { freePort } from '../harness/ports.js';
import { frontDoorConfig, readerToken } from '../support/front-door.js';
import { captureLogger } from '../support/log-capture.js';
import { rawRequest } from '../support/raw-http.js';
import { startTestRolegate } from '../support/rolegate.js';

const EXAMPLE = new URL('../../examples/envoy-http/envoy.yaml', import.meta.url);

const idp = new JwksIssuer({ audience: 'orders-api' });
const upstream = new EchoUpstream();
const audit = captureLogger();
const ops = captureLogger('warn');
let rolegate: Rolegate;
let envoy: EnvoyPeer;

beforeAll(async () => {
  await assertEnvoyImage();
  await Promise.all([idp.start(), upstream.start()]);
  ({ rolegate } = await startTestRolegate(frontDoorConfig(idp), { ops, audit }, { httpPort: 0 }));
  const [adminPort, listenerPort] = [await freePort(), await freePort()];
  const rolegatePort = rolegate.httpPort as number;
  envoy = new EnvoyPeer({
    adminPort,
    listenerPort,
    rolegatePort,
    upstreamPort: upstream.port,
    configYaml: fillTemplate(
      {
        ADMIN_PORT: adminPort,
        LISTENER_PORT: listenerPort,
        ROLEGATE_HOST: '127.0.0.1',
        ROLEGATE_PORT: rolegatePort,
        UPSTREAM_HOST: '127.0.0.1',
        UPSTREAM_PORT: upstream.port,
      },
      readFileSync(EXAMPLE, 'utf8'),
    ),
  });
  await envoy.start();
}, 120_000);

afterAll(async () => {
  await envoy?.stop();
  await rolegate?.stop().catch(() => undefined);
  await Promise.all([idp.stop(), upstream.stop()]);
});

const bearer = async () => ({ authorization: `Bearer ${await readerToken(idp)}` });

describe('rolegate behind a real Envoy (ext_authz http_service)', () => {
  it('allows a reader; the identity headers reach the upstream', async () => {
    upstream.clear();
    const res = await rawRequest(envoy.listenerPort, 'GET', '/orders/42?x=1', await bearer());
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
    const res = await rawRequest(envoy.listenerPort, 'GET', '/orders/7', {
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

  it('answers 401 with the fixed body and RFC 6750 WWW-Authenticate; the upstream sees nothing', async () => {
    upstream.clear();
    const res = await rawRequest(envoy.listenerPort, 'GET', '/orders/1');
    expect(res.status).toBe(401);
    expect(res.body).toBe(DENY_BODY[401]);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="rolegate"');
    expect(typeof res.headers['x-rolegate-decision-id']).toBe('string');
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 403 to a reader deleting; the upstream sees nothing', async () => {
    upstream.clear();
    const res = await rawRequest(envoy.listenerPort, 'DELETE', '/orders/1', await bearer());
    expect(res.status).toBe(403);
    expect(res.body).toBe(DENY_BODY[403]);
    expect(upstream.requests).toHaveLength(0);
  });

  it('a route whose denies hide the resource answers 404 with its HTML template', async () => {
    upstream.clear();
    const res = await rawRequest(envoy.listenerPort, 'GET', '/private/3', await bearer());
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const id = res.headers['x-rolegate-decision-id'] as string;
    expect(res.body).toBe(`<p>no such &#60;page&#62;</p><!-- ${id} 404 -->`);
    expect(upstream.requests).toHaveLength(0);
  });

  it('sends a browser without a token to the login page (host not allowed: no return address)', async () => {
    upstream.clear();
    const res = await rawRequest(envoy.listenerPort, 'GET', '/orders/3', { accept: 'text/html' });
    expect(res.status).toBe(302);
    expect(res.headers['location']).toBe('https://login.example.com/start?app=orders');
    expect(upstream.requests).toHaveLength(0);
  });

  it('sends it with the original URL when the host is allowed', async () => {
    const res = await rawRequest(envoy.listenerPort, 'GET', '/orders/3?x=1', {
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
    const res = await rawRequest(envoy.listenerPort, 'GET', path, await bearer());
    expect(res.status).toBe(400);
    expect(upstream.requests).toHaveLength(0);
    expect(audit.records().at(-1)?.['audit']).toMatchObject({ decision: 'deny', reason });
  });

  it('an encoded separator is refused by Envoy itself (path_with_escaped_slashes_action)', async () => {
    upstream.clear();
    const res = await rawRequest(envoy.listenerPort, 'GET', '/orders/1%2F..%2F2', await bearer());
    expect(res.status).toBe(400);
    expect(upstream.requests).toHaveLength(0);
  });

  it('rolegate down: Envoy denies (403) and never passes the request', async () => {
    await rolegate.stop();
    upstream.clear();
    const res = await rawRequest(envoy.listenerPort, 'GET', '/orders/42', await bearer());
    expect(res.status).toBe(403);
    expect(upstream.requests).toHaveLength(0);
  });
});
