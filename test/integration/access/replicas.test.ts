/**
 * Two rolegate replicas on one real PostgreSQL: a grant approved through
 * one is honoured by the other within a second (LISTEN/NOTIFY), a
 * revocation through the other is honoured by the first within a second;
 * with PostgreSQL stopped, known grants are honoured within the staleness
 * window and denied after it, while static roles keep working; when the
 * database is back, grants are honoured again.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Rolegate } from '../../../src/main.js';
import { JwksIssuer } from '../../harness/jwks.js';
import { PostgresPeer } from '../../harness/postgres.js';
import { accessScenario, api, until } from '../../support/access.js';
import { checkOnce } from '../../support/check-client.js';
import { captureLogger } from '../../support/log-capture.js';
import { startTestRolegate } from '../../support/rolegate.js';

const idp = new JwksIssuer({ audience: 'orders-api' });
const db = new PostgresPeer();
const URL_ENV = 'ROLEGATE_TEST_ACCESS_PG_URL';
let a: Rolegate;
let b: Rolegate;

const token = (sub: string, groups: string[]) =>
  idp.mint({ groups }, { subject: sub, expiresIn: '1h' });
const alice = () => token('alice', ['engineers']);
const carol = () => token('carol', ['admins']);

/** Whether `replica` allows alice's DELETE (staging-admin only). */
const canDelete = async (replica: Rolegate) =>
  (await checkOnce(replica.grpcPort, 'DELETE', '/orders/9', await alice())).allowed;

beforeAll(async () => {
  await Promise.all([idp.start(), db.start()]);
  process.env[URL_ENV] = db.url();
  // A long periodic refresh: within a second can only come from NOTIFY.
  const config = accessScenario(
    idp.issuer,
    { kind: 'postgres', urlEnv: URL_ENV },
    {
      refreshMs: 30_000,
      stalenessSeconds: 3,
    },
  );
  // Both replicas start together: migrations run once, under the advisory lock.
  [a, b] = (await Promise.all(
    [0, 1].map(
      async () =>
        (
          await startTestRolegate(
            config,
            { ops: captureLogger('fatal'), audit: captureLogger() },
            { accessPort: 0 },
          )
        ).rolegate,
    ),
  )) as [Rolegate, Rolegate];
}, 60_000);

afterAll(async () => {
  await a?.stop().catch(() => undefined);
  await b?.stop().catch(() => undefined);
  await db.stop();
  await idp.stop();
}, 30_000);

describe('replicas sharing PostgreSQL', () => {
  it('approve on one, allowed on the other within a second; revoke on the other, denied on the first', async () => {
    const created = await api(a.accessPort as number, 'POST', '/requests', await alice(), {
      role: 'staging-admin',
      durationSeconds: 600,
      reason: 'replica check',
    });
    expect(created.status).toBe(201);
    expect(await canDelete(b)).toBe(false);
    const approved = await api(
      a.accessPort as number,
      'POST',
      `/requests/${created.json['id'] as string}/approve`,
      await carol(),
      {},
    );
    expect(approved.status).toBe(200);
    const grantId = (approved.json['grant'] as { id: string }).id;
    expect(await until(() => canDelete(b), 1000)).toBeLessThan(1000);

    const revoked = await api(
      b.accessPort as number,
      'POST',
      `/grants/${grantId}/revoke`,
      await carol(),
    );
    expect(revoked.status).toBe(200);
    expect(await until(async () => !(await canDelete(a)), 1000)).toBeLessThan(1000);
  });

  it('concurrent approvals through both replicas make one grant', async () => {
    const { json } = await api(a.accessPort as number, 'POST', '/requests', await alice(), {
      role: 'staging-admin',
      durationSeconds: 600,
      reason: 'race',
    });
    const id = json['id'] as string;
    const answers = await Promise.all(
      [a, b, a, b].map(async (r) =>
        api(r.accessPort as number, 'POST', `/requests/${id}/approve`, await carol(), {}),
      ),
    );
    expect(answers.map((x) => x.status)).toEqual([200, 200, 200, 200]);
    const grants = new Set(answers.map((x) => (x.json['grant'] as { id: string } | undefined)?.id));
    expect([...grants]).toEqual([`grant-${id}`]);
    expect(await until(() => canDelete(b), 1000)).toBeLessThan(1000);
  });

  it('PostgreSQL down: known grants within the staleness window, then denied; static roles unaffected', async () => {
    expect(await canDelete(a)).toBe(true);
    await db.halt();
    const stopped = Date.now();
    expect(await canDelete(a)).toBe(true);
    expect((await checkOnce(a.grpcPort, 'GET', '/orders/9', await alice())).allowed).toBe(true);
    // Denied once the 3 s window has passed (the last refresh was at most refreshMs ago).
    await until(async () => !(await canDelete(a)), 10_000);
    expect(Date.now() - stopped).toBeGreaterThanOrEqual(1000);
    expect((await checkOnce(a.grpcPort, 'GET', '/orders/9', await alice())).allowed).toBe(true);
    // The API refuses changes it cannot make.
    const refused = await api(a.accessPort as number, 'GET', '/requests', await carol());
    expect(refused).toMatchObject({ status: 503, json: { error: 'ERR_ACCESS_STORE' } });

    await db.start();
    await until(() => canDelete(a), 15_000);
  }, 40_000);
});
