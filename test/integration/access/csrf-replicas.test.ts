/**
 * The approvals page's CSRF key is shared through the store: two rolegate
 * replicas on one real PostgreSQL (as cluster workers share one store) and
 * one frozen clock. A form loaded from one replica posts to the other; the
 * key rotates every `access.csrfRotateSeconds`, a form from the previous
 * period still posts, one from two rotations ago is refused
 * (`ERR_ACCESS_CSRF`, with the periods in the audit record), and a token
 * never works for another caller.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Rolegate } from '../../../src/main.js';
import { JwksIssuer } from '../../harness/jwks.js';
import { PostgresPeer } from '../../harness/postgres.js';
import { accessScenario, api } from '../../support/access.js';
import { captureLogger } from '../../support/log-capture.js';
import { startTestRolegate } from '../../support/rolegate.js';

const idp = new JwksIssuer({ audience: 'orders-api' });
const db = new PostgresPeer();
const URL_ENV = 'ROLEGATE_TEST_CSRF_PG_URL';
const ROTATE_SECONDS = 3600;
const T0 = Date.now();
let clock = T0;
const audit = captureLogger();
let a: Rolegate;
let b: Rolegate;

const mint = (sub: string, group: string) =>
  idp.mint({ groups: [group] }, { subject: sub, expiresIn: '6h', issuedAt: Math.floor(T0 / 1000) });
const alice = () => mint('alice', 'engineers');
const carol = () => mint('carol', 'admins');

/** The CSRF token of the approvals page `replica` renders for `token`'s caller. */
async function formToken(replica: Rolegate, token: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${replica.accessPort as number}/approvals`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(200);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await res.text())?.[1];
  if (csrf === undefined) throw new Error('no csrf field on the page');
  return csrf;
}

/** Posts the approve form of request `id` to `replica`. */
async function approveForm(replica: Rolegate, token: string, id: string, csrf: string) {
  const res = await fetch(
    `http://127.0.0.1:${replica.accessPort as number}/approvals/requests/${id}/approve`,
    {
      method: 'POST',
      redirect: 'manual',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ csrf, comment: 'ok' }).toString(),
    },
  );
  const text = await res.text();
  return { status: res.status, error: /<p id="error">([^<]+)<\/p>/.exec(text)?.[1] };
}

async function newRequest(): Promise<string> {
  const { json } = await api(a.accessPort as number, 'POST', '/requests', await alice(), {
    role: 'staging-admin',
    durationSeconds: 600,
    reason: 'csrf across replicas',
  });
  return json['id'] as string;
}

const lastRefusal = () =>
  audit
    .records()
    .filter((r) => r['msg'] === 'access_refused')
    .map((r) => r['access'] as Record<string, unknown>)
    .at(-1);

beforeAll(async () => {
  await Promise.all([idp.start(), db.start()]);
  process.env[URL_ENV] = db.url();
  const config = accessScenario(
    idp.issuer,
    { kind: 'postgres', urlEnv: URL_ENV },
    { csrfRotateSeconds: ROTATE_SECONDS },
  );
  [a, b] = (await Promise.all(
    [0, 1].map(
      async () =>
        (
          await startTestRolegate(
            config,
            { ops: captureLogger('fatal'), audit },
            { accessPort: 0, now: () => clock },
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

describe('CSRF tokens across replicas on one store', () => {
  it('a form loaded from one replica posts to the other', async () => {
    const id = await newRequest();
    const csrf = await formToken(a, await carol());
    // Both replicas render the same token: one key, in the store.
    expect(await formToken(b, await carol())).toBe(csrf);
    expect(await approveForm(b, await carol(), id, csrf)).toEqual({
      status: 303,
      error: undefined,
    });
    const shown = await api(b.accessPort as number, 'GET', `/requests/${id}`, await alice());
    expect(shown.json).toMatchObject({ status: 'approved', approvals: [{ approver: 'carol' }] });
  });

  it('is bound to the caller', async () => {
    const id = await newRequest();
    const forAlice = await formToken(a, await alice());
    expect(await approveForm(b, await carol(), id, forAlice)).toEqual({
      status: 403,
      error: 'ERR_ACCESS_CSRF',
    });
    expect(lastRefusal()).toMatchObject({
      reason: 'ERR_ACCESS_CSRF',
      actor: 'carol',
      actual: expect.stringContaining('whose MAC does not match this caller'),
    });
  });

  it('rotates: accepted for its period and the next, refused two rotations later', async () => {
    clock = T0;
    const old = await formToken(a, await carol());
    const first = await newRequest();
    clock = T0 + ROTATE_SECONDS * 1000;
    const rotated = await formToken(b, await carol());
    expect(rotated).not.toBe(old);
    expect((await approveForm(b, await carol(), first, old)).status).toBe(303);

    const second = await newRequest();
    clock = T0 + 2 * ROTATE_SECONDS * 1000;
    const period = Math.floor(T0 / (ROTATE_SECONDS * 1000));
    expect(await approveForm(a, await carol(), second, old)).toEqual({
      status: 403,
      error: 'ERR_ACCESS_CSRF',
    });
    expect(lastRefusal()).toMatchObject({
      reason: 'ERR_ACCESS_CSRF',
      expected: `a v1 token minted for carol in key period ${period + 1} or ${period + 2} (3600 s each)`,
      actual: `a token of key period ${period}, 2 rotations ago`,
    });
    // The token of the previous period still works; a fresh one works everywhere.
    expect((await approveForm(a, await carol(), second, rotated)).status).toBe(303);
  });
});
