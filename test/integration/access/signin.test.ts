/**
 * Sign-in for the approvals page against a real OpenID provider
 * (`oidc-provider`, its development login) and in a real headless Chromium:
 * an approver with no proxy in front signs in (authorization code + PKCE,
 * state and nonce), approves a pending request on the page, and signs out;
 * the session cookie is HttpOnly, SameSite=Lax and opaque, never longer
 * than the token it carries, refused once expired, forged, or replayed
 * after sign-out, and never enough for a state-changing API call; a
 * cross-site form post is refused; a callback with a wrong state is refused,
 * and a replayed code fails at the issuer. Every refusal is an audit record.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import type { Rolegate } from '../../../src/main.js';
import {
  authorizationUrl,
  discoverEndpoints,
  exchangeCode,
  newLoginFlow,
} from '../../../src/identity/oidc-login.js';
import { ChromiumPeer } from '../../harness/chromium.js';
import { API_AUDIENCE, OidcProviderPeer } from '../../harness/oidc-provider.js';
import { accessScenario, api, newAccessRequest, startAutoPostSite } from '../../support/access.js';
import { captureLogger } from '../../support/log-capture.js';
import { startTestRolegate } from '../../support/rolegate.js';

const SECRET_ENV = 'ROLEGATE_TEST_SIGNIN_CLIENT_SECRET';
const CLIENT = { id: 'rolegate-page', secret: 'rolegate-page-secret-0123456789abcdef' };
const SCOPES = ['openid', 'orders:read'];
const op = new OidcProviderPeer();
const browser = new ChromiumPeer();
const audit = captureLogger();
let rolegate: Rolegate;
let base: string;
let attacker: Server;
/** Added to rolegate's clock (the provider keeps the real one). */
let skew = 0;

const port = () => rolegate.accessPort as number;
const callback = () => `${base}/signin/callback`;

/** An access token of `login` from the provider (for API calls with a bearer token). */
async function accessToken(login: string): Promise<string> {
  const endpoints = await discoverEndpoints(op.issuer);
  const client = { clientId: CLIENT.id, clientSecret: CLIENT.secret, redirectUri: callback() };
  const flow = newLoginFlow();
  const back = await op.authorize(
    authorizationUrl(endpoints, client, SCOPES, flow),
    login,
    callback(),
  );
  const code = new URL(back).searchParams.get('code') as string;
  return (await exchangeCode(endpoints, client, code, flow.verifier)).accessToken as string;
}

const newRequest = async (reason: string) =>
  newAccessRequest(port(), await accessToken('alice'), reason);

const statusOf = async (id: string) =>
  (await api(port(), 'GET', `/requests/${id}`, await accessToken('alice'))).json['status'];

/** Signs in at rolegate without a browser: /signin, the provider's login, the callback. */
async function signInWithFetch(login: string): Promise<{ cookie: string; setCookie: string }> {
  const start = await fetch(`${base}/signin`, { redirect: 'manual' });
  expect(start.status).toBe(303);
  const flow = (start.headers.getSetCookie()[0] ?? '').split(';')[0] as string;
  const back = await op.authorize(start.headers.get('location') as string, login, callback());
  const done = await fetch(back, { redirect: 'manual', headers: { cookie: flow } });
  expect(done.status).toBe(303);
  const setCookie = done.headers
    .getSetCookie()
    .find((c) => c.startsWith('rolegate-session=')) as string;
  return { cookie: setCookie.split(';')[0] as string, setCookie };
}

const page401 = async (cookie: string) =>
  (await fetch(`${base}/approvals`, { headers: { cookie } })).status;

const refusals = (action: string) =>
  audit
    .records()
    .filter((r) => r['msg'] === 'access_refused')
    .map((r) => r['access'] as Record<string, unknown>)
    .filter((r) => r['action'] === action);

/** Signs `login` in on `page` through the provider's login and consent pages. */
async function signInInBrowser(page: Page, login: string): Promise<void> {
  await page.goto(`${base}/approvals`);
  await page.locator('#signin').click();
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any');
  await page.locator('button[type="submit"]').click();
  // The development consent page.
  await page.locator('button[type="submit"]').click();
  await page.waitForURL(`${base}/approvals`);
}

beforeAll(async () => {
  await Promise.all([op.start(), browser.start()]);
  op.groups.set('carol', ['admins']);
  op.groups.set('alice', ['engineers']);
  process.env[SECRET_ENV] = CLIENT.secret;
  const config = accessScenario(op.issuer, undefined, {
    signIn: {
      issuer: op.issuer,
      clientId: CLIENT.id,
      clientSecretEnv: SECRET_ENV,
      scopes: SCOPES,
      sessionSeconds: 3600,
    },
  });
  config.issuers = [{ issuer: op.issuer, audiences: [API_AUDIENCE], groupsClaim: 'groups' }];
  ({ rolegate } = await startTestRolegate(
    config,
    { ops: captureLogger('warn'), audit },
    { accessPort: 0, now: () => Date.now() + skew },
  ));
  base = `http://127.0.0.1:${port()}`;
  // The redirect URI is known once rolegate listens.
  op.addClient({
    client_id: CLIENT.id,
    client_secret: CLIENT.secret,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [callback()],
    token_endpoint_auth_method: 'client_secret_post',
  });
  attacker = await startAutoPostSite({ csrf: 'guess' });
}, 60_000);

afterAll(async () => {
  await browser.stop();
  await new Promise((r) => attacker?.close(r));
  await rolegate?.stop().catch(() => undefined);
  await op.stop();
  delete process.env[SECRET_ENV];
}, 30_000);

describe('signing in to the approvals page', () => {
  it('signs in in Chromium, approves a pending request, signs out; the old cookie is dead', async () => {
    const id = await newRequest('page sign-in approve');
    const ctx = await browser.context();
    const page = await ctx.newPage();
    await signInInBrowser(page, 'carol');
    await expect(page.locator('h1').textContent()).resolves.toBe('Access approvals');
    // Cookies are per host, not per port: the provider's (on another port) are there too.
    const ours = async () => (await ctx.cookies(base)).filter((c) => c.name.startsWith('rolegate'));
    const [cookie] = await ours();
    expect(cookie).toMatchObject({
      name: 'rolegate-session',
      httpOnly: true,
      sameSite: 'Lax',
      path: '/',
    });
    expect(cookie?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const row = page.locator(`tr[data-request="${id}"]`);
    await row.getByLabel('comment').fill('signed in myself');
    await row.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(/\/approvals\?done=approve/);
    expect(await statusOf(id)).toBe('approved');
    const session = `rolegate-session=${cookie?.value ?? ''}`;
    // The session reads the API, but never changes state through it.
    const read = await fetch(`${base}/v1/access/requests`, { headers: { cookie: session } });
    expect(read.status).toBe(200);
    const other = await newRequest('not through the API on a cookie');
    const post = await fetch(`${base}/v1/access/requests/${other}/approve`, {
      method: 'POST',
      headers: { cookie: session, 'content-type': 'application/json' },
    });
    expect(post.status).toBe(403);
    await expect(post.json()).resolves.toMatchObject({ error: 'ERR_ACCESS_AMBIENT_CREDENTIAL' });

    await page.locator('#signout').click();
    await expect(page.locator('h1').textContent()).resolves.toBe('Signed out');
    expect(await ours()).toEqual([]);
    expect((await page.goto(`${base}/approvals`))?.status()).toBe(401);
    // The cookie replayed after sign-out.
    expect(await page401(session)).toBe(401);
    expect(refusals('GET /approvals').at(-1)).toMatchObject({ reason: 'ERR_SIGNIN_SESSION' });
    const records = audit.records().map((r) => r['access'] as Record<string, unknown> | undefined);
    expect(records.filter((r) => r?.['event'] === 'signout')).toEqual([
      expect.objectContaining({ subject: 'carol', issuer: op.issuer }),
    ]);
    expect(JSON.stringify(audit.records())).not.toContain(cookie?.value as string);
  }, 60_000);

  it('reads the issuer discovery once for many sign-in starts (no outbound request per visitor)', async () => {
    const path = '/.well-known/openid-configuration';
    await fetch(`${base}/signin`, { redirect: 'manual' });
    const before = op.hits.get(path) ?? 0;
    // Discovery was read (the count is of the provider's real path).
    expect(before).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${base}/signin`, { redirect: 'manual' });
      expect(res.status).toBe(303);
    }
    expect(op.hits.get(path) ?? 0).toBe(before);
  });

  it('refuses a forged session cookie', async () => {
    const forged = `rolegate-session=${randomBytes(32).toString('base64url')}`;
    expect(await page401(forged)).toBe(401);
    expect(await page401('rolegate-session=not-a-session')).toBe(401);
    expect(refusals('GET /approvals').slice(-2)).toEqual([
      expect.objectContaining({ reason: 'ERR_SIGNIN_SESSION' }),
      expect.objectContaining({ reason: 'ERR_SIGNIN_SESSION' }),
    ]);
  });

  it('refuses a cross-site form post from a signed-in browser', async () => {
    const id = await newRequest('cross-site with a session');
    const ctx = await browser.context();
    const page = await ctx.newPage();
    await signInInBrowser(page, 'carol');
    const { port: evil } = attacker.address() as AddressInfo;
    for (const target of [`${base}/approvals/requests/${id}/approve`, `${base}/logout`]) {
      await page.goto(`http://127.0.0.1:${evil}/?target=${encodeURIComponent(target)}`);
      await page.waitForURL(target);
      await expect(page.locator('#error').textContent()).resolves.toBe('ERR_ACCESS_CROSS_SITE');
    }
    expect(await statusOf(id)).toBe('pending');
    expect(refusals(`POST /approvals/requests/${id}/approve`)).toEqual([
      expect.objectContaining({ reason: 'ERR_ACCESS_CROSS_SITE', actor: 'carol' }),
    ]);
    expect(refusals('POST /logout').at(-1)).toMatchObject({
      reason: 'ERR_ACCESS_CROSS_SITE',
      actor: 'carol',
    });
    // Still signed in: the cross-site logout did nothing.
    expect((await page.goto(`${base}/approvals`))?.status()).toBe(200);
  }, 60_000);

  it('refuses a callback with a wrong state or no flow; a replayed code fails at the issuer', async () => {
    const start = await fetch(`${base}/signin`, { redirect: 'manual' });
    const flowCookie = start.headers.getSetCookie()[0] as string;
    expect(flowCookie).toMatch(
      /^rolegate-signin=[^;]+; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax$/,
    );
    const auth = new URL(start.headers.get('location') as string);
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
    expect(auth.searchParams.get('redirect_uri')).toBe(callback());
    const flow = flowCookie.split(';')[0] as string;
    const back = new URL(await op.authorize(auth.toString(), 'carol', callback()));
    const wrong = new URL(back);
    wrong.searchParams.set('state', 'forged-state');
    const refused = await fetch(wrong, { redirect: 'manual', headers: { cookie: flow } });
    expect(refused.status).toBe(400);
    await expect(refused.text()).resolves.toContain('<p id="error">ERR_SIGNIN_STATE</p>');
    expect((await fetch(back, { redirect: 'manual' })).status).toBe(400);
    expect(refusals('GET /signin/callback').slice(-2)).toEqual([
      expect.objectContaining({ reason: 'ERR_SIGNIN_STATE', actual: 'another state' }),
      expect.objectContaining({ reason: 'ERR_SIGNIN_STATE', actual: 'no sign-in flow cookie' }),
    ]);
    const good = await fetch(back, { redirect: 'manual', headers: { cookie: flow } });
    expect(good.status).toBe(303);
    const replayed = await fetch(back, { redirect: 'manual', headers: { cookie: flow } });
    expect(replayed.status).toBe(401);
    expect(refusals('GET /signin/callback').at(-1)).toMatchObject({
      reason: 'ERR_SIGNIN_FAILED',
      actual: expect.stringContaining('invalid_grant'),
    });
  }, 30_000);

  it('ends the session with the token it carries', async () => {
    const { cookie, setCookie } = await signInWithFetch('carol');
    expect(setCookie).toMatch(/; Path=\/; Max-Age=(\d+); HttpOnly; SameSite=Lax$/);
    // sessionSeconds is 3600, the access token lives 300 s: the session gets no more.
    const maxAge = Number(/Max-Age=(\d+)/.exec(setCookie)?.[1]);
    expect(maxAge).toBeGreaterThan(250);
    expect(maxAge).toBeLessThanOrEqual(300);
    expect(await page401(cookie)).toBe(200);
    skew = 301_000;
    try {
      expect(await page401(cookie)).toBe(401);
    } finally {
      skew = 0;
    }
    // Expired for good: back on the real clock it stays refused.
    expect(refusals('GET /approvals').at(-1)).toMatchObject({ reason: 'ERR_SIGNIN_SESSION' });
  }, 30_000);
});
