/**
 * Just-in-time access for people, end to end with real peers only: the
 * OpenID provider (`oidc-provider`), PostgreSQL shared by two rolegate
 * replicas, headless Chromium, and Envoy in front of the upstream.
 *
 * A requester signs in with `rolegate login` and asks, in one request, for
 * two roles narrowed by one session policy. rolegate's own policy approves
 * the first at once (on call: `rolegate:AutoApprove`); an approver signs in
 * to the approvals page in Chromium, on the other replica, and approves the
 * second there. Check through Envoy honours both grants with the session
 * policy applied (a request outside it is denied), a revocation made on one
 * replica denies on the other within a second, and the review lists the
 * grants with their use.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { main } from '../../src/cli/main.js';
import {
  authorizationUrl,
  discoverEndpoints,
  exchangeCode,
  newLoginFlow,
} from '../../src/identity/oidc-login.js';
import type { Rolegate } from '../../src/main.js';
import { ChromiumPeer } from '../harness/chromium.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { assertEnvoyImage, EnvoyPeer } from '../harness/envoy.js';
import { API_AUDIENCE, OidcProviderPeer } from '../harness/oidc-provider.js';
import { PostgresPeer } from '../harness/postgres.js';
import { accessScenario, api, until } from '../support/access.js';
import { captureLogger } from '../support/log-capture.js';
import { startTestRolegate } from '../support/rolegate.js';
import { runCli, sink } from '../unit/cli/cli-io.js';
import { keepEnv } from '../support/env.js';

const OUT = join(process.cwd(), 'test-output', 'access-people');
const URL_ENV = 'ROLEGATE_TEST_PEOPLE_PG_URL';
const SECRET_ENV = 'ROLEGATE_TEST_PEOPLE_SIGNIN_SECRET';
const PAGE = { id: 'rolegate-page', secret: 'rolegate-page-secret-0123456789abcdef' };
const SCOPES = ['openid', 'orders:read'];
const DBA = 'arn:rolegate:iam:::role/staging-dba';

const op = new OidcProviderPeer();
const db = new PostgresPeer();
const browser = new ChromiumPeer();
const upstream = new EchoUpstream();
const audit = captureLogger();
let envoy: EnvoyPeer;
let a: Rolegate;
let b: Rolegate;
const restoreEnv = keepEnv('ROLEGATE_TOKEN', 'ROLEGATE_TOKEN_FILE');
let tokenFile: string;

const base = (r: Rolegate) => `http://127.0.0.1:${r.accessPort as number}`;

/** The engineers' roles: on call, rolegate approves staging-dba for them, up to an hour. */
function config() {
  const c = accessScenario(
    op.issuer,
    { kind: 'postgres', urlEnv: URL_ENV },
    {
      refreshMs: 30_000,
      usageFlushSeconds: 1,
      onCall: { groups: ['sre-oncall'] },
      roles: { 'staging-admin': { maxGrantSeconds: 7200 }, 'staging-dba': {} },
      signIn: {
        issuer: op.issuer,
        clientId: PAGE.id,
        clientSecretEnv: SECRET_ENV,
        scopes: SCOPES,
        sessionSeconds: 3600,
      },
    },
  );
  c.issuers = [{ issuer: op.issuer, audiences: [API_AUDIENCE], groupsClaim: 'groups' }];
  const engineer = c.roles.find((r) => r.name === 'engineer');
  if (engineer === undefined) throw new Error('no engineer role');
  Object.assign(engineer.policies, {
    auto: {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'OnCallDbaUpToAnHour',
          Effect: 'Allow',
          Action: 'rolegate:AutoApprove',
          Resource: DBA,
          Condition: {
            Bool: { 'rolegate:SelfApproval': 'true', 'rolegate:OnCall': 'true' },
            NumericLessThanEquals: { 'rolegate:RequestedDuration': 3600 },
          },
        },
      ],
    },
  });
  return c;
}

/** An access token of `login` from the provider, through the page client's code flow. */
async function accessToken(login: string): Promise<string> {
  const endpoints = await discoverEndpoints(op.issuer);
  const redirectUri = `${base(a)}/signin/callback`;
  const client = { clientId: PAGE.id, clientSecret: PAGE.secret, redirectUri };
  const flow = newLoginFlow();
  const back = await op.authorize(
    authorizationUrl(endpoints, client, SCOPES, flow),
    login,
    redirectUri,
  );
  const code = new URL(back).searchParams.get('code') as string;
  return (await exchangeCode(endpoints, client, code, flow.verifier)).accessToken as string;
}

/** `rolegate login` as the requester: the loopback flow, the browser step through the provider's login. */
async function cliLogin(login: string): Promise<void> {
  const err = sink();
  const run = main(
    [
      'login',
      '--issuer',
      op.issuer,
      '--client-id',
      'rolegate-cli',
      '--scope',
      SCOPES.join(' '),
      '--token-file',
      tokenFile,
    ],
    { stdin: Readable.from(['']), stdout: sink().stream, stderr: err.stream },
  );
  await until(() => /https?:\/\/\S+/.test(err.text()));
  const authUrl = /https?:\/\/\S+/.exec(err.text())?.[0] as string;
  const redirect = new URL(authUrl).searchParams.get('redirect_uri') as string;
  await (await fetch(await op.authorize(authUrl, login, redirect))).text();
  await expect(run).resolves.toBe(0);
}

/** `method path` through Envoy with the requester's token (from `rolegate login`), asking for `role`. */
async function through(method: string, path: string, token: string, role?: string) {
  upstream.clear();
  const res = await fetch(envoy.url(path), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(role ? { 'x-rolegate-role': role } : {}) },
  });
  await res.text();
  const [seen] = upstream.requestsTo(path);
  return { status: res.status, grant: seen?.headers['x-rolegate-grant-id'] };
}

async function signInInBrowser(page: Page, r: Rolegate, login: string): Promise<void> {
  await page.goto(`${base(r)}/approvals`);
  await page.locator('#signin').click();
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any');
  await page.locator('button[type="submit"]').click();
  await page.locator('button[type="submit"]').click();
  await page.waitForURL(`${base(r)}/approvals`);
}

/** The access audit records of one request and its grant, in order. */
const lifeOf = (requestId: string) =>
  audit
    .records()
    .flatMap((r) => (r['access'] === undefined ? [] : [r['access'] as Record<string, unknown>]))
    .filter((x) => x['request_id'] === requestId);

beforeAll(async () => {
  await assertEnvoyImage();
  await Promise.all([op.start(), db.start(), browser.start(), upstream.start()]);
  op.groups.set('alice', ['engineers', 'sre-oncall']);
  op.groups.set('carol', ['admins']);
  process.env[URL_ENV] = db.url();
  process.env[SECRET_ENV] = PAGE.secret;
  const replicas = await Promise.all(
    [0, 1].map(() =>
      startTestRolegate(config(), { ops: captureLogger('warn'), audit }, { accessPort: 0 }),
    ),
  );
  [a, b] = replicas.map((r) => r.rolegate) as [Rolegate, Rolegate];
  op.addClient({
    client_id: PAGE.id,
    client_secret: PAGE.secret,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [a, b].map((r) => `${base(r)}/signin/callback`),
    token_endpoint_auth_method: 'client_secret_post',
  });
  op.addClient({
    client_id: 'rolegate-cli',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
  });
  envoy = new EnvoyPeer({ rolegatePort: a.grpcPort, upstreamPort: upstream.port });
  await envoy.start();
  await envoy.waitForCluster('rolegate');
  tokenFile = join(mkdtempSync(join(tmpdir(), 'rolegate-people-')), 'token');
}, 120_000);

afterAll(async () => {
  await envoy?.stop();
  await Promise.all([a, b].map((r) => r?.stop().catch(() => undefined)));
  await browser.stop();
  await Promise.all([op.stop(), upstream.stop()]);
  await db.stop();
  delete process.env[URL_ENV];
  delete process.env[SECRET_ENV];
  restoreEnv();
}, 60_000);

describe('just-in-time access for people', () => {
  it('signs in, approves by policy and by a person, narrows by the session policy, revokes on every replica, reviews', async () => {
    // The requester signs in from a terminal and asks for two roles, narrowed to order 1.
    await cliLogin('alice');
    delete process.env['ROLEGATE_TOKEN'];
    process.env['ROLEGATE_TOKEN_FILE'] = tokenFile;
    const dir = mkdtempSync(join(tmpdir(), 'rolegate-people-policy-'));
    const sessionPolicy = join(dir, 'order-1.json');
    writeFileSync(
      sessionPolicy,
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'OnlyOrder1',
            Effect: 'Allow',
            Action: 'orders:*',
            Resource: 'arn:rolegate:orders:::order/1',
          },
        ],
      }),
    );
    const asked = await runCli([
      'access',
      'request',
      '--url',
      base(a),
      '--role',
      'staging-dba',
      '--role',
      'staging-admin',
      '--duration',
      '30m',
      '--reason',
      'INC-7: repair order 1',
      '--session-policy',
      sessionPolicy,
      '--format',
      'json',
    ]);
    expect(asked.status).toBe(0);
    const made = JSON.parse(asked.out) as { requests: Record<string, unknown>[] };
    const [dba, admin] = made.requests;
    // rolegate's policy approved the DBA role at once; the admin role waits for a person.
    expect(dba).toMatchObject({
      role: 'staging-dba',
      status: 'approved',
      approvedByPolicy: 'role engineer: identity policy auto statement OnCallDbaUpToAnHour',
    });
    expect(admin).toMatchObject({ role: 'staging-admin', status: 'pending' });

    const alice = readFileSync(tokenFile, 'utf8').trim();
    expect((await through('DELETE', '/orders/1', alice)).status).toBe(403);

    // The approver signs in to the other replica's page in Chromium and approves there.
    const page = await (await browser.context()).newPage();
    await signInInBrowser(page, b, 'carol');
    const row = page.locator(`tr[data-request="${admin?.['id'] as string}"]`);
    await expect(row.locator('details.session summary').textContent()).resolves.toBe(
      'narrowed by a session policy',
    );
    await row.getByLabel('comment').fill('for INC-7');
    await row.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(/\/approvals\?done=approve/);

    // Check through Envoy (replica a) honours both grants, inside the session policy only.
    const dbaGrant = dba?.['grantId'];
    const adminGrant = `grant-${admin?.['id'] as string}`;
    await until(async () => (await through('DELETE', '/orders/1', alice)).status === 200, 2000);
    expect(await through('DELETE', '/orders/1', alice)).toEqual({ status: 200, grant: adminGrant });
    expect(await through('GET', '/orders/1', alice, 'staging-dba')).toEqual({
      status: 200,
      grant: dbaGrant,
    });
    expect((await through('DELETE', '/orders/2', alice)).status).toBe(403);
    expect((await through('GET', '/orders/2', alice, 'staging-dba')).status).toBe(403);
    const outside = audit
      .records()
      .filter((r) => r['msg'] === 'decision' || r['audit'] !== undefined)
      .map((r) => (r['audit'] ?? r) as Record<string, unknown>)
      .filter((r) => r['path'] === '/orders/2' && r['decision'] === 'deny');
    expect(JSON.stringify(outside.at(-1)?.['determining'])).toContain('session');

    // Revoked on replica b: replica a (behind Envoy) denies within a second.
    const carol = await accessToken('carol');
    const revoked = await api(
      b.accessPort as number,
      'POST',
      `/grants/${adminGrant}/revoke`,
      carol,
    );
    expect(revoked.status).toBe(200);
    const took = await until(
      async () => (await through('DELETE', '/orders/1', alice)).status === 403,
      1000,
    );
    expect(took).toBeLessThan(1000);

    // The review lists both grants with their use (each process adds its counts every second).
    await new Promise((r) => setTimeout(r, 1500));
    const review = await runCli([
      'access',
      'review',
      '--url',
      base(a),
      '--token',
      carol,
      '--window',
      '1h',
      '--format',
      'json',
    ]);
    expect(review.status).toBe(0);
    const grants = (JSON.parse(review.out) as { grants: Record<string, unknown>[] }).grants;
    const byId = new Map(grants.map((g) => [g['id'], g]));
    expect(byId.get(dbaGrant)).toMatchObject({ role: 'staging-dba', active: true });
    expect(byId.get(adminGrant)).toMatchObject({
      role: 'staging-admin',
      active: false,
      revokedBy: 'carol',
    });
    expect(Number(byId.get(adminGrant)?.['uses'])).toBeGreaterThanOrEqual(2);
    expect(Number(byId.get(dbaGrant)?.['uses'])).toBeGreaterThanOrEqual(1);

    // One grant's life, as its audit records (kept for the closing note and for debugging).
    mkdirSync(OUT, { recursive: true });
    const life = lifeOf(admin?.['id'] as string);
    writeFileSync(join(OUT, 'admin-grant-life.json'), `${JSON.stringify(life, null, 2)}\n`);
    writeFileSync(
      join(OUT, 'dba-grant-life.json'),
      `${JSON.stringify(lifeOf(dba?.['id'] as string), null, 2)}\n`,
    );
    expect(life.map((x) => [x['event'], x['actor']])).toEqual([
      ['requested', 'alice'],
      ['approved', 'carol'],
      ['revoked', 'carol'],
    ]);
  }, 120_000);
});
