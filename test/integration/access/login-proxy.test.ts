/**
 * Cross-site requests against a cookie-authenticated deployment, in a real
 * headless Chromium: a real nginx in front of the access listener plays the
 * login proxy (like oauth2-proxy or Envoy's OAuth2 filter): `/login` sets a
 * session cookie, and every request carrying that cookie reaches rolegate
 * with the user's token injected as `Authorization: Bearer` (the client's
 * own Authorization header is overwritten). A browser signed in that way
 * attaches the cookie to requests other pages make, so the proxy vouches
 * for them too; rolegate must tell them apart:
 *
 * - a page on another origin of the same site (another port of 127.0.0.1:
 *   the session cookie is sent whatever its SameSite) that auto-submits a
 *   form to the approvals page, or a text/plain "JSON" form to the API, or
 *   fetches POST (no-cors, text/plain) to revoke: refused
 *   `ERR_ACCESS_CROSS_SITE`, with the approver's identity in the audit
 *   record (the proxy did inject it);
 * - the same page fetching with `Content-Type: application/json`: the
 *   browser's CORS preflight is not granted, so the POST is never sent;
 * - a page on another site (localhost): refused as well, whether or not
 *   the browser sent the cookie along (the origin check comes first);
 * - the same approve and revoke clicked on the approvals page itself work.
 *
 * rolegate's clock is frozen.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import type { Rolegate } from '../../../src/main.js';
import { ChromiumPeer } from '../../harness/chromium.js';
import { JwksIssuer } from '../../harness/jwks.js';
import { NginxPeer } from '../../harness/nginx.js';
import { freePort } from '../../harness/ports.js';
import { accessScenario, api } from '../../support/access.js';
import { captureLogger } from '../../support/log-capture.js';
import { startTestRolegate } from '../../support/rolegate.js';

const SHOTS = join(process.cwd(), 'test-output', 'login-proxy');
const idp = new JwksIssuer({ audience: 'orders-api' });
const browser = new ChromiumPeer();
const audit = captureLogger();
const clock = Date.now();
const SESSION = randomBytes(16).toString('hex');
let rolegate: Rolegate;
let nginx: NginxPeer;
let proxy: string;
let attacker: Server;
let attackerPort: number;

const mint = (sub: string, group: string) =>
  idp.mint(
    { groups: [group] },
    { subject: sub, expiresIn: '1h', issuedAt: Math.floor(clock / 1000) },
  );
const accessPort = () => rolegate.accessPort as number;

/** nginx as the login proxy: the session cookie in, the user's bearer token out. */
function loginProxyConfig(port: number, upstream: number, carolToken: string): string {
  return `
map $cookie_rg_session $rg_identity {
    default "";
    "${SESSION}" "Bearer ${carolToken}";
}
server {
    listen 127.0.0.1:${port};
    location = /login {
        add_header Set-Cookie "rg_session=${SESSION}; Path=/; HttpOnly" always;
        return 302 /approvals;
    }
    location / {
        proxy_set_header Authorization $rg_identity;
        proxy_set_header Host $http_host;
        proxy_pass http://127.0.0.1:${upstream};
    }
}
`;
}

/** Pages another origin serves: each acts on load, with the visitor's cookies. */
function attackerPage(path: string, q: URLSearchParams): string {
  const target = q.get('target') ?? '';
  const attr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  if (path === '/form') {
    return `<form id="f" method="post" action="${attr(target)}"><input name="comment" value="pwned"><input name="csrf" value="guess"></form><script>document.getElementById("f").submit()</script>`;
  }
  if (path === '/json-form') {
    // The classic text/plain form that posts a JSON-looking body: {"comment":"pwned","x":"="}
    return `<form id="f" method="post" enctype="text/plain" action="${attr(target)}"><input name='{"comment":"pwned","x":"' value='"}'></form><script>document.getElementById("f").submit()</script>`;
  }
  if (path === '/fetch') {
    const contentType = q.get('type') ?? 'text/plain';
    const mode = contentType === 'application/json' ? 'cors' : 'no-cors';
    return `<script>
fetch(${JSON.stringify(target)}, { method: "POST", mode: "${mode}", credentials: "include",
  headers: { "content-type": ${JSON.stringify(contentType)} }, body: "{}" })
  .then((r) => { document.title = "sent:" + r.type; }, (e) => { document.title = "failed:" + e.name; });
</script>`;
  }
  return 'nothing here';
}

async function newRequest(reason: string): Promise<string> {
  const { json } = await api(accessPort(), 'POST', '/requests', await mint('alice', 'engineers'), {
    role: 'staging-admin',
    durationSeconds: 900,
    reason,
  });
  return json['id'] as string;
}

const statusOf = async (id: string) =>
  (await api(accessPort(), 'GET', `/requests/${id}`, await mint('alice', 'engineers'))).json[
    'status'
  ];

const refusalsOf = (action: string) =>
  audit
    .records()
    .filter((r) => r['msg'] === 'access_refused')
    .map((r) => r['access'] as Record<string, unknown>)
    .filter((r) => r['action'] === action);

/** A browser session signed in at the proxy as carol (the approver). */
async function signedIn(): Promise<Page> {
  const ctx = await browser.context();
  const page = await ctx.newPage();
  await page.goto(`${proxy}/login`);
  await page.waitForURL(`${proxy}/approvals`);
  return page;
}

/** A grant for alice, approved through the API. */
async function newGrant(): Promise<string> {
  const id = await newRequest('grant to revoke');
  const approved = await api(
    accessPort(),
    'POST',
    `/requests/${id}/approve`,
    await mint('dave', 'admins'),
    {},
  );
  return (approved.json['grant'] as { id: string }).id;
}

const grantActive = async (grantId: string) =>
  (
    (await api(accessPort(), 'GET', '/grants', await mint('dave', 'admins'))).json['grants'] as {
      id: string;
    }[]
  ).some((g) => g.id === grantId);

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  await Promise.all([idp.start(), browser.start()]);
  ({ rolegate } = await startTestRolegate(
    accessScenario(idp.issuer),
    { ops: captureLogger('warn'), audit },
    { accessPort: 0, now: () => clock },
  ));
  // nginx needs its port in its config: a free one, as the harness's other nginx tests do.
  const port = await freePort();
  nginx = new NginxPeer({
    port,
    serverConfig: loginProxyConfig(port, accessPort(), await mint('carol', 'admins')),
  });
  await nginx.start();
  proxy = `http://127.0.0.1:${port}`;
  attacker = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(attackerPage(url.pathname, url.searchParams));
  });
  await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
  attackerPort = (attacker.address() as AddressInfo).port;
}, 60_000);

afterAll(async () => {
  await browser.stop();
  await nginx?.stop();
  await new Promise((r) => attacker?.close(r));
  await rolegate?.stop().catch(() => undefined);
  await idp.stop();
}, 30_000);

describe('behind a login proxy (nginx) that turns a session cookie into a bearer token', () => {
  it('the approvals page itself approves and revokes', async () => {
    const id = await newRequest('page approve via proxy');
    const page = await signedIn();
    const row = page.locator(`tr[data-request="${id}"]`);
    await row.getByLabel('comment').fill('via the proxy');
    await row.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(/\/approvals\?done=approve/);
    expect(await statusOf(id)).toBe('approved');
    const shown = await api(
      accessPort(),
      'GET',
      `/requests/${id}`,
      await mint('alice', 'engineers'),
    );
    expect(shown.json).toMatchObject({
      approvals: [{ approver: 'carol', comment: 'via the proxy' }],
    });
    await page.screenshot({ path: join(SHOTS, '1-approved.png'), fullPage: true });
    const grant = page.locator(`tr[data-grant="grant-${id}"]`);
    await grant.getByRole('button', { name: 'Revoke' }).click();
    await page.waitForURL(/done=revoke/);
    expect(await grantActive(`grant-${id}`)).toBe(false);
    expect(refusalsOf(`POST /approvals/requests/${id}/approve`)).toEqual([]);
  }, 60_000);

  it('refuses a form another origin auto-submits to the approvals page', async () => {
    const id = await newRequest('csrf via page form');
    const page = await signedIn();
    const target = `${proxy}/approvals/requests/${id}/approve`;
    await page.goto(`http://127.0.0.1:${attackerPort}/form?target=${encodeURIComponent(target)}`);
    await page.waitForURL(target);
    await expect(page.locator('#error').textContent()).resolves.toBe('ERR_ACCESS_CROSS_SITE');
    await page.screenshot({ path: join(SHOTS, '2-form-refused.png'), fullPage: true });
    expect(await statusOf(id)).toBe('pending');
    // The proxy vouched for the approver (the cookie went along); rolegate refused anyway.
    expect(refusalsOf(`POST /approvals/requests/${id}/approve`)).toEqual([
      expect.objectContaining({
        reason: 'ERR_ACCESS_CROSS_SITE',
        actor: 'carol',
        actual: 'Sec-Fetch-Site: "same-site"',
      }),
    ]);
  }, 60_000);

  it('refuses a text/plain "JSON" form another origin auto-submits to the API', async () => {
    const id = await newRequest('csrf via json form');
    const page = await signedIn();
    const target = `${proxy}/v1/access/requests/${id}/approve`;
    await page.goto(
      `http://127.0.0.1:${attackerPort}/json-form?target=${encodeURIComponent(target)}`,
    );
    await page.waitForURL(target);
    expect(JSON.parse((await page.locator('body').textContent()) ?? '')).toMatchObject({
      error: 'ERR_ACCESS_CROSS_SITE',
    });
    expect(await statusOf(id)).toBe('pending');
    expect(refusalsOf(`POST /v1/access/requests/${id}/approve`)).toEqual([
      expect.objectContaining({ reason: 'ERR_ACCESS_CROSS_SITE', actor: 'carol' }),
    ]);
  }, 60_000);

  it('refuses a fetch POST to revoke from another origin; a JSON one never gets past the preflight', async () => {
    const grantId = await newGrant();
    const page = await signedIn();
    const target = `${proxy}/v1/access/grants/${grantId}/revoke`;
    const from = (type: string) =>
      `http://127.0.0.1:${attackerPort}/fetch?type=${encodeURIComponent(type)}&target=${encodeURIComponent(target)}`;

    await page.goto(from('text/plain'));
    await page.waitForFunction('document.title !== ""');
    // no-cors: the request went out (opaque answer), and rolegate refused it.
    expect(await page.title()).toBe('sent:opaque');
    expect(refusalsOf(`POST /v1/access/grants/${grantId}/revoke`)).toEqual([
      expect.objectContaining({ reason: 'ERR_ACCESS_CROSS_SITE', actor: 'carol' }),
    ]);

    await page.goto(from('application/json'));
    await page.waitForFunction('document.title !== ""');
    expect(await page.title()).toBe('failed:TypeError');
    // Only the preflight arrived (without the cookie, so without an identity), and was refused.
    expect(refusalsOf(`POST /v1/access/grants/${grantId}/revoke`)).toHaveLength(1);
    expect(refusalsOf(`OPTIONS /v1/access/grants/${grantId}/revoke`)).toEqual([
      expect.objectContaining({ reason: 'ERR_ACCESS_CROSS_SITE', actor: '' }),
    ]);
    expect(await grantActive(grantId)).toBe(true);
  }, 60_000);

  it('refuses a form posted from another site', async () => {
    const id = await newRequest('csrf from another site');
    const page = await signedIn();
    const target = `${proxy}/approvals/requests/${id}/approve`;
    await page.goto(`http://localhost:${attackerPort}/form?target=${encodeURIComponent(target)}`);
    await page.waitForURL(target);
    await expect(page.locator('#error').textContent()).resolves.toBe('ERR_ACCESS_CROSS_SITE');
    expect(await statusOf(id)).toBe('pending');
    expect(refusalsOf(`POST /approvals/requests/${id}/approve`)).toEqual([
      expect.objectContaining({
        reason: 'ERR_ACCESS_CROSS_SITE',
        actual: 'Sec-Fetch-Site: "cross-site"',
      }),
    ]);
  }, 60_000);
});
