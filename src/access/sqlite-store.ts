/**
 * The embedded access store: one file, Node's built-in `node:sqlite`
 * (SQLite compiled into Node 24). Chosen over better-sqlite3 and friends
 * because it needs no native add-on to build or download for each
 * platform, ships with the runtime we already pin, and SQLite's WAL with
 * `synchronous=FULL` gives atomic, durable transactions: a process killed
 * in the middle of an approval leaves the request pending or approved
 * with its grant, never half of it.
 */
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { RolegateError } from '../errors.js';
import { grantIdFor, type AccessRequest, type Approval, type Grant } from './model.js';
import type { AccessStore, ApproveResult, GrantUse, RequestFilter, SessionRow } from './store.js';
import { MIGRATIONS } from './migrations.js';
import {
  grantEnd,
  grantFromRow,
  REQUEST_INSERT_COLUMNS,
  requestFromRow,
  requestInsertValues,
  sessionFromRow,
} from './rows.js';

/** How long a statement waits for another process's lock on the file before failing (ms). */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating on first start) the store in `file` and applies pending
 * migrations in one transaction. `:memory:` is accepted for tests.
 */
export function openSqliteStore(file: string): AccessStore {
  const db = new DatabaseSync(file);
  // The busy timeout first: cluster workers open one new file at the same moment, and
  // the switch to WAL takes a lock; set after it, the second worker failed at once
  // with "database is locked" instead of waiting for the first.
  db.exec(`PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
  transaction(db, () => migrate(db));
  return new SqliteStore(db);
}

/** Runs `fn` in one write transaction (taken at once, so it waits for other writers up front). */
function transaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const out = fn();
    db.exec('COMMIT');
    return out;
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

/** Applies the migrations not yet recorded. */
function migrate(db: DatabaseSync): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)');
  const done = new Set(
    db
      .prepare('SELECT version FROM schema_migrations')
      .all()
      .map((r) => Number(r['version'])),
  );
  MIGRATIONS.forEach((sql, i) => {
    if (done.has(i + 1)) return;
    db.exec(sql);
    db.prepare('INSERT INTO schema_migrations (version) VALUES (?)').run(i + 1);
  });
}

/** The store over one open database file. */
class SqliteStore implements AccessStore {
  private readonly db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  async createRequests(requests: readonly AccessRequest[]): Promise<void> {
    transaction(this.db, () => {
      for (const r of requests) this.insertRequest(r);
    });
  }

  async createRequest(r: AccessRequest): Promise<void> {
    this.insertRequest(r);
  }

  private insertRequest(r: AccessRequest): void {
    this.db
      .prepare(
        `INSERT INTO access_requests (${REQUEST_INSERT_COLUMNS})
         VALUES (${requestInsertValues(r)
           .map(() => '?')
           .join(', ')})`,
      )
      .run(...requestInsertValues(r));
  }

  async getRequest(id: string): Promise<AccessRequest | undefined> {
    return this.selectRequest(id);
  }

  async listRequests(filter: RequestFilter = {}): Promise<AccessRequest[]> {
    const where: string[] = [];
    const args: SQLInputValue[] = [];
    if (filter.status !== undefined) {
      where.push('status = ?');
      args.push(filter.status);
    }
    if (filter.requester !== undefined) {
      where.push('issuer = ? AND requester = ?');
      args.push(filter.requester.issuer, filter.requester.subject);
    }
    const sql = `SELECT id FROM access_requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id`;
    return this.db
      .prepare(sql)
      .all(...args)
      .map((r) => this.requireRequest(String(r['id'])));
  }

  async approve(
    id: string,
    approver: string,
    comment: string,
    needed: number,
    nowMs: number,
    byPolicy?: string,
  ): Promise<ApproveResult> {
    return transaction(this.db, () => {
      const before = this.requireRequest(id);
      if (before.status === 'approved' && before.approvals.some((a) => a.approver === approver)) {
        const grant = before.grantId === undefined ? undefined : this.selectGrant(before.grantId);
        return { request: before, ...(grant ? { grant } : {}), added: false, granted: false };
      }
      if (before.status !== 'pending') throw new RolegateError('ERR_ACCESS_STATE');
      const added =
        this.db
          .prepare(
            'INSERT OR IGNORE INTO access_approvals (request_id, approver, comment, at) VALUES (?, ?, ?, ?)',
          )
          .run(id, approver, comment, nowMs).changes > 0;
      const count = Number(
        this.db
          .prepare('SELECT COUNT(*) AS n FROM access_approvals WHERE request_id = ?')
          .get(id)?.['n'],
      );
      if (count < needed) return { request: this.requireRequest(id), added, granted: false };
      if (byPolicy !== undefined) {
        this.db
          .prepare('UPDATE access_requests SET approved_by_policy = ? WHERE id = ?')
          .run(byPolicy, id);
      }
      return this.grantRequest(before, added, nowMs);
    });
  }

  async deny(id: string, by: string, comment: string, nowMs: number): Promise<AccessRequest> {
    return transaction(this.db, () => {
      const before = this.requireRequest(id);
      if (before.status !== 'pending') throw new RolegateError('ERR_ACCESS_STATE');
      this.db
        .prepare(
          "UPDATE access_requests SET status = 'denied', decided_at = ?, denied_by = ?, deny_comment = ? WHERE id = ?",
        )
        .run(nowMs, by, comment, id);
      return this.requireRequest(id);
    });
  }

  async getGrant(id: string): Promise<Grant | undefined> {
    return this.selectGrant(id);
  }

  async revoke(id: string, by: string, nowMs: number): Promise<Grant> {
    return transaction(this.db, () => {
      const before = this.selectGrant(id);
      if (before === undefined) throw new RolegateError('ERR_ACCESS_NOT_FOUND');
      if (before.revokedAt !== undefined) return before;
      this.db
        .prepare('UPDATE access_grants SET revoked_at = ?, revoked_by = ? WHERE id = ?')
        .run(nowMs, by, id);
      return this.selectGrant(id) as Grant;
    });
  }

  async activeGrants(nowMs: number): Promise<Grant[]> {
    return this.db
      .prepare(
        'SELECT * FROM access_grants WHERE revoked_at IS NULL AND expires_at > ? ORDER BY starts_at, id',
      )
      .all(nowMs)
      .map(grantFromRow);
  }

  async expiredBetween(sinceMs: number, nowMs: number): Promise<Grant[]> {
    return this.db
      .prepare(
        'SELECT * FROM access_grants WHERE revoked_at IS NULL AND expires_at > ? AND expires_at <= ? ORDER BY expires_at, id',
      )
      .all(sinceMs, nowMs)
      .map(grantFromRow);
  }

  async grantsBetween(sinceMs: number, nowMs: number): Promise<Grant[]> {
    return this.db
      .prepare(
        `SELECT * FROM access_grants WHERE starts_at <= ?
           AND MIN(expires_at, COALESCE(revoked_at, expires_at)) > ? ORDER BY starts_at, id`,
      )
      .all(nowMs, sinceMs)
      .map(grantFromRow);
  }

  async recordUses(uses: readonly GrantUse[]): Promise<void> {
    if (uses.length === 0) return;
    transaction(this.db, () => {
      const update = this.db.prepare(
        'UPDATE access_grants SET uses = uses + ?, last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE id = ?',
      );
      for (const u of uses) update.run(u.count, u.lastUsedAt, u.grantId);
    });
  }

  async csrfKey(period: number, candidate: string): Promise<string> {
    return transaction(this.db, () => {
      this.db
        .prepare(
          'INSERT INTO access_csrf_keys (period, secret, created_at) VALUES (?, ?, ?) ON CONFLICT (period) DO NOTHING',
        )
        .run(period, candidate, Date.now());
      this.db.prepare('DELETE FROM access_csrf_keys WHERE period < ?').run(period - 1);
      return String(
        this.db.prepare('SELECT secret FROM access_csrf_keys WHERE period = ?').get(period)?.[
          'secret'
        ],
      );
    });
  }

  async getCsrfKey(period: number): Promise<string | undefined> {
    const row = this.db.prepare('SELECT secret FROM access_csrf_keys WHERE period = ?').get(period);
    return row === undefined ? undefined : String(row['secret']);
  }

  async createSession(s: SessionRow, nowMs: number): Promise<void> {
    transaction(this.db, () => {
      this.db.prepare('DELETE FROM access_sessions WHERE expires_at <= ?').run(nowMs);
      this.db
        .prepare(
          'INSERT INTO access_sessions (id_hash, issuer, subject, sealed_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(s.idHash, s.issuer, s.subject, s.sealedToken, s.createdAt, s.expiresAt);
    });
  }

  async getSession(idHash: string, nowMs: number): Promise<SessionRow | undefined> {
    const row = this.db
      .prepare('SELECT * FROM access_sessions WHERE id_hash = ? AND expires_at > ?')
      .get(idHash, nowMs);
    return row === undefined ? undefined : sessionFromRow(row);
  }

  async deleteSession(idHash: string): Promise<void> {
    this.db.prepare('DELETE FROM access_sessions WHERE id_hash = ?').run(idHash);
  }

  async claimNonce(nonce: string, expiresAtMs: number, nowMs: number): Promise<boolean> {
    return transaction(this.db, () => {
      this.db.prepare('DELETE FROM access_nonces WHERE expires_at <= ?').run(nowMs);
      const inserted = this.db
        .prepare(
          'INSERT INTO access_nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING',
        )
        .run(nonce, expiresAtMs);
      return inserted.changes > 0;
    });
  }

  async close(): Promise<void> {
    this.db.close();
  }

  /** The approvals of request `id`, oldest first. */
  private approvalsOf(id: string): Approval[] {
    return this.db
      .prepare(
        'SELECT approver, comment, at FROM access_approvals WHERE request_id = ? ORDER BY at, approver',
      )
      .all(id)
      .map((r) => ({
        approver: String(r['approver']),
        comment: String(r['comment']),
        at: Number(r['at']),
      }));
  }

  private selectRequest(id: string): AccessRequest | undefined {
    const row = this.db.prepare('SELECT * FROM access_requests WHERE id = ?').get(id);
    return row === undefined ? undefined : requestFromRow(row, this.approvalsOf(id));
  }

  /** {@link selectRequest}, `ERR_ACCESS_NOT_FOUND` when there is none. */
  private requireRequest(id: string): AccessRequest {
    const r = this.selectRequest(id);
    if (r === undefined) throw new RolegateError('ERR_ACCESS_NOT_FOUND');
    return r;
  }

  private selectGrant(id: string): Grant | undefined {
    const row = this.db.prepare('SELECT * FROM access_grants WHERE id = ?').get(id);
    return row === undefined ? undefined : grantFromRow(row);
  }

  /** Inside `approve`'s transaction: the approval that completes `before` creates its grant. */
  private grantRequest(before: AccessRequest, added: boolean, nowMs: number): ApproveResult {
    const id = before.id;
    const grantId = grantIdFor(id);
    const bundleEnd =
      before.bundleId === undefined
        ? undefined
        : this.db
            .prepare('SELECT MIN(expires_at) AS e FROM access_grants WHERE bundle_id = ?')
            .get(before.bundleId)?.['e'];
    this.db
      .prepare(
        `INSERT INTO access_grants (id, request_id, role, role_arn, issuer, subject, starts_at,
           expires_at, break_glass, session_policy, bundle_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
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
      );
    this.db
      .prepare(
        "UPDATE access_requests SET status = 'approved', decided_at = ?, grant_id = ? WHERE id = ?",
      )
      .run(nowMs, grantId, id);
    const grant = this.selectGrant(grantId);
    return { request: this.requireRequest(id), ...(grant ? { grant } : {}), added, granted: true };
  }
}
