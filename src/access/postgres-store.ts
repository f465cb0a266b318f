/**
 * The access store on PostgreSQL, for several replicas (`pg` driver).
 * Same tables and migrations as the embedded store; every mutation is one
 * transaction that locks the request row (`SELECT ... FOR UPDATE`), so
 * concurrent approvals through different replicas are idempotent. A
 * committed change sends `NOTIFY rolegate_access`; each replica LISTENs
 * on a dedicated connection and refreshes its grant cache at once (the
 * cache's periodic refresh is the fallback when a notification is lost).
 */
import type pg from 'pg';
import { RolegateError } from '../errors.js';
import {
  listenChannel,
  openPool,
  transaction,
  type ChannelListener,
} from '../postgres/connection.js';
import { grantIdFor, type AccessRequest, type Approval, type Grant } from './model.js';
import { MIGRATIONS } from './migrations.js';
import {
  grantEnd,
  grantFromRow,
  REQUEST_INSERT_COLUMNS,
  requestFromRow,
  requestInsertValues,
  sessionFromRow,
} from './rows.js';
import type { AccessStore, ApproveResult, GrantUse, RequestFilter, SessionRow } from './store.js';

/** The notification channel. */
export const CHANNEL = 'rolegate_access';

/** Options of {@link openPostgresStore}. */
export interface PostgresStoreOptions {
  /** Server-side `statement_timeout` per statement, ms; the client gives up at twice that. Default 5000. */
  readonly statementTimeoutMs?: number;
}

/** Lock id that serialises migrations across replicas starting together. */
const MIGRATION_LOCK = 7_313_001;

type Q = pg.Pool | pg.PoolClient;

/**
 * Connects to `url`, applies pending migrations (under an advisory lock)
 * and starts listening for other replicas' changes.
 */
export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<AccessStore> {
  const pool = openPool(url, options);
  await transaction(pool, migrate);
  const store = new PostgresStore(url, pool);
  await store.listen();
  return store;
}

/** Runs `fn` in one transaction; its commit tells every replica (`NOTIFY`) that grants may have changed. */
function changing<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  return transaction(pool, fn, { channel: CHANNEL });
}

/** Applies the migrations not yet recorded, holding the migration lock until commit. */
async function migrate(c: pg.PoolClient): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
  await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)');
  const done = new Set(
    (await c.query('SELECT version FROM schema_migrations')).rows.map((r) => Number(r['version'])),
  );
  for (const [i, sql] of MIGRATIONS.entries()) {
    if (done.has(i + 1)) continue;
    await c.query(sql);
    await c.query('INSERT INTO schema_migrations (version) VALUES ($1)', [i + 1]);
  }
}

/** The approvals of request `id`, oldest first. */
async function approvalsOf(q: Q, id: string): Promise<Approval[]> {
  const { rows } = await q.query(
    'SELECT approver, comment, at FROM access_approvals WHERE request_id = $1 ORDER BY at, approver',
    [id],
  );
  return rows.map((r) => ({
    approver: String(r['approver']),
    comment: String(r['comment']),
    at: Number(r['at']),
  }));
}

/** The request `id` with its approvals; with `lock`, its row locked until the transaction ends. */
async function selectRequest(q: Q, id: string, lock = false): Promise<AccessRequest | undefined> {
  const { rows } = await q.query(
    `SELECT * FROM access_requests WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0] === undefined ? undefined : requestFromRow(rows[0], await approvalsOf(q, id));
}

/** {@link selectRequest}, `ERR_ACCESS_NOT_FOUND` when there is none. */
async function requireRequest(q: Q, id: string, lock = false): Promise<AccessRequest> {
  const r = await selectRequest(q, id, lock);
  if (r === undefined) throw new RolegateError('ERR_ACCESS_NOT_FOUND');
  return r;
}

/** The grant `id`; with `lock`, its row locked until the transaction ends. */
async function selectGrant(q: Q, id: string, lock = false): Promise<Grant | undefined> {
  const { rows } = await q.query(
    `SELECT * FROM access_grants WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0] === undefined ? undefined : grantFromRow(rows[0]);
}

/** Inserts one new pending request (inside the caller's transaction). */
async function insertRequest(c: pg.PoolClient, r: AccessRequest): Promise<void> {
  await c.query(
    `INSERT INTO access_requests (${REQUEST_INSERT_COLUMNS})
     VALUES (${requestInsertValues(r)
       .map((_, i) => `$${i + 1}`)
       .join(', ')})`,
    requestInsertValues(r),
  );
}

/** Inside `approve`'s transaction: the approval that completes `before` creates its grant. */
async function grantRequest(
  c: pg.PoolClient,
  before: AccessRequest,
  added: boolean,
  nowMs: number,
): Promise<ApproveResult> {
  const id = before.id;
  const grantId = grantIdFor(id);
  const bundleEnd =
    before.bundleId === undefined
      ? undefined
      : (
          await c.query('SELECT MIN(expires_at) AS e FROM access_grants WHERE bundle_id = $1', [
            before.bundleId,
          ])
        ).rows[0]?.['e'];
  await c.query(
    `INSERT INTO access_grants (id, request_id, role, role_arn, issuer, subject, starts_at,
       expires_at, break_glass, session_policy, bundle_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      grantId,
      id,
      before.role,
      before.roleArn,
      before.issuer,
      before.requester,
      nowMs,
      grantEnd(before, nowMs, bundleEnd),
      before.breakGlass ? 1 : 0,
      before.sessionPolicy ?? null,
      before.bundleId ?? null,
    ],
  );
  await c.query(
    "UPDATE access_requests SET status = 'approved', decided_at = $1, grant_id = $2 WHERE id = $3",
    [nowMs, grantId, id],
  );
  const grant = await selectGrant(c, grantId);
  return {
    request: await requireRequest(c, id),
    ...(grant ? { grant } : {}),
    added,
    granted: true,
  };
}

/** The store over a pool, with its LISTEN connection for other replicas' changes. */
class PostgresStore implements AccessStore {
  private readonly url: string;
  private readonly pool: pg.Pool;
  private readonly listeners: (() => void)[] = [];
  private listener: ChannelListener | undefined;

  constructor(url: string, pool: pg.Pool) {
    this.url = url;
    this.pool = pool;
  }

  async createRequest(r: AccessRequest): Promise<void> {
    await this.createRequests([r]);
  }

  async createRequests(requests: readonly AccessRequest[]): Promise<void> {
    await changing(this.pool, async (c) => {
      for (const r of requests) await insertRequest(c, r);
    });
  }

  getRequest(id: string): Promise<AccessRequest | undefined> {
    return selectRequest(this.pool, id);
  }

  async listRequests(filter: RequestFilter = {}): Promise<AccessRequest[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.status !== undefined) {
      args.push(filter.status);
      where.push(`status = $${args.length}`);
    }
    if (filter.requester !== undefined) {
      args.push(filter.requester.issuer, filter.requester.subject);
      where.push(`issuer = $${args.length - 1} AND requester = $${args.length}`);
    }
    const { rows } = await this.pool.query(
      `SELECT * FROM access_requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id`,
      args,
    );
    const out: AccessRequest[] = [];
    for (const row of rows)
      out.push(requestFromRow(row, await approvalsOf(this.pool, String(row['id']))));
    return out;
  }

  async approve(
    id: string,
    approver: string,
    comment: string,
    needed: number,
    nowMs: number,
    byPolicy?: string,
  ): Promise<ApproveResult> {
    return changing(this.pool, async (c) => {
      const before = await requireRequest(c, id, true);
      if (before.status === 'approved' && before.approvals.some((a) => a.approver === approver)) {
        const grant =
          before.grantId === undefined ? undefined : await selectGrant(c, before.grantId);
        return { request: before, ...(grant ? { grant } : {}), added: false, granted: false };
      }
      if (before.status !== 'pending') throw new RolegateError('ERR_ACCESS_STATE');
      const added =
        ((
          await c.query(
            'INSERT INTO access_approvals (request_id, approver, comment, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
            [id, approver, comment, nowMs],
          )
        ).rowCount ?? 0) > 0;
      const n = Number(
        (await c.query('SELECT COUNT(*) AS n FROM access_approvals WHERE request_id = $1', [id]))
          .rows[0]?.['n'],
      );
      if (n < needed) return { request: await requireRequest(c, id), added, granted: false };
      if (byPolicy !== undefined) {
        await c.query('UPDATE access_requests SET approved_by_policy = $1 WHERE id = $2', [
          byPolicy,
          id,
        ]);
      }
      return grantRequest(c, before, added, nowMs);
    });
  }

  async deny(id: string, by: string, comment: string, nowMs: number): Promise<AccessRequest> {
    return changing(this.pool, async (c) => {
      const before = await requireRequest(c, id, true);
      if (before.status !== 'pending') throw new RolegateError('ERR_ACCESS_STATE');
      await c.query(
        "UPDATE access_requests SET status = 'denied', decided_at = $1, denied_by = $2, deny_comment = $3 WHERE id = $4",
        [nowMs, by, comment, id],
      );
      return requireRequest(c, id);
    });
  }

  getGrant(id: string): Promise<Grant | undefined> {
    return selectGrant(this.pool, id);
  }

  async revoke(id: string, by: string, nowMs: number): Promise<Grant> {
    return changing(this.pool, async (c) => {
      const before = await selectGrant(c, id, true);
      if (before === undefined) throw new RolegateError('ERR_ACCESS_NOT_FOUND');
      if (before.revokedAt !== undefined) return before;
      await c.query('UPDATE access_grants SET revoked_at = $1, revoked_by = $2 WHERE id = $3', [
        nowMs,
        by,
        id,
      ]);
      return (await selectGrant(c, id)) as Grant;
    });
  }

  async activeGrants(nowMs: number): Promise<Grant[]> {
    const { rows } = await this.pool.query(
      'SELECT * FROM access_grants WHERE revoked_at IS NULL AND expires_at > $1 ORDER BY starts_at, id',
      [nowMs],
    );
    return rows.map(grantFromRow);
  }

  async expiredBetween(sinceMs: number, nowMs: number): Promise<Grant[]> {
    const { rows } = await this.pool.query(
      'SELECT * FROM access_grants WHERE revoked_at IS NULL AND expires_at > $1 AND expires_at <= $2 ORDER BY expires_at, id',
      [sinceMs, nowMs],
    );
    return rows.map(grantFromRow);
  }

  async grantsBetween(sinceMs: number, nowMs: number): Promise<Grant[]> {
    const { rows } = await this.pool.query(
      `SELECT * FROM access_grants WHERE starts_at <= $1
         AND LEAST(expires_at, COALESCE(revoked_at, expires_at)) > $2 ORDER BY starts_at, id`,
      [nowMs, sinceMs],
    );
    return rows.map(grantFromRow);
  }

  async recordUses(uses: readonly GrantUse[]): Promise<void> {
    if (uses.length === 0) return;
    // No NOTIFY: grants did not change, only their counts.
    await transaction(this.pool, async (c) => {
      for (const u of uses) {
        await c.query(
          'UPDATE access_grants SET uses = uses + $1, last_used_at = GREATEST(COALESCE(last_used_at, 0), $2) WHERE id = $3',
          [u.count, u.lastUsedAt, u.grantId],
        );
      }
    });
  }

  async csrfKey(period: number, candidate: string): Promise<string> {
    // No NOTIFY: grants did not change.
    return transaction(this.pool, async (c) => {
      await c.query(
        'INSERT INTO access_csrf_keys (period, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (period) DO NOTHING',
        [period, candidate, Date.now()],
      );
      await c.query('DELETE FROM access_csrf_keys WHERE period < $1', [period - 1]);
      const { rows } = await c.query('SELECT secret FROM access_csrf_keys WHERE period = $1', [
        period,
      ]);
      return String(rows[0]?.['secret']);
    });
  }

  async getCsrfKey(period: number): Promise<string | undefined> {
    const { rows } = await this.pool.query(
      'SELECT secret FROM access_csrf_keys WHERE period = $1',
      [period],
    );
    return rows[0] === undefined ? undefined : String(rows[0]['secret']);
  }

  async createSession(s: SessionRow, nowMs: number): Promise<void> {
    // No NOTIFY: grants did not change.
    await transaction(this.pool, async (c) => {
      await c.query('DELETE FROM access_sessions WHERE expires_at <= $1', [nowMs]);
      await c.query(
        'INSERT INTO access_sessions (id_hash, issuer, subject, sealed_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
        [s.idHash, s.issuer, s.subject, s.sealedToken, s.createdAt, s.expiresAt],
      );
    });
  }

  async getSession(idHash: string, nowMs: number): Promise<SessionRow | undefined> {
    const { rows } = await this.pool.query(
      'SELECT * FROM access_sessions WHERE id_hash = $1 AND expires_at > $2',
      [idHash, nowMs],
    );
    return rows[0] === undefined ? undefined : sessionFromRow(rows[0]);
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.pool.query('DELETE FROM access_sessions WHERE id_hash = $1', [idHash]);
  }

  async claimNonce(nonce: string, expiresAtMs: number, nowMs: number): Promise<boolean> {
    // No NOTIFY: grants did not change.
    return transaction(this.pool, async (c) => {
      await c.query('DELETE FROM access_nonces WHERE expires_at <= $1', [nowMs]);
      const inserted = await c.query(
        'INSERT INTO access_nonces (nonce, expires_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING',
        [nonce, expiresAtMs],
      );
      return (inserted.rowCount ?? 0) > 0;
    });
  }

  onChange(l: () => void): void {
    this.listeners.push(l);
  }

  async close(): Promise<void> {
    await this.listener?.close();
    await this.pool.end().catch(() => undefined);
  }

  /**
   * Opens the LISTEN connection (again after it broke, every second until
   * it is back); on (re)connecting, every listener refreshes once, since
   * notifications sent while it was away are lost.
   */
  async listen(): Promise<void> {
    this.listener = await listenChannel(this.url, CHANNEL, {
      onNotification: () => this.changed(),
      onConnected: () => this.changed(),
    });
  }

  /** Tells every listener that grants may have changed. */
  private changed(): void {
    for (const l of this.listeners) l();
  }
}
