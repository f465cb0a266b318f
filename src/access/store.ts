/**
 * The access store: where requests, approvals and grants live. Every
 * mutation is one transaction, so a crash between steps leaves either the
 * old state or the new one. Two implementations: the embedded
 * {@link openSqliteStore} (default) and PostgreSQL for replicas.
 */
import type { AccessRequest, Grant, RequestStatus } from './model.js';

/** What `approve` did. */
export interface ApproveResult {
  readonly request: AccessRequest;
  /** The grant, when this approval (or an earlier one) completed the request. */
  readonly grant?: Grant;
  /** True when this call added an approval (false: the approver had already approved). */
  readonly added: boolean;
  /** True when this call created the grant. */
  readonly granted: boolean;
}

/** Checks allowed under one grant since the last flush. */
export interface GrantUse {
  readonly grantId: string;
  readonly count: number;
  /** Epoch ms of the latest of them. */
  readonly lastUsedAt: number;
}

/** Filter for listing requests. */
export interface RequestFilter {
  readonly status?: RequestStatus;
  /** Only this requester's (issuer and subject). */
  readonly requester?: { readonly issuer: string; readonly subject: string };
}

/** A sign-in session as stored: never the session id itself, and the token sealed. */
export interface SessionRow {
  readonly idHash: string;
  readonly issuer: string;
  readonly subject: string;
  readonly sealedToken: string;
  /** Epoch ms. */
  readonly createdAt: number;
  /** Epoch ms; the session is not honoured at or after it. */
  readonly expiresAt: number;
}

/** The store's operations; each mutation is atomic and idempotent where the name says so. */
export interface AccessStore {
  /** Stores a new pending request. */
  createRequest(request: AccessRequest): Promise<void>;
  /** Stores new pending requests (the roles of one request), all or none. */
  createRequests(requests: readonly AccessRequest[]): Promise<void>;
  getRequest(id: string): Promise<AccessRequest | undefined>;
  listRequests(filter?: RequestFilter): Promise<AccessRequest[]>;
  /**
   * Records `approver`'s approval of a pending request (idempotent per
   * approver) and, when `needed` distinct approvals are reached, marks it
   * approved and creates its grant (`expiresAt = nowMs + duration`), all
   * in one transaction. Throws `ERR_ACCESS_STATE` when the request is no
   * longer pending (except a repeated approval of an approved request,
   * which returns the existing grant). `byPolicy` (the statement that
   * approved, when rolegate's own policy did) is kept on the request. A
   * request of a bundle gets the end time of a grant already made for the
   * bundle, so the roles of one request end together.
   */
  approve(
    id: string,
    approver: string,
    comment: string,
    needed: number,
    nowMs: number,
    byPolicy?: string,
  ): Promise<ApproveResult>;
  /** Denies a pending request; `ERR_ACCESS_STATE` otherwise. */
  deny(id: string, by: string, comment: string, nowMs: number): Promise<AccessRequest>;
  getGrant(id: string): Promise<Grant | undefined>;
  /** Revokes a grant (idempotent: a second revoke returns the first). */
  revoke(id: string, by: string, nowMs: number): Promise<Grant>;
  /** Grants neither revoked nor expired at `nowMs`. */
  activeGrants(nowMs: number): Promise<Grant[]>;
  /** Grants that expired (not revoked) after `sinceMs` and up to `nowMs`. */
  expiredBetween(sinceMs: number, nowMs: number): Promise<Grant[]>;
  /** Grants that were held at some time in (`sinceMs`, `nowMs`]: started by then, not ended before. */
  grantsBetween(sinceMs: number, nowMs: number): Promise<Grant[]>;
  /** Adds Checks allowed under grants to their use counts (and moves their last use forward). */
  recordUses(uses: readonly GrantUse[]): Promise<void>;
  /**
   * The CSRF key of `period` (see `csrf.ts`): the stored one, or `candidate`
   * stored as it when there is none yet (the first writer wins, so every
   * process ends up with the same key). Deletes the keys of periods before
   * `period - 1`.
   */
  csrfKey(period: number, candidate: string): Promise<string>;
  /** The CSRF key of `period`, if one was created. */
  getCsrfKey(period: number): Promise<string | undefined>;
  /**
   * Records `nonce` until `expiresAtMs` and resolves true, or resolves false
   * when it is already recorded and not expired at `nowMs` (one winner
   * across every replica). Deletes expired nonces.
   */
  claimNonce(nonce: string, expiresAtMs: number, nowMs: number): Promise<boolean>;
  /** Stores a sign-in session (see `sessions.ts`); deletes expired ones. */
  createSession(session: SessionRow, nowMs: number): Promise<void>;
  /** The session whose id hashes to `idHash`, if stored and not expired at `nowMs`. */
  getSession(idHash: string, nowMs: number): Promise<SessionRow | undefined>;
  /** Deletes the session (logout, or its token no longer verifies); idempotent. */
  deleteSession(idHash: string): Promise<void>;
  /** Called (best effort) when another replica changed grants; PostgreSQL only. */
  onChange?(listener: () => void): void;
  close(): Promise<void>;
}
