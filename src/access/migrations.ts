/**
 * The store's schema, as numbered migrations applied in order on start
 * (`schema_migrations` records which ran). Never edit a released entry:
 * append a new one. The SQL is the common subset of SQLite and PostgreSQL
 * (times are epoch milliseconds in BIGINT columns).
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE access_requests (
     id TEXT PRIMARY KEY,
     role TEXT NOT NULL,
     role_arn TEXT NOT NULL,
     issuer TEXT NOT NULL,
     requester TEXT NOT NULL,
     groups_json TEXT NOT NULL,
     duration_seconds INTEGER NOT NULL,
     reason TEXT NOT NULL,
     ticket TEXT,
     break_glass INTEGER NOT NULL,
     status TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     decided_at BIGINT,
     denied_by TEXT,
     deny_comment TEXT,
     grant_id TEXT
   );
   CREATE TABLE access_approvals (
     request_id TEXT NOT NULL REFERENCES access_requests (id),
     approver TEXT NOT NULL,
     comment TEXT NOT NULL,
     at BIGINT NOT NULL,
     PRIMARY KEY (request_id, approver)
   );
   CREATE TABLE access_grants (
     id TEXT PRIMARY KEY,
     request_id TEXT NOT NULL UNIQUE REFERENCES access_requests (id),
     role TEXT NOT NULL,
     role_arn TEXT NOT NULL,
     issuer TEXT NOT NULL,
     subject TEXT NOT NULL,
     starts_at BIGINT NOT NULL,
     expires_at BIGINT NOT NULL,
     break_glass INTEGER NOT NULL,
     revoked_at BIGINT,
     revoked_by TEXT
   );`,
  // The approvals page's CSRF keys, one per rotation period, shared by every worker and replica.
  `CREATE TABLE access_csrf_keys (
     period BIGINT PRIMARY KEY,
     secret TEXT NOT NULL,
     created_at BIGINT NOT NULL
   );`,
  // Grants narrowed to the task (a session policy), several roles in one request (a
  // bundle whose grants end together), approval by policy (the statement that approved),
  // and use of each grant (reviews, revoking what nobody uses).
  `ALTER TABLE access_requests ADD COLUMN session_policy TEXT;
   ALTER TABLE access_requests ADD COLUMN bundle_id TEXT;
   ALTER TABLE access_requests ADD COLUMN approved_by_policy TEXT;
   ALTER TABLE access_grants ADD COLUMN session_policy TEXT;
   ALTER TABLE access_grants ADD COLUMN bundle_id TEXT;
   ALTER TABLE access_grants ADD COLUMN uses BIGINT NOT NULL DEFAULT 0;
   ALTER TABLE access_grants ADD COLUMN last_used_at BIGINT;`,
  // One-time keys with an expiry: Slack callbacks already taken (replay refusal on every
  // replica). Sign-in sessions of the approvals page: the row is found by a hash of the
  // session id, and the token it carries is sealed under a key derived from that id, so
  // the store alone yields neither a usable cookie nor a usable token.
  `CREATE TABLE access_nonces (
     nonce TEXT PRIMARY KEY,
     expires_at BIGINT NOT NULL
   );
   CREATE TABLE access_sessions (
     id_hash TEXT PRIMARY KEY,
     issuer TEXT NOT NULL,
     subject TEXT NOT NULL,
     sealed_token TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     expires_at BIGINT NOT NULL
   );`,
];
