/**
 * Slack callbacks across replicas on one real PostgreSQL: a signed click
 * taken by one replica is refused as a replay by the other
 * (`ERR_ACCESS_SLACK_REPLAY`, audited there), because the replay record is
 * kept in the shared store, not in one process's memory.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Rolegate } from '../../../src/main.js';
import { JwksIssuer } from '../../harness/jwks.js';
import { PostgresPeer } from '../../harness/postgres.js';
import { accessScenario, api } from '../../support/access.js';
import { captureLogger } from '../../support/log-capture.js';
import { startTestRolegate } from '../../support/rolegate.js';

const idp = new JwksIssuer({ audience: 'orders-api' });
const db = new PostgresPeer();
const URL_ENV = 'ROLEGATE_TEST_SLACK_PG_URL';
const SECRET_ENV = 'ROLEGATE_TEST_SLACK_PG_SECRET';
const SECRET = 'replica-shared-slack-signing-secret';
const auditB = captureLogger();
let a: Rolegate;
let b: Rolegate;

async function click(replica: Rolegate, body: string, ts: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${replica.accessPort as number}/slack/interactions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': `v0=${createHmac('sha256', SECRET).update(`v0:${ts}:${body}`).digest('hex')}`,
    },
    body,
  });
}

beforeAll(async () => {
  await Promise.all([idp.start(), db.start()]);
  process.env[URL_ENV] = db.url();
  process.env[SECRET_ENV] = SECRET;
  const config = accessScenario(
    idp.issuer,
    { kind: 'postgres', urlEnv: URL_ENV },
    {
      slack: {
        signingSecretEnv: SECRET_ENV,
        users: { U0CAROL: { issuer: idp.issuer, subject: 'carol', groups: ['admins'] } },
      },
    },
  );
  a = (
    await startTestRolegate(
      config,
      { ops: captureLogger('fatal'), audit: captureLogger() },
      { accessPort: 0 },
    )
  ).rolegate;
  b = (
    await startTestRolegate(
      config,
      { ops: captureLogger('fatal'), audit: auditB },
      { accessPort: 0 },
    )
  ).rolegate;
}, 60_000);

afterAll(async () => {
  await Promise.all([a, b].map((r) => r?.stop().catch(() => undefined)));
  await Promise.all([db.stop(), idp.stop()]);
  delete process.env[SECRET_ENV];
}, 60_000);

describe('Slack callbacks on two replicas sharing PostgreSQL', () => {
  it('takes a click once: the same signed callback on the other replica is a replay', async () => {
    const alice = await idp.mint({ groups: ['engineers'] }, { subject: 'alice' });
    const created = await api(a.accessPort as number, 'POST', '/requests', alice, {
      role: 'staging-admin',
      durationSeconds: 900,
      reason: 'replica replay',
    });
    const id = created.json['id'] as string;
    const payload = {
      type: 'block_actions',
      user: { id: 'U0CAROL' },
      actions: [{ action_id: 'rolegate_deny', value: id }],
    };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const ts = String(Math.floor(Date.now() / 1000));
    expect((await click(a, body, ts)).status).toBe(200);
    const replayed = await click(b, body, ts);
    expect(replayed.status).toBe(401);
    await expect(replayed.json()).resolves.toMatchObject({ error: 'ERR_ACCESS_SLACK_REPLAY' });
    expect(
      auditB
        .records()
        .filter((r) => r['msg'] === 'access_refused')
        .map((r) => (r['access'] as Record<string, unknown>)['reason']),
    ).toEqual(['ERR_ACCESS_SLACK_REPLAY']);
    const shown = await api(b.accessPort as number, 'GET', `/requests/${id}`, alice);
    expect(shown.json).toMatchObject({ status: 'denied', deniedBy: 'carol' });
  }, 30_000);
});
