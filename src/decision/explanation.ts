/**
 * Why a deny denied, role by role: what `rolegate simulate --config` prints
 * and, by statement id and key name only, what the audit record keeps.
 * Types only, plus the pure helpers that shape them.
 */
import type { DecisionExplanation, DecisionKind, StatementResult } from '../policy/types.js';

/** A trust statement's result: a statement result without the layer (a trust policy has none). */
export type TrustStatementResult = Omit<StatementResult, 'layer'>;

/** One role's trust policy against the caller. */
export interface TrustExplanation {
  /** True when the trust policy admitted the caller (allowed, without evaluation errors). */
  readonly admitted: boolean;
  /**
   * The trust statements whose action matched, each with whether it applied
   * and, if not, which element (principal, resource, condition operator and
   * key) did not hold.
   */
  readonly statements: readonly TrustStatementResult[];
  /** Context keys a trust condition needed that the request did not have. */
  readonly missingContextValues: readonly string[];
}

/** One role's permissions (guardrails, role policies, boundary, session) for the request. */
export interface PermissionsExplanation {
  readonly decision: DecisionKind;
  /** True when a condition could not be evaluated (the role then never allows). */
  readonly evaluationError: boolean;
  /** The statements whose action matched, by layer, each with whether it applied. */
  readonly statements: readonly StatementResult[];
  /** Context keys a condition needed that the request did not have. */
  readonly missingContextValues: readonly string[];
}

/** One role of the configuration (or the requested one) and what it did with the request. */
export interface RoleExplanation {
  /** The role's name. */
  readonly role: string;
  readonly trust: TrustExplanation;
  /** Present when the trust policy admitted the caller and the role's permissions were evaluated. */
  readonly permissions?: PermissionsExplanation;
}

/** The explanation of one decision: every role that was considered, in order. */
export interface Explanation {
  readonly roles: readonly RoleExplanation[];
}

/** The trust explanation of an engine decision on a role's trust policy. */
export function trustExplanation(
  admitted: boolean,
  explained: DecisionExplanation | undefined,
): TrustExplanation {
  return {
    admitted,
    statements: (explained?.statements ?? []).map(({ layer: _layer, ...rest }) => rest),
    missingContextValues: explained?.missingContextValues ?? [],
  };
}
