/**
 * Authorization of the access API itself by rolegate's own IAM engine: an
 * access action (`rolegate:RequestAccess`, `rolegate:ApproveAccessRequest`,
 * `rolegate:RevokeGrant`, `rolegate:ListAccessRequests`) on a role's ARN, or
 * `rolegate:GetReach` on a Backstage entity's ARN, is
 * allowed when one of the roles the caller may assume *statically* (trust
 * policy; never through a grant) allows it, evaluated exactly like a Check
 * (guardrails, role policies, boundary), with the request's context keys
 * plus the action's own (`rolegate:RequestedDuration`, `rolegate:Requester`,
 * `rolegate:RequesterGroups`, `rolegate:BreakGlass`).
 */
import { evaluate, extendContext, resolvingContext } from '../policy/index.js';
import type {
  ContextInput,
  Decision,
  EvaluationRequest,
  Layer,
  StatementResult,
} from '../policy/types.js';
import type { Principal } from '../identity/principal.js';
import type { AuthzRequest } from '../request/types.js';
import { assumableRoles } from '../roles/trust.js';
import { requestContextResolver, roleSessionKeys } from './context.js';
import type { CompiledConfig, CompiledRole } from '../generation/compiled-config.js';
import type { GrantLookup } from '../access/grants.js';
import type { Grant } from '../access/model.js';

/**
 * `GET /v1/access/reach`: a read-only action on a Backstage entity. Like
 * `rolegate:ListAccessRequests`, nobody may unless a role they assume by
 * trust allows it (docs/access.md).
 */
export const GET_REACH_ACTION = 'rolegate:GetReach';

/** The resource of {@link GET_REACH_ACTION}: `arn:rolegate:catalog:::entity/<kind>/<namespace>/<name>`. */
export function entityArn(ref: { kind: string; namespace: string; name: string }): string {
  return `arn:rolegate:catalog:::entity/${ref.kind}/${ref.namespace}/${ref.name}`;
}

/** The verdict on one access action: which role allowed it, or why none did. */
export interface AccessActionVerdict {
  readonly allowed: boolean;
  /** The role that allowed it. */
  readonly role?: string;
  /** For an allow: `role <name>: <layer> <policy> statement <sid>, ...`, the statements that allowed it. */
  readonly by?: string;
  /**
   * For a refusal, for the operator only (the audit record, never the
   * client): which layer (trust, guardrail, identity policy, boundary) and
   * which statement stopped the action, role by role. A function, because
   * a list call decides an action per record and explains none of them.
   */
  readonly explain?: () => string;
}

/** The layer names an operator reads in a refusal, as Check's explanations name them. */
const LAYER_NAMES: Readonly<Record<Layer, string>> = {
  guardrail: 'guardrail',
  identity: 'identity policy',
  boundary: 'boundary',
  session: 'session policy',
};

/** One role's permissions evaluated for the action, kept to explain a refusal. */
interface Evaluated {
  readonly role: CompiledRole;
  readonly request: EvaluationRequest;
  readonly decision: Decision;
}

/** Why a statement whose action matched did not apply: its element, operator and key (names only). */
function whyNot(s: StatementResult): string {
  const f = s.failed;
  if (f === undefined) return 'applied';
  if (f.element !== 'Condition') return `${f.element} did not match`;
  return `Condition ${f.operator ?? ''} ${f.key ?? ''} did not hold`.replace(/\s+/g, ' ');
}

/** `layer policy/statement` as an operator reads it. */
const statementName = (layer: Layer, policy: string | undefined, sid: string | undefined) =>
  `${LAYER_NAMES[layer]} ${policy ?? '?'} statement ${sid ?? '?'}`;

/** What stopped `action` in one role that the caller may assume by trust. */
function explainRole(e: Evaluated, action: string, resource: string): string {
  const { decision } = e;
  const head = `role ${e.role.name}: `;
  const error = decision.errors[0];
  if (error !== undefined) {
    return `${head}policy ${error.policy} statement ${error.statement} could not be evaluated (${error.code}), so the role does not allow (fail closed)`;
  }
  if (decision.decision === 'ExplicitDeny') {
    const denies = decision.determining.map((d) => statementName(d.layer, d.policy, d.statement));
    return `${head}${denies.join(', ')} denies ${action} (an explicit Deny)`;
  }
  // An implicit deny: each layer that did not allow, with the statements of
  // that layer whose action matched and what kept them from applying.
  const explained = evaluate(e.role.permissions, e.request, { explain: 'always' }).explanation;
  const layers = decision.determining.map((d) => {
    const near = (explained?.statements ?? [])
      .filter((s) => s.layer === d.layer && s.effect === 'Allow')
      .map((s) => `${s.policy} statement ${s.statement}: ${whyNot(s)}`);
    const what = `no ${LAYER_NAMES[d.layer]} statement allows ${action} on ${resource}`;
    return near.length === 0 ? what : `${what} (${near.join('; ')})`;
  });
  return `${head}${layers.join('; ')}`;
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
  const { considered, assumable } = assumableRoles(config.roles, principal, base);
  const evaluated: Evaluated[] = [];
  for (const role of assumable) {
    const evaluation: EvaluationRequest = {
      action,
      resource,
      context: extendContext(base, roleSessionKeys(role.arn, role.name, principal)),
    };
    const decision = evaluate(role.permissions, evaluation);
    if (decision.errors.length === 0 && decision.decision === 'Allow') {
      const statements = decision.determining.map((d) =>
        statementName(d.layer, d.policy, d.statement),
      );
      return { allowed: true, role: role.name, by: `role ${role.name}: ${statements.join(', ')}` };
    }
    evaluated.push({ role, request: evaluation, decision });
  }
  if (evaluated.length > 0) {
    return {
      allowed: false,
      explain: () => evaluated.map((e) => explainRole(e, action, resource)).join('; '),
    };
  }
  // No role admits the caller by trust: name the roles that would have allowed it.
  const explain = () => {
    const would = considered.filter((role) => {
      const context = extendContext(base, roleSessionKeys(role.arn, role.name, principal));
      return evaluate(role.permissions, { action, resource, context }).decision === 'Allow';
    });
    const names = would.map((r) => r.name).join(', ');
    return would.length === 0
      ? `trust: no role's trust policy admits the caller, and no role allows ${action} on ${resource}`
      : `trust: no role's trust policy admits the caller; ${names} would allow ${action} on ${resource}, but ${would.length === 1 ? 'its trust policy does' : 'their trust policies do'} not admit the caller`;
  };
  return { allowed: false, explain };
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
