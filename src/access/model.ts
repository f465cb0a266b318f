/**
 * Just-in-time access: the records the store keeps and the pure rules
 * about them. An access request names a role, a duration, a reason and
 * optionally a ticket; enough distinct approvals (never the requester's,
 * except for break-glass) turn it into a grant, which makes the role
 * assumable by the requester until it expires or is revoked. Expiry is a
 * property of the record, read at decision time: no job has to run.
 */

/** Lifecycle state of a request. */
export type RequestStatus = 'pending' | 'approved' | 'denied';

/** One approval of a request. */
export interface Approval {
  readonly approver: string;
  readonly comment: string;
  /** Epoch ms. */
  readonly at: number;
}

/** An access request as stored. */
export interface AccessRequest {
  readonly id: string;
  /** Role name. */
  readonly role: string;
  readonly roleArn: string;
  /** Issuer of the requester's identity. */
  readonly issuer: string;
  /** The requester's subject. */
  readonly requester: string;
  /** The requester's groups when they asked (for policies on approvers). */
  readonly groups: readonly string[];
  readonly durationSeconds: number;
  readonly reason: string;
  readonly ticket?: string;
  /** Self-approved emergency access (always notified and flagged). */
  readonly breakGlass: boolean;
  readonly status: RequestStatus;
  /** Epoch ms. */
  readonly createdAt: number;
  /** Epoch ms of approval or denial. */
  readonly decidedAt?: number;
  readonly approvals: readonly Approval[];
  /** Who denied it and why. */
  readonly deniedBy?: string;
  readonly denyComment?: string;
  /** The grant it became. */
  readonly grantId?: string;
  /**
   * A session policy (an IAM policy document, as JSON text) that narrows the
   * role for the grant, as an STS session policy does. Absent: the whole role.
   */
  readonly sessionPolicy?: string;
  /** The multi-role request this is one role of: its grants end together. */
  readonly bundleId?: string;
  /** When rolegate's own policy approved it: the role and statement that did. */
  readonly approvedByPolicy?: string;
}

/** A grant: the requester may assume `role` from `startsAt` until `expiresAt` unless revoked. */
export interface Grant {
  readonly id: string;
  readonly requestId: string;
  readonly role: string;
  readonly roleArn: string;
  readonly issuer: string;
  readonly subject: string;
  /** Epoch ms. */
  readonly startsAt: number;
  /** Epoch ms; the grant is not honoured at or after it. */
  readonly expiresAt: number;
  readonly revokedAt?: number;
  readonly revokedBy?: string;
  readonly breakGlass: boolean;
  /** The request's session policy (JSON text): Check evaluates it as the session layer. */
  readonly sessionPolicy?: string;
  /** The multi-role request it came from. */
  readonly bundleId?: string;
  /** Checks allowed under it, as last recorded (reviews; flushed periodically, so a lower bound). */
  readonly uses?: number;
  /** Epoch ms of the last recorded use. */
  readonly lastUsedAt?: number;
}

/** The lifecycle events (one audit record and one webhook each). */
export type AccessEventType = 'requested' | 'approved' | 'denied' | 'revoked' | 'expired';

/** True when `grant` is honoured at `nowMs`: started, not expired, not revoked. */
export function grantActive(grant: Grant, nowMs: number): boolean {
  return grant.revokedAt === undefined && grant.startsAt <= nowMs && nowMs < grant.expiresAt;
}

/** The grant id a request becomes: derived, so concurrent approvals cannot make two. */
export function grantIdFor(requestId: string): string {
  return `grant-${requestId}`;
}

/** Seconds a grant has left at `nowMs` (0 once ended). */
export function secondsLeft(grant: Grant, nowMs: number): number {
  return grantActive(grant, nowMs) ? Math.floor((grant.expiresAt - nowMs) / 1000) : 0;
}
