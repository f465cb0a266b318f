/**
 * The access store on PostgreSQL, for several replicas (`pg` driver).
 * Same tables and migrations as the embedded store; every mutation is one
 * transaction that locks the request row (`SELECT ... FOR UPDATE`), so
 * concurrent approvals through different replicas are idempotent. A
 * committed change sends `NOTIFY rolegate_access`; each replica LISTENs
 * on a dedicated connection and refreshes its grant cache at once (the
 * cache's periodic refresh is the fallback when a notification is lost).
 */
import pg from 'pg';
import { RolegateError } from '../errors.js';
import { grantIdFor, type AccessRequest, type Approval, type Grant } from './model.js';
import { MIGRATIONS } from './migrations.js';
import { grantFromRow, requestFromRow } from './rows.js';
import type { AccessStore, ApproveResult, RequestFilter } from './store.js';

/** The notification channel. */
export const CHANNEL = 'rolegate_access';

/** Longest one statement may run before the server cancels it (ms). */
export const STATEMENT_TIMEOUT_MS = 5000;

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
  const statementMs = options.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS;
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: 2000,
    // A statement stuck behind a lock or a slow server is cancelled by the server, and
    // the connection stays usable; without it one hung refresh held the grant cache and
    // a pooled connection until the database let go.
    statement_timeout: statementMs,
    // The same bound on the client's side, for a server that never answers at all.
    query_timeout: statementMs * 2,
  });
  // A pool error (the server went away) must not crash the process; calls fail and are retried.
  pool.on('error', () => undefined);
  await transaction(pool, migrate, false);
  const store = new PostgresStore(url, pool);
  await store.listen();
  return store;
}

/**
 * Runs `fn` in one transaction on a pooled connection; with `notify`, the
 * commit tells every replica (`NOTIFY`) that grants may have changed.
 */
async function transaction<T>(
  pool: pg.Pool,
  fn: (c: pg.PoolClient) => Promise<T>,
  notify = true,
): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    if (notify) await c.query(`NOTIFY ${CHANNEL}`);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
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

/** Inside `approve`'s transaction: the approval that completes `before` creates its grant. */
async function grantRequest(
  c: pg.PoolClient,
  before: AccessRequest,
  added: boolean,
  nowMs: number,
): Promise<ApproveResult> {
  const id = before.id;
  const grantId = grantIdFor(id);
  await c.query(
    `INSERT INTO access_grants (id, request_id, role, role_arn, issuer, subject, starts_at,
       expires_at, break_glass) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      grantId,
      id,
      before.role,
      before.roleArn,
      before.issuer,
      before.requester,
      nowMs,
      nowMs + before.durationSeconds * 1000,
      before.breakGlass ? 1 : 0,
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
  private listener: pg.Client | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(url: string, pool: pg.Pool) {
    this.url = url;
    this.pool = pool;
  }

  async createRequest(r: AccessRequest): Promise<void> {
    await transaction(this.pool, (c) =>
      c.query(
        `INSERT INTO access_requests (id, role, role_arn, issuer, requester, groups_json,
           duration_seconds, reason, ticket, break_glass, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11)`,
        [
          r.id,
          r.role,
          r.roleArn,
          r.issuer,
          r.requester,
          JSON.stringify(r.groups),
          r.durationSeconds,
          r.reason,
          r.ticket ?? null,
          r.breakGlass ? 1 : 0,
          r.createdAt,
        ],
      ),
    );
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
  ): Promise<ApproveResult> {
    return transaction(this.pool, async (c) => {
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
      return grantRequest(c, before, added, nowMs);
    });
  }

  async deny(id: string, by: string, comment: string, nowMs: number): Promise<AccessRequest> {
    return transaction(this.pool, async (c) => {
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
    return transaction(this.pool, async (c) => {
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

  async csrfKey(period: number, candidate: string): Promise<string> {
    // No NOTIFY: grants did not change.
    return transaction(
      this.pool,
      async (c) => {
        await c.query(
          'INSERT INTO access_csrf_keys (period, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (period) DO NOTHING',
          [period, candidate, Date.now()],
        );
        await c.query('DELETE FROM access_csrf_keys WHERE period < $1', [period - 1]);
        const { rows } = await c.query('SELECT secret FROM access_csrf_keys WHERE period = $1', [
          period,
        ]);
        return String(rows[0]?.['secret']);
      },
      false,
    );
  }

  async getCsrfKey(period: number): Promise<string | undefined> {
    const { rows } = await this.pool.query(
      'SELECT secret FROM access_csrf_keys WHERE period = $1',
      [period],
    );
    return rows[0] === undefined ? undefined : String(rows[0]['secret']);
  }

  onChange(l: () => void): void {
    this.listeners.push(l);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    await this.listener?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }

  /**
   * Opens the LISTEN connection (again after it broke, every second until
   * it is back); on (re)connecting, every listener refreshes once, since
   * notifications sent while it was away are lost.
   */
  async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 2000 });
    client.on('error', () => {
      this.listener = undefined;
      this.listenAgain();
    });
    client.on('notification', () => this.changed());
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.listener = client;
      // Anything missed while disconnected is picked up by one refresh now.
      this.changed();
    } catch {
      await client.end().catch(() => undefined);
      this.listenAgain();
    }
  }

  /** Schedules one {@link listen} a second from now, unless closed or already scheduled. */
  private listenAgain(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.listen();
    }, 1000);
    this.retry.unref();
  }

  /** Tells every listener that grants may have changed. */
  private changed(): void {
    for (const l of this.listeners) l();
  }
}
