/**
 * Just-in-time access end to end through a real Envoy: an engineer asks
 * for staging-admin through the API, cannot approve it themself, an
 * approver approves, the protected call succeeds under the grant (grant id
 * and expiry reach the upstream and the audit record), a revocation denies
 * it again, and a short grant ends on its own when the clock passes its
 * expiry.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Rolegate } from '../../src/main.js';
import { ChromiumPeer } from '../harness/chromium.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { assertEnvoyImage, EnvoyPeer } from '../harness/envoy.js';
import { JwksIssuer } from '../harness/jwks.js';
import { accessScenario, api, until } from '../support/access.js';
import { captureLogger } from '../support/log-capture.js';
import { startTestRolegate } from '../support/rolegate.js';

const OUT = join(process.cwd(), 'test-output', 'access');
const idp = new JwksIssuer({ audience: 'orders-api' });
const upstream = new EchoUpstream();
const browser = new ChromiumPeer();
const audit = captureLogger();
const ops = captureLogger('warn');
let envoy: EnvoyPeer;
let rolegate: Rolegate;
let clock = Date.now();

const token = (sub: string, groups: string[]) =>
  idp.mint({ groups }, { subject: sub, expiresIn: '1h' });
const alice = () => token('alice', ['engineers']);
const carol = () => token('carol', ['admins']);

async function del(id: string, tok: string) {
  const res = await fetch(envoy.url(`/orders/${id}`), {
    method: 'DELETE',
    headers: { authorization: `Bearer ${tok}` },
  });
  await res.text();
  return res.status;
}

/** The access audit records of one grant or request, in order. */
const lifeOf = (requestId: string) =>
  audit
    .records()
    .flatMap((r) => (r['access'] === undefined ? [] : [r['access'] as Record<string, unknown>]))
    .filter((a) => a['request_id'] === requestId);

beforeAll(async () => {
  await assertEnvoyImage();
  await Promise.all([idp.start(), upstream.start(), browser.start()]);
  ({ rolegate } = await startTestRolegate(
    accessScenario(idp.issuer),
    { ops, audit },
    { accessPort: 0, now: () => clock },
  ));
  envoy = new EnvoyPeer({ rolegatePort: rolegate.grpcPort, upstreamPort: upstream.port });
  await envoy.start();
  await envoy.waitForCluster('rolegate');
}, 120_000);

afterAll(async () => {
  await envoy?.stop();
  await rolegate?.stop().catch(() => undefined);
  await browser.stop();
  await Promise.all([idp.stop(), upstream.stop()]);
});

describe('just-in-time access through Envoy', () => {
  it('request, no self-approval, approve, allowed under the grant, revoke, denied', async () => {
    const port = rolegate.accessPort as number;
    expect(await del('1', await alice())).toBe(403);

    const created = await api(port, 'POST', '/requests', await alice(), {
      role: 'staging-admin',
      durationSeconds: 1800,
      reason: 'fix the stuck migration',
      ticket: 'OPS-42',
    });
    expect(created.status).toBe(201);
    const id = created.json['id'] as string;

    const self = await api(port, 'POST', `/requests/${id}/approve`, await alice(), {});
    expect(self).toMatchObject({ status: 403, json: { error: 'ERR_ACCESS_SELF_APPROVAL' } });
    expect(await del('1', await alice())).toBe(403);

    const approved = await api(port, 'POST', `/requests/${id}/approve`, await carol(), {
      comment: 'ok',
    });
    expect(approved.status).toBe(200);
    const grant = approved.json['grant'] as Record<string, unknown>;
    expect(grant).toMatchObject({ role: 'staging-admin', subject: 'alice', secondsLeft: 1800 });

    upstream.clear();
    const status = await del('1', await alice());
    expect(status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/1');
    expect(seen?.headers['x-rolegate-role']).toBe('arn:rolegate:iam:::role/staging-admin');
    expect(seen?.headers['x-rolegate-grant-id']).toBe(grant['id']);
    expect(seen?.headers['x-rolegate-grant-expires']).toBe(grant['expiresAt']);
    expect(audit.auditFor(seen?.headers['x-rolegate-decision-id'] as string)).toMatchObject({
      decision: 'allow',
      grant_id: grant['id'],
    });

    const revoked = await api(
      port,
      'POST',
      `/grants/${grant['id'] as string}/revoke`,
      await carol(),
    );
    expect(revoked.status).toBe(200);
    expect(await del('1', await alice())).toBe(403);
    // Static access is untouched by all of it.
    const get = await fetch(envoy.url('/orders/1'), {
      headers: { authorization: `Bearer ${await alice()}` },
    });
    expect(get.status).toBe(200);

    expect(lifeOf(id).map((a) => a['event'])).toEqual([
      'requested',
      'refused',
      'approved',
      'revoked',
    ]);
    // The grant's whole life, decisions under it included, as audit lines (for the closing note).
    const life = audit.lines.filter((l) => l.includes(id));
    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, 'grant-life.jsonl'), `${life.join('\n')}\n`);
    expect(
      life.some((l) => l.includes('"msg":"decision"') && l.includes(grant['id'] as string)),
    ).toBe(true);
  });

  it('approved through the web page in Chromium, allowed through Envoy', async () => {
    const port = rolegate.accessPort as number;
    const created = await api(port, 'POST', '/requests', await alice(), {
      role: 'staging-admin',
      durationSeconds: 600,
      reason: 'page approval',
    });
    const id = created.json['id'] as string;
    expect(await del('3', await alice())).toBe(403);
    const ctx = await browser.context({
      extraHTTPHeaders: { authorization: `Bearer ${await carol()}` },
    });
    const page = await ctx.newPage();
    await page.goto(`http://127.0.0.1:${port}/approvals`);
    await page.locator(`tr[data-request="${id}"]`).getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(/done=approve/);
    expect(await del('3', await alice())).toBe(200);
    await page
      .locator(`tr[data-grant="grant-${id}"]`)
      .getByRole('button', { name: 'Revoke' })
      .click();
    await page.waitForURL(/done=revoke/);
    expect(await del('3', await alice())).toBe(403);
  }, 60_000);

  it('a grant ends at its expiry with nobody acting', async () => {
    const port = rolegate.accessPort as number;
    const created = await api(port, 'POST', '/requests', await alice(), {
      role: 'staging-admin',
      durationSeconds: 60,
      reason: 'one quick look',
    });
    const id = created.json['id'] as string;
    const ok = await api(port, 'POST', `/requests/${id}/approve`, await carol(), {});
    expect(ok.status).toBe(200);
    expect(await del('2', await alice())).toBe(200);
    clock += 59_000;
    expect(await del('2', await alice())).toBe(200);
    clock += 1_000;
    expect(await del('2', await alice())).toBe(403);
    // The sweep reports the expiry as a lifecycle event.
    await until(() => lifeOf(id).some((a) => a['event'] === 'expired'));
    expect(lifeOf(id).map((a) => a['event'])).toEqual(['requested', 'approved', 'expired']);
  });
});
