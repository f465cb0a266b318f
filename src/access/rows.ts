/**
 * Rows of the access store -> the model. sqlite and PostgreSQL share one
 * schema (migrations.ts), so one mapping serves both drivers; a NULL column
 * is an absent optional field.
 */
import type { AccessRequest, Approval, Grant } from './model.js';

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
  };
}

/** A grant row (same columns in sqlite and PostgreSQL). */
export function grantFromRow(row: Record<string, unknown>): Grant {
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
  };
}
