/**
 * Rows of the access store -> the model. sqlite and PostgreSQL share one
 * schema (migrations.ts), so one mapping serves both drivers; a NULL column
 * is an absent optional field.
 */
import type { AccessRequest, Approval, Grant } from './model.js';
import type { SessionRow } from './store.js';

type Row = Readonly<Record<string, unknown>>;

/** The column as text, or `undefined` for NULL. */
function text(row: Row, column: string): string | undefined {
  const v = row[column];
  return v === null || v === undefined ? undefined : String(v);
}

/** An access request row with its approvals. */
export function requestFromRow(row: Row, approvals: readonly Approval[]): AccessRequest {
  const ticket = text(row, 'ticket');
  const decidedAt = text(row, 'decided_at');
  const deniedBy = text(row, 'denied_by');
  const denyComment = text(row, 'deny_comment');
  const grantId = text(row, 'grant_id');
  const sessionPolicy = text(row, 'session_policy');
  const bundleId = text(row, 'bundle_id');
  const approvedByPolicy = text(row, 'approved_by_policy');
  return {
    id: String(row['id']),
    role: String(row['role']),
    roleArn: String(row['role_arn']),
    issuer: String(row['issuer']),
    requester: String(row['requester']),
    groups: JSON.parse(String(row['groups_json'])) as string[],
    durationSeconds: Number(row['duration_seconds']),
    reason: String(row['reason']),
    breakGlass: Number(row['break_glass']) === 1,
    status: String(row['status']) as AccessRequest['status'],
    createdAt: Number(row['created_at']),
    approvals,
    ...(ticket === undefined ? {} : { ticket }),
    ...(decidedAt === undefined ? {} : { decidedAt: Number(decidedAt) }),
    ...(deniedBy === undefined ? {} : { deniedBy }),
    ...(denyComment === undefined ? {} : { denyComment }),
    ...(grantId === undefined ? {} : { grantId }),
    ...(sessionPolicy === undefined ? {} : { sessionPolicy }),
    ...(bundleId === undefined ? {} : { bundleId }),
    ...(approvedByPolicy === undefined ? {} : { approvedByPolicy }),
  };
}

/** The values of an `access_requests` insert, in the column order both stores write. */
export function requestInsertValues(r: AccessRequest): (string | number | null)[] {
  return [
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
    r.status,
    r.createdAt,
    r.sessionPolicy ?? null,
    r.bundleId ?? null,
  ];
}

/** The columns of {@link requestInsertValues}. */
export const REQUEST_INSERT_COLUMNS = `id, role, role_arn, issuer, requester, groups_json,
  duration_seconds, reason, ticket, break_glass, status, created_at, session_policy, bundle_id`;

/**
 * When the grant `request` becomes at `nowMs` ends: after its duration,
 * or, for a role of a bundle that already has a grant (`bundleEnd`, the
 * column read as the driver returns it), when that grant ends, so the
 * roles of one request end together.
 */
export function grantEnd(request: AccessRequest, nowMs: number, bundleEnd: unknown): number {
  const own = nowMs + request.durationSeconds * 1000;
  if (bundleEnd === null || bundleEnd === undefined) return own;
  // Ended already: a role approved after its bundle ended gets no time (the task is over).
  const shared = Number(bundleEnd);
  return Number.isFinite(shared) ? Math.min(shared, own) : own;
}

/** A grant row (same columns in sqlite and PostgreSQL). */
export function grantFromRow(row: Record<string, unknown>): Grant {
  const sessionPolicy = text(row, 'session_policy');
  const bundleId = text(row, 'bundle_id');
  const lastUsedAt = text(row, 'last_used_at');
  return {
    id: String(row['id']),
    requestId: String(row['request_id']),
    role: String(row['role']),
    roleArn: String(row['role_arn']),
    issuer: String(row['issuer']),
    subject: String(row['subject']),
    startsAt: Number(row['starts_at']),
    expiresAt: Number(row['expires_at']),
    breakGlass: Number(row['break_glass']) === 1,
    ...(row['revoked_at'] === null || row['revoked_at'] === undefined
      ? {}
      : { revokedAt: Number(row['revoked_at']), revokedBy: String(row['revoked_by']) }),
    ...(sessionPolicy === undefined ? {} : { sessionPolicy }),
    ...(bundleId === undefined ? {} : { bundleId }),
    ...(row['uses'] === undefined || row['uses'] === null ? {} : { uses: Number(row['uses']) }),
    ...(lastUsedAt === undefined ? {} : { lastUsedAt: Number(lastUsedAt) }),
  };
}

/** A sign-in session row (same columns in sqlite and PostgreSQL). */
export function sessionFromRow(row: Record<string, unknown>): SessionRow {
  return {
    idHash: String(row['id_hash']),
    issuer: String(row['issuer']),
    subject: String(row['subject']),
    sealedToken: String(row['sealed_token']),
    createdAt: Number(row['created_at']),
    expiresAt: Number(row['expires_at']),
  };
}
