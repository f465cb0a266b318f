/**
 * Why a deny denied: for an identity refusal, the token's side against the
 * configured side (`identity`); otherwise role by role. What `rolegate
 * simulate --config` prints and, by statement id and key name only, what the
 * audit record keeps. Types only, plus the pure helpers that shape them.
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

/**
 * Which identity check refused the caller: `credential` (no token found),
 * `token` (size or form), `issuer`, `algorithm`, `key` (the `kid`), `keys`
 * (the issuer's keys could not be loaded), `signature`, `audience`, `time`
 * (`exp`, `nbf`, `iat` against the clock), `lifetime`, `claim` (a claim
 * that must be present or hold an accepted value) or `location` (where the
 * token arrived).
 */
export type IdentityCheck =
  | 'credential'
  | 'token'
  | 'issuer'
  | 'algorithm'
  | 'key'
  | 'keys'
  | 'signature'
  | 'audience'
  | 'time'
  | 'lifetime'
  | 'claim'
  | 'location';

/** A time claim against the verifier's clock, all in epoch seconds. */
export interface IdentityTime {
  /** The claim that failed. */
  readonly claim: 'exp' | 'nbf' | 'iat';
  /** The claim's value. */
  readonly value: number;
  /** The verifier's clock when it decided. */
  readonly now: number;
  /**
   * How far the claim is on the wrong side of the clock, in whole seconds:
   * since `exp`, or until `nbf` or `iat`.
   */
  readonly offBySeconds: number;
  /** The skew the issuer allows (`clockToleranceSeconds`). */
  readonly toleranceSeconds: number;
}

/**
 * Why the identity phase refused the caller: the token's side (`found`)
 * against the configured side (`expected`). Only claim names, issuers,
 * audiences, key ids, algorithm names, times and locations: never the token
 * nor any other claim value (no `sub`, `email`, groups...).
 */
export interface IdentityExplanation {
  readonly check: IdentityCheck;
  /** One sentence for the operator: what was found, what was expected, how far off. */
  readonly message: string;
  /** The configured issuer the token was checked against, once one was chosen by `iss`. */
  readonly issuer?: string;
  /** The token's side: its `iss`, `aud` values, `kid`, `alg`, or where it arrived. */
  readonly found?: string | readonly string[];
  /** The configured side: issuers, audiences, key ids, algorithms, or token locations. */
  readonly expected?: readonly string[];
  /** The configured issuer an unknown `iss` most likely meant (it differs only in spelling). */
  readonly didYouMean?: string;
  /** The claim that is missing or holds no accepted value (its name only). */
  readonly claim?: string;
  /** For `time`: the claim, the clock and how far off. */
  readonly time?: IdentityTime;
  /** For `keys`: why the issuer's keys could not be loaded (discovery or JWKS). */
  readonly cause?: string;
}

/** The explanation of one decision: every role that was considered, in order. */
export interface Explanation {
  /** Present when the identity phase refused the caller (then no role was considered). */
  readonly identity?: IdentityExplanation;
  readonly roles: readonly RoleExplanation[];
}

/**
 * The entries of a deny's explanation as `simulate` prints it and the audit
 * record keeps it: an identity refusal is one entry `{identity: ...}`,
 * followed by one entry per role (shaped by `role`).
 */
export function explanationEntries<R>(
  explanation: Explanation,
  role: (r: RoleExplanation) => R,
): (R | { readonly identity: IdentityExplanation })[] {
  const roles = explanation.roles.map(role);
  return explanation.identity === undefined
    ? roles
    : [{ identity: explanation.identity }, ...roles];
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
