/**
 * The PostgreSQL store on a real server, with a statement that cannot finish:
 * another session holds an exclusive lock on the grants table. The server
 * cancels the store's read after the statement timeout (SQLSTATE 57014,
 * query_canceled) instead of letting the grant refresh wait for as long as
 * the lock is held, and the same pool answers again once the lock is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { openPostgresStore } from '../../../src/access/postgres-store.js';
import type { AccessStore } from '../../../src/access/store.js';
import { PostgresPeer } from '../../harness/postgres.js';

const db = new PostgresPeer();
let store: AccessStore | undefined;

beforeAll(async () => {
  await db.start();
}, 60_000);

afterAll(async () => {
  await store?.close();
  await db.stop();
});

describe('the PostgreSQL store', () => {
  it('has a statement held behind a lock cancelled after statementTimeoutMs, and recovers', async () => {
    store = await openPostgresStore(db.url(), { statementTimeoutMs: 300 });
    expect(await store.activeGrants(Date.now())).toEqual([]);

    const locker = new pg.Client({ connectionString: db.url() });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE access_grants IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const err = await store.activeGrants(Date.now()).then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      );
      const tookMs = Date.now() - started;
      expect(err?.code).toBe('57014');
      expect(tookMs).toBeGreaterThanOrEqual(250);
      expect(tookMs).toBeLessThan(3000);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    expect(await store.activeGrants(Date.now())).toEqual([]);
  }, 30_000);
});
