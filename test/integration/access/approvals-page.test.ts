/**
 * The approvals page in a real headless Chromium (Debian's package): an
 * approver sees the pending request, approves it with a comment, sees the
 * grant with its time left, and revokes it; each step changes what Check
 * decides. A cross-site form post, carrying the approver's credentials as
 * a browser would, is refused (CSRF), and request text is shown as text,
 * never markup. Screenshots go to test-output/approvals-page/.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Rolegate } from '../../../src/main.js';
import { ChromiumPeer } from '../../harness/chromium.js';
import { JwksIssuer } from '../../harness/jwks.js';
import { accessScenario, api, newAccessRequest, startAutoPostSite } from '../../support/access.js';
import { checkOnce } from '../../support/check-client.js';
import { captureLogger } from '../../support/log-capture.js';
import { startTestRolegate } from '../../support/rolegate.js';

const SHOTS = join(process.cwd(), 'test-output', 'approvals-page');
const idp = new JwksIssuer({ audience: 'orders-api' });
const browser = new ChromiumPeer();
let rolegate: Rolegate;
const audit = captureLogger();
let base: string;
let attacker: Server;

const token = (sub: string, groups: string[]) =>
  idp.mint({ groups }, { subject: sub, expiresIn: '1h' });
const alice = () => token('alice', ['engineers']);
const carol = () => token('carol', ['admins']);
const canDelete = async () =>
  (await checkOnce(rolegate.grpcPort, 'DELETE', '/orders/5', await alice())).allowed;

const newRequest = async (reason: string) =>
  newAccessRequest(rolegate.accessPort as number, await alice(), reason);

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  await Promise.all([idp.start(), browser.start()]);
  ({ rolegate } = await startTestRolegate(
    accessScenario(idp.issuer),
    { ops: captureLogger('warn'), audit },
    { accessPort: 0 },
  ));
  base = `http://127.0.0.1:${rolegate.accessPort as number}`;
  // Another origin whose page posts a form to the approvals page on load.
  attacker = await startAutoPostSite({ comment: 'pwned' });
}, 60_000);

afterAll(async () => {
  await browser.stop();
  await new Promise((r) => attacker?.close(r));
  await rolegate?.stop().catch(() => undefined);
  await idp.stop();
}, 30_000);

describe('the approvals page in Chromium', () => {
  it('approve with a comment, see the grant with time left, revoke', async () => {
    const id = await newRequest('<script>alert(1)</script> needs a fix');
    const ctx = await browser.context({
      extraHTTPHeaders: { authorization: `Bearer ${await carol()}` },
    });
    const page = await ctx.newPage();
    await page.goto(`${base}/approvals`);
    const row = page.locator(`tr[data-request="${id}"]`);
    await expect(row.textContent()).resolves.toContain('<script>alert(1)</script> needs a fix');
    await page.screenshot({ path: join(SHOTS, '1-pending.png'), fullPage: true });

    expect(await canDelete()).toBe(false);
    await row.getByLabel('comment').fill('looks fine');
    await row.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(/\/approvals\?done=/);
    const grant = page.locator(`tr[data-grant="grant-${id}"]`);
    await expect(grant.locator('td.left').textContent()).resolves.toMatch(/^1[45]m \d+s$/);
    await page.screenshot({ path: join(SHOTS, '2-granted.png'), fullPage: true });
    expect(await canDelete()).toBe(true);
    const shown = await api(rolegate.accessPort as number, 'GET', `/requests/${id}`, await alice());
    expect(shown.json).toMatchObject({ approvals: [{ approver: 'carol', comment: 'looks fine' }] });

    await grant.getByRole('button', { name: 'Revoke' }).click();
    await page.waitForURL(/done=revoke/);
    expect(await page.locator(`tr[data-grant="grant-${id}"]`).count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, '3-revoked.png'), fullPage: true });
    expect(await canDelete()).toBe(false);
  }, 60_000);

  it('refuses a cross-site form post even with the approver’s credentials (CSRF)', async () => {
    const id = await newRequest('csrf target');
    const ctx = await browser.context({
      extraHTTPHeaders: { authorization: `Bearer ${await carol()}` },
    });
    const page = await ctx.newPage();
    const target = `${base}/approvals/requests/${id}/approve`;
    const { port } = attacker.address() as AddressInfo;
    await page.goto(`http://localhost:${port}/?target=${encodeURIComponent(target)}`);
    await page.waitForURL(target);
    await expect(page.locator('h1').textContent()).resolves.toBe('Refused');
    await expect(page.locator('#error').textContent()).resolves.toBe('ERR_ACCESS_CROSS_SITE');
    await page.screenshot({ path: join(SHOTS, '4-csrf-refused.png'), fullPage: true });
    const shown = await api(rolegate.accessPort as number, 'GET', `/requests/${id}`, await alice());
    expect(shown.json['status']).toBe('pending');
    // Without a browser's Sec-Fetch-Site, the missing CSRF token alone refuses it.
    const direct = await fetch(target, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await carol()}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'comment=x&csrf=forged',
    });
    expect(direct.status).toBe(403);
    const refused = audit
      .records()
      .filter((r) => r['msg'] === 'access_refused')
      .map((r) => r['access'] as Record<string, unknown>);
    expect(refused.filter((r) => r['action'] === `POST /approvals/requests/${id}/approve`)).toEqual(
      [
        expect.objectContaining({
          reason: 'ERR_ACCESS_CROSS_SITE',
          actor: 'carol',
          expected: 'Sec-Fetch-Site: same-origin or none (or no Sec-Fetch-Site)',
          actual: 'Sec-Fetch-Site: "cross-site"',
        }),
        expect.objectContaining({
          reason: 'ERR_ACCESS_CSRF',
          actor: 'carol',
          actual: 'a token that is not v1.<period>.<mac>',
        }),
      ],
    );
    await expect(direct.text()).resolves.toContain('<p id="error">ERR_ACCESS_CSRF</p>');
  }, 60_000);

  it('asks for sign-in without a token', async () => {
    const ctx = await browser.context();
    const page = await ctx.newPage();
    const res = await page.goto(`${base}/approvals`);
    expect(res?.status()).toBe(401);
  });
});
