/**
 * The store's newer columns on both drivers, the embedded sqlite and a real
 * PostgreSQL: requests stored together (all or none), a session policy and
 * a bundle carried from request to grant, the grants of one bundle ending
 * together, the statement of an approval by policy, use counts added up,
 * and the grants held in a window.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AccessRequest } from '../../../src/access/model.js';
import { openPostgresStore } from '../../../src/access/postgres-store.js';
import { openSqliteStore } from '../../../src/access/sqlite-store.js';
import type { AccessStore } from '../../../src/access/store.js';
import { PostgresPeer } from '../../harness/postgres.js';

const T0 = Date.parse('2030-01-01T10:00:00Z');
const db = new PostgresPeer();

const pending = (id: string, role: string, extra: Partial<AccessRequest> = {}): AccessRequest => ({
  id,
  role,
  roleArn: `arn:rolegate:iam:::role/${role}`,
  issuer: 'https://idp.example.com',
  requester: 'alice',
  groups: ['engineers'],
  durationSeconds: 1800,
  reason: 'INC-7',
  breakGlass: false,
  status: 'pending',
  createdAt: T0,
  approvals: [],
  ...extra,
});

beforeAll(async () => {
  await db.start();
}, 60_000);

afterAll(async () => {
  await db.stop();
});

let serial = 0;
describe.each([
  ['sqlite', () => Promise.resolve(openSqliteStore(':memory:'))],
  ['PostgreSQL', () => openPostgresStore(db.url())],
])('the %s store', (_name, open: () => Promise<AccessStore>) => {
  it('carries bundles, session policies and approvals by policy, ends a bundle together, counts uses', async () => {
    const store = await open();
    const p = `s${++serial}-`;
    try {
      const session = '{"Version":"2012-10-17","Statement":[]}';
      await store.createRequests([
        pending(`${p}a`, 'read', { bundleId: `${p}b`, sessionPolicy: session }),
        pending(`${p}b`, 'write', { bundleId: `${p}b`, sessionPolicy: session }),
      ]);
      const first = await store.approve(
        `${p}a`,
        'rolegate (policy)',
        'by policy',
        1,
        T0,
        'role x: statement Y',
      );
      expect(first.request).toMatchObject({
        approvedByPolicy: 'role x: statement Y',
        bundleId: `${p}b`,
      });
      expect(first.grant).toMatchObject({ sessionPolicy: session, bundleId: `${p}b`, uses: 0 });
      // Approved ten minutes later, it still ends with the first role of its bundle.
      const second = await store.approve(`${p}b`, 'carol', 'ok', 1, T0 + 600_000);
      expect(second.grant?.expiresAt).toBe(first.grant?.expiresAt);
      expect(second.request.approvedByPolicy).toBeUndefined();

      const id = first.grant?.id ?? '';
      await store.recordUses([{ grantId: id, count: 2, lastUsedAt: T0 + 5000 }]);
      await store.recordUses([{ grantId: id, count: 1, lastUsedAt: T0 + 1000 }]);
      expect(await store.getGrant(id)).toMatchObject({ uses: 3, lastUsedAt: T0 + 5000 });

      await store.revoke(second.grant?.id ?? '', 'carol', T0 + 700_000);
      const held = async (since: number, until: number) =>
        (await store.grantsBetween(since, until))
          .filter((g) => g.id.includes(p))
          .map((g) => g.role);
      expect(await held(T0, T0 + 650_000)).toEqual(['read', 'write']);
      // Revoked at +700 s: not held after it; the read grant is, until it ends at +1800 s.
      expect(await held(T0 + 750_000, T0 + 800_000)).toEqual(['read']);
      expect(await held(T0 + 1_900_000, T0 + 2_000_000)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('stores the requests of one call all or none', async () => {
    const store = await open();
    const p = `s${++serial}-`;
    try {
      await store.createRequest(pending(`${p}dup`, 'read'));
      await expect(
        store.createRequests([pending(`${p}new`, 'read'), pending(`${p}dup`, 'write')]),
      ).rejects.toThrow();
      expect(await store.getRequest(`${p}new`)).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
