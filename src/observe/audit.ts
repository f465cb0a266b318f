/**
 * One audit record per decision. The record names who, what, which role
 * and why; it never holds a token, a header value or a credential.
 */
import type { Logger } from 'pino';
import type { CheckOutcome } from '../check/check.js';
import type { AuthzRequest } from '../request/types.js';

/** The audit record's fields, as documented in the README. */
export interface AuditRecord {
  readonly decision_id: string;
  readonly request_id: string;
  readonly decision: 'allow' | 'deny';
  readonly status: number;
  readonly reason: string;
  readonly issuer?: string;
  readonly subject?: string;
  readonly roles_considered: readonly string[];
  readonly role?: string;
  readonly action?: string;
  readonly resource?: string;
  readonly route?: string;
  readonly determining: readonly string[];
  readonly source_address?: string;
  readonly method: string;
  readonly path: string;
  readonly latency_us: number;
}

/** Builds the record for one decision. */
export function auditRecord(
  request: AuthzRequest,
  outcome: CheckOutcome,
  latencyUs: number,
): AuditRecord {
  return {
    decision_id: outcome.decisionId,
    request_id: request.requestId,
    decision: outcome.allowed ? 'allow' : 'deny',
    status: outcome.status,
    reason: outcome.reason,
    ...(outcome.principal
      ? { issuer: outcome.principal.issuer, subject: outcome.principal.subject }
      : {}),
    roles_considered: outcome.rolesConsidered,
    ...(outcome.role ? { role: outcome.role.arn } : {}),
    ...(outcome.route
      ? {
          action: outcome.route.action,
          resource: outcome.route.resource,
          route: outcome.route.source,
        }
      : {}),
    determining: outcome.determining.map((d) =>
      d.policy === undefined
        ? `${d.layer}:${d.effect}`
        : `${d.layer}:${d.policy}/${d.statement ?? ''}:${d.effect}`,
    ),
    ...(request.sourceAddress ? { source_address: request.sourceAddress } : {}),
    method: request.method,
    path: request.path,
    latency_us: Math.round(latencyUs),
  };
}

export interface Auditor {
  record(request: AuthzRequest, outcome: CheckOutcome, latencyUs: number): void;
}

/**
 * Writes records to `logger`. Denies are always written; allows with
 * probability `allowSampleRate` (1 = all, the default), using `random`.
 */
export function createAuditor(
  logger: Logger,
  allowSampleRate: () => number,
  random: () => number = Math.random,
): Auditor {
  return {
    record(request, outcome, latencyUs) {
      if (outcome.allowed) {
        const rate = allowSampleRate();
        if (rate < 1 && random() >= rate) return;
      }
      logger.info({ audit: auditRecord(request, outcome, latencyUs) }, 'decision');
    },
  };
}
