/**
 * Grants at decision time, on the real embedded store (in memory): a grant
 * makes its role assumable as if its trust admitted the caller, only for
 * that caller, only until its end (checked against the decision's clock,
 * no cleanup), and not once revoked; a role the trust policy admits anyway
 * carries no grant; when the store cannot be read, known grants last for
 * the staleness window (on the monotonic clock) and then none is honoured.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import { createGrantCache, type GrantCache } from '../../../src/access/grants.js';
import type { AccessRequest } from '../../../src/access/model.js';
import { openSqliteStore } from '../../../src/access/sqlite-store.js';
import type { AccessStore } from '../../../src/access/store.js';
import { authorize, type Progress } from '../../../src/check/check.js';
import { compileConfig } from '../../../src/config/compile.js';
import { validateConfig } from '../../../src/config/schema.js';
import type { Principal } from '../../../src/identity/principal.js';
import { normalizeCheckRequest } from '../../../src/request/normalize.js';

const ISSUER = 'https://idp.example.com';
const T0 = Date.parse('2026-06-01T12:00:00Z');
const trust = (sub: string) => ({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Federated: ISSUER },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: { StringEquals: { 'jwt:sub': sub } },
    },
  ],
});
const allow = (action: string) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }],
});

const { config } = validateConfig({
  issuers: [{ issuer: ISSUER, audiences: ['api'] }],
  roles: [{ name: 'admin', trustPolicy: trust('root'), policies: { all: allow('orders:*') } }],
  routes: [
    {
      method: 'DELETE',
      path: '/orders/{id}',
      action: 'orders:DeleteOrder',
      resource: 'arn:rolegate:orders:::order/{id}',
    },
  ],
});
const runtime = compileConfig(config as NonNullable<typeof config>, (ref) => ({
  ref,
  document: ref.document,
  file: 'test.yaml',
  basePath: ref.path,
}));

const principal = (sub: string): Principal => ({
  kind: 'jwt',
  issuer: ISSUER,
  subject: sub,
  claims: { iss: ISSUER, sub, aud: 'api' },
  federated: [ISSUER],
});
const request = normalizeCheckRequest({
  attributes: {
    request: { http: { method: 'DELETE', path: '/orders/1', host: 'orders.test', headers: {} } },
  },
} as never);

function decide(sub: string, nowMs: number, cache: GrantCache) {
  const p: Progress = { rolesConsidered: [], determining: [] };
  const reason = authorize(request, principal(sub), runtime, nowMs, p, cache);
  return { reason, role: p.role?.name, grant: p.grant?.id };
}

const pending = (id: string, requester: string, durationSeconds: number): AccessRequest => ({
  id,
  role: 'admin',
  roleArn: 'arn:rolegate:iam:::role/admin',
  issuer: ISSUER,
  requester,
  groups: [],
  durationSeconds,
  reason: 'test',
  breakGlass: false,
  status: 'pending',
  createdAt: T0,
  approvals: [],
});

let store: AccessStore;
let now: number;
let mono: number;
let cache: GrantCache;

beforeEach(() => {
  store = openSqliteStore(':memory:');
  now = T0;
  mono = 0;
  cache = createGrantCache({
    store,
    now: () => now,
    refreshMs: 500,
    stalenessMs: 10_000,
    monotonic: () => mono,
  });
});

describe('grants in the decision', () => {
  it('admit their holder as if trusted, until the end time, without any cleanup', async () => {
    await store.createRequest(pending('r1', 'alice', 600));
    await store.approve('r1', 'carol', '', 1, T0);
    await cache.refresh();
    expect(decide('alice', T0, cache)).toEqual({ reason: 'OK', role: 'admin', grant: 'grant-r1' });
    expect(decide('bob', T0, cache)).toMatchObject({ reason: 'ERR_NO_ROLE' });
    expect(decide('alice', T0 + 599_999, cache)).toMatchObject({ reason: 'OK', grant: 'grant-r1' });
    // Same cache contents, later clock: the end time alone ends it.
    expect(decide('alice', T0 + 600_000, cache)).toMatchObject({ reason: 'ERR_NO_ROLE' });
  });

  it('carry no grant for a caller the trust policy admits anyway', async () => {
    await store.createRequest(pending('r2', 'root', 600));
    await store.approve('r2', 'carol', '', 1, T0);
    await cache.refresh();
    expect(decide('root', T0, cache)).toEqual({ reason: 'OK', role: 'admin', grant: undefined });
  });

  it('stop at revocation once the cache refreshes', async () => {
    await store.createRequest(pending('r3', 'alice', 600));
    await store.approve('r3', 'carol', '', 1, T0);
    await cache.refresh();
    await store.revoke('grant-r3', 'carol', T0 + 1000);
    expect(decide('alice', T0 + 1000, cache)).toMatchObject({ reason: 'OK' });
    await cache.refresh();
    expect(decide('alice', T0 + 1000, cache)).toMatchObject({ reason: 'ERR_NO_ROLE' });
  });

  it('last the staleness window when the store fails, then none is honoured', async () => {
    await store.createRequest(pending('r4', 'alice', 3600));
    await store.approve('r4', 'carol', '', 1, T0);
    expect(await cache.refresh()).toBe(true);
    await store.close();
    mono = 5_000;
    expect(await cache.refresh()).toBe(false);
    expect(decide('alice', T0, cache)).toMatchObject({ reason: 'OK' });
    mono = 10_000;
    expect(decide('alice', T0, cache)).toMatchObject({ reason: 'OK' });
    mono = 10_001;
    expect(decide('alice', T0, cache)).toMatchObject({ reason: 'ERR_NO_ROLE' });
    // A wall-clock jump does not refresh anything.
    now = T0 - 3_600_000;
    expect(decide('alice', T0, cache)).toMatchObject({ reason: 'ERR_NO_ROLE' });
  });

  it('give up on a store that hangs, drop its late answer, and let the next refresh through', async () => {
    await store.createRequest(pending('r6', 'alice', 3600));
    await store.approve('r6', 'carol', '', 1, T0);
    let hang: ((grants: Awaited<ReturnType<AccessStore['activeGrants']>>) => void) | undefined;
    // The store we own, wrapped: its first read never answers until told to.
    const hanging: AccessStore = {
      ...store,
      activeGrants: (at) =>
        hang === undefined
          ? new Promise((resolve) => {
              hang = resolve;
            })
          : store.activeGrants(at),
    };
    const bounded = createGrantCache({
      store: hanging,
      now: () => now,
      refreshMs: 500,
      stalenessMs: 10_000,
      loadTimeoutMs: 50,
      monotonic: () => mono,
    });
    expect(await bounded.refresh()).toBe(false);
    expect(decide('alice', T0, bounded)).toMatchObject({ reason: 'ERR_NO_ROLE' });
    // The next refresh is not stuck behind the hung one.
    expect(await bounded.refresh()).toBe(true);
    expect(decide('alice', T0, bounded)).toMatchObject({ reason: 'OK', grant: 'grant-r6' });
    // The hung read answers late with nothing: it must not replace newer grants.
    hang?.([]);
    await new Promise((r) => setImmediate(r));
    expect(decide('alice', T0, bounded)).toMatchObject({ reason: 'OK', grant: 'grant-r6' });
  });

  it('are never honoured before the first successful refresh', async () => {
    await store.createRequest(pending('r5', 'alice', 600));
    await store.approve('r5', 'carol', '', 1, T0);
    expect(decide('alice', T0, cache)).toMatchObject({ reason: 'ERR_NO_ROLE' });
  });
});

describe('use of grants (reviews)', () => {
  it('counts uses without touching the store until a flush, then adds them, keeping the latest time', async () => {
    await store.createRequest(pending('r1', 'alice', 3600));
    const { grant } = await store.approve('r1', 'carol', 'ok', 1, T0);
    if (grant === undefined) throw new Error('no grant');
    cache.used?.(grant, T0 + 5000);
    cache.used?.(grant, T0 + 2000);
    expect((await store.getGrant(grant.id))?.uses).toBe(0);
    await cache.flushUses();
    expect(await store.getGrant(grant.id)).toMatchObject({ uses: 2, lastUsedAt: T0 + 5000 });
    cache.used?.(grant, T0 + 9000);
    await cache.flushUses();
    expect(await store.getGrant(grant.id)).toMatchObject({ uses: 3, lastUsedAt: T0 + 9000 });
  });

  it('keeps the counts for the next flush when the store fails', async () => {
    await store.createRequest(pending('r1', 'alice', 3600));
    const { grant } = await store.approve('r1', 'carol', 'ok', 1, T0);
    if (grant === undefined) throw new Error('no grant');
    let down = true;
    const flaky = new Proxy(store, {
      get(target, key) {
        if (key === 'recordUses' && down) return () => Promise.reject(new Error('down'));
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    const counting = createGrantCache({
      store: flaky,
      now: () => now,
      refreshMs: 500,
      stalenessMs: 10_000,
    });
    counting.used?.(grant, T0 + 1000);
    await counting.flushUses();
    expect((await store.getGrant(grant.id))?.uses).toBe(0);
    down = false;
    counting.used?.(grant, T0 + 2000);
    await counting.flushUses();
    expect(await store.getGrant(grant.id)).toMatchObject({ uses: 2, lastUsedAt: T0 + 2000 });
  });
});

describe('the embedded store', () => {
  it('counts each approver once and makes one grant, with the request approved in the same step', async () => {
    await store.createRequest(pending('r6', 'alice', 600));
    const first = await store.approve('r6', 'carol', 'a', 2, T0);
    const again = await store.approve('r6', 'carol', 'b', 2, T0 + 1);
    expect([first.added, first.granted, again.added, again.granted]).toEqual([
      true,
      false,
      false,
      false,
    ]);
    const second = await store.approve('r6', 'dave', '', 2, T0 + 2);
    expect(second).toMatchObject({
      granted: true,
      request: { status: 'approved', grantId: 'grant-r6' },
    });
    const late = await store.approve('r6', 'dave', '', 2, T0 + 3);
    expect(late).toMatchObject({
      granted: false,
      grant: { id: 'grant-r6', expiresAt: T0 + 2 + 600_000 },
    });
    await expect(store.approve('r6', 'erin', '', 2, T0 + 4)).rejects.toMatchObject({
      code: 'ERR_ACCESS_STATE',
    });
    await expect(store.deny('r6', 'erin', '', T0 + 4)).rejects.toMatchObject({
      code: 'ERR_ACCESS_STATE',
    });
    expect((await store.activeGrants(T0)).map((g) => g.id)).toEqual(['grant-r6']);
  });
});
