/**
 * Authorization of the access API itself by rolegate's own IAM engine: an
 * access action (`rolegate:RequestAccess`, `rolegate:ApproveAccessRequest`,
 * `rolegate:RevokeGrant`, `rolegate:ListAccessRequests`) on a role's ARN is
 * allowed when one of the roles the caller may assume *statically* (trust
 * policy; never through a grant) allows it, evaluated exactly like a Check
 * (guardrails, role policies, boundary), with the request's context keys
 * plus the action's own (`rolegate:RequestedDuration`, `rolegate:Requester`,
 * `rolegate:RequesterGroups`, `rolegate:BreakGlass`).
 */
import { evaluate, extendContext, resolvingContext } from '../policy/index.js';
import type { ContextInput } from '../policy/types.js';
import type { Principal } from '../identity/principal.js';
import type { AuthzRequest } from '../request/types.js';
import { assumableRoles } from '../roles/trust.js';
import { requestContextResolver, roleSessionKeys } from './context.js';
import type { CompiledConfig, CompiledRole } from '../generation/compiled-config.js';
import type { GrantLookup } from '../access/grants.js';
import type { Grant } from '../access/model.js';

/** The verdict on one access action: which role allowed it, or none. */
export interface AccessActionVerdict {
  readonly allowed: boolean;
  /** The role that allowed it. */
  readonly role?: string;
}

/**
 * Decides `action` on `resource` for `principal`. Fails closed: a role
 * whose evaluation reports an error does not allow.
 */
export function authorizeAccessAction(
  config: CompiledConfig,
  request: AuthzRequest,
  principal: Principal,
  action: string,
  resource: string,
  extra: ContextInput,
  nowMs: number,
): AccessActionVerdict {
  const base = extendContext(
    resolvingContext(requestContextResolver(request, principal, undefined, nowMs)),
    extra,
  );
  const { assumable } = assumableRoles(config.roles, principal, base);
  for (const role of assumable) {
    const decision = evaluate(role.permissions, {
      action,
      resource,
      context: extendContext(base, roleSessionKeys(role.arn, role.name, principal)),
    });
    if (decision.errors.length === 0 && decision.decision === 'Allow') {
      return { allowed: true, role: role.name };
    }
  }
  return { allowed: false };
}

/**
 * The role named `roleName` when the caller may assume it now: by its
 * trust policy, else through an active grant (then with the grant, whose
 * remaining time bounds anything issued for it). Undefined otherwise.
 */
export function assumableForCredentials(
  config: CompiledConfig,
  request: AuthzRequest,
  principal: Principal,
  roleName: string,
  grants: GrantLookup | undefined,
  nowMs: number,
): { role: CompiledRole; grant?: Grant } | undefined {
  const context = resolvingContext(requestContextResolver(request, principal, undefined, nowMs));
  const { considered, assumable } = assumableRoles(config.roles, principal, context, roleName);
  const role = considered.find((r) => r.name === roleName);
  if (role === undefined) return undefined;
  if (assumable.includes(role)) return { role };
  const grant = grants?.grantsFor(principal.issuer, principal.subject, nowMs).get(roleName);
  return grant !== undefined && grant.roleArn === role.arn ? { role, grant } : undefined;
}
