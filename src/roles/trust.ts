/**
 * Role selection: a caller may assume a role when the role's own trust
 * policy allows `sts:AssumeRoleWithWebIdentity` for the caller's federated
 * principal under the claim conditions, exactly as AWS STS decides it. An
 * mTLS peer is matched as `Principal: {"Spiffe": "<id>"}` for `sts:AssumeRole`.
 */
import { evaluate } from '../policy/index.js';
import type { Decision, EvaluateOptions, EvaluationContext, PolicySet } from '../policy/types.js';
import type { Principal } from '../identity/principal.js';

/** What role selection needs of a role. */
export interface TrustedRole {
  readonly name: string;
  readonly arn: string;
  readonly trust: PolicySet;
}

/** The trust action for token-bearing callers. */
export const WEB_IDENTITY_ACTION = 'sts:AssumeRoleWithWebIdentity';
/** The trust action for mTLS peers, which present no web identity. */
export const PEER_ACTION = 'sts:AssumeRole';

/**
 * Evaluates one role's trust policy for a principal. `options.explain`
 * (default `never`) asks the engine for the statement-by-statement
 * explanation too.
 */
export function evaluateTrust(
  role: TrustedRole,
  principal: Principal,
  context: EvaluationContext,
  options?: EvaluateOptions,
): Decision {
  const peer = principal.kind === 'mtls';
  return evaluate(
    role.trust,
    {
      action: peer ? PEER_ACTION : WEB_IDENTITY_ACTION,
      resource: role.arn,
      principal: peer ? { Spiffe: [principal.subject] } : { Federated: principal.federated },
      context,
    },
    options,
  );
}

/** True when a trust decision admits the caller: an Allow without evaluation errors (fail closed). */
export function admits(decision: Decision): boolean {
  return decision.decision === 'Allow' && decision.errors.length === 0;
}

/**
 * The roles, in configuration order, whose trust policy admits the caller.
 * With `requested` set, only that role (matched by name or ARN) is considered.
 */
export function assumableRoles<R extends TrustedRole>(
  roles: readonly R[],
  principal: Principal,
  context: EvaluationContext,
  requested?: string,
): { considered: readonly R[]; assumable: R[] } {
  const considered =
    requested === undefined
      ? roles
      : roles.filter((r) => r.name === requested || r.arn === requested);
  // A trust decision with evaluation errors admits no one (fail closed).
  const assumable = considered.filter((role) => admits(evaluateTrust(role, principal, context)));
  return { considered, assumable };
}
