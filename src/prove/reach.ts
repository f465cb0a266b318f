/**
 * Reach: which roles' policies can allow a route's action on its resource
 * for some caller, with a Backstage entity's catalog tags as the resource's
 * tags (`GET /v1/access/reach`). Each role is decided by the engine Check
 * uses (guardrails, role policies, boundary), in three values per
 * statement: it applies whoever calls (T), it never applies (F), or it
 * depends on the caller or the request (U: a condition on a claim, a
 * principal tag, the source address, the time...). The request side is
 * unknown; only the resource tags and the role's ARN are fixed.
 *
 * A statement is classified by two evaluations, one with every unknown key
 * absent and one with every unknown key present (a placeholder value): a
 * condition that fails on an unknown key, or a statement that applies in
 * one and not the other, or errs, is U; one that fails on a fixed key (a
 * resource tag), on its Resource or its Principal is F; one that applies
 * in both is T. A role is `allowed` when no Deny is T or U and every layer
 * that must allow has a T Allow; `conditional` when no Deny is T and every
 * layer has a T or U Allow; else it cannot reach and is left out. Known
 * limits (docs/backstage.md): a Resource written with a policy variable of
 * the caller counts as not matching, and a negated condition on an unknown
 * key that holds both when it is absent and for the placeholder counts as
 * holding. Trust policies are not asked: a grant can admit anyone to a role.
 */
import { evaluate, resolvingContext } from '../policy/index.js';
import type { ContextValue, Decision, Layer, StatementResult } from '../policy/types.js';
import type { CompiledRole } from '../generation/compiled-config.js';
import type { RouteConfig } from '../route/options.js';

/** How a role reaches a route. */
export type Reach = 'allowed' | 'conditional';

/** One route of the entity and the roles that reach it. */
export interface RouteReach {
  /** JSON path of the route in the config (`$.routes[2]`). */
  readonly route: string;
  readonly method: string;
  readonly path: string;
  readonly action: string;
  /** The resource template as configured. */
  readonly resource: string;
  readonly roles: readonly { readonly role: string; readonly reach: Reach }[];
}

/** Three values of one statement for every caller. */
type Tri = 'T' | 'U' | 'F';

/** A value no caller is likely to send, for the "present" evaluation. */
const PLACEHOLDER = '\u0001rolegate-reach\u0001';

/** `{name}` and `{name+}` of a template, filled with one segment. */
const PARAM = /\{[A-Za-z_][A-Za-z0-9_]*\+?\}/g;

/** The keys fixed for a reach question: the resource's tags and the role's ARN. */
function fixedKeys(
  role: CompiledRole,
  tags: Readonly<Record<string, string>>,
): Map<string, string> {
  const fixed = new Map<string, string>([['aws:principalarn', role.arn]]);
  for (const [k, v] of Object.entries(tags)) fixed.set(`aws:resourcetag/${k.toLowerCase()}`, v);
  return fixed;
}

/** One evaluation with unknown keys absent (`present` false) or set to the placeholder. */
function run(
  role: CompiledRole,
  action: string,
  resource: string,
  fixed: ReadonlyMap<string, string>,
  present: boolean,
  unknownRead: Set<string>,
): Decision {
  const context = resolvingContext((lowerKey): ContextValue | undefined => {
    const value = fixed.get(lowerKey);
    if (value !== undefined) return value;
    // A resource tag the entity does not have is absent for every caller: fixed too.
    if (lowerKey.startsWith('aws:resourcetag/')) return undefined;
    unknownRead.add(lowerKey);
    return present ? PLACEHOLDER : undefined;
  });
  return evaluate(role.permissions, { action, resource, context }, { explain: 'always' });
}

const statementId = (s: { layer: Layer; policy: string; statement: string }) =>
  `${s.layer}\u0000${s.policy}\u0000${s.statement}`;

/** T, U or F for a statement from its two results. */
function classify(
  absent: StatementResult,
  present: StatementResult | undefined,
  erred: boolean,
  fixed: ReadonlyMap<string, string>,
): Tri {
  if (erred) return 'U';
  const failedOnUnknown = (s: StatementResult | undefined) => {
    const key = s?.failed?.key?.toLowerCase();
    return (
      s?.failed?.element === 'Condition' &&
      key !== undefined &&
      !fixed.has(key) &&
      !key.startsWith('aws:resourcetag/')
    );
  };
  if (absent.matched && present?.matched === true) return 'T';
  if (absent.matched !== (present?.matched ?? false)) return 'U';
  // Neither applied: only a failure on an unknown key leaves room for some caller.
  return failedOnUnknown(absent) || failedOnUnknown(present) ? 'U' : 'F';
}

const ORDER: Readonly<Record<Tri, number>> = { F: 0, U: 1, T: 2 };

/** How `role` reaches `action` on `resource` (tags fixed), or undefined when it never can. */
export function roleReach(
  role: CompiledRole,
  action: string,
  resource: string,
  tags: Readonly<Record<string, string>>,
): Reach | undefined {
  const fixed = fixedKeys(role, tags);
  const unknownRead = new Set<string>();
  const absent = run(role, action, resource, fixed, false, unknownRead);
  if (unknownRead.size === 0) {
    // Nothing the caller sends was read: the decision is the same for every caller.
    return absent.decision === 'Allow' && absent.errors.length === 0 ? 'allowed' : undefined;
  }
  const present = run(role, action, resource, fixed, true, new Set());
  const presentById = new Map(
    (present.explanation?.statements ?? []).map((s) => [statementId(s), s]),
  );
  const erred = new Set(
    [...absent.errors, ...present.errors].map((e) => `${e.policy}\u0000${e.statement}`),
  );
  // Layers that must allow: identity always; every layer with a statement for the action,
  // and every layer the engine found without an Allow.
  const required = new Set<Layer>(['identity']);
  for (const d of absent.determining) if (d.effect === 'ImplicitDeny') required.add(d.layer);
  const best = new Map<Layer, Tri>();
  let deny: Tri = 'F';
  for (const s of absent.explanation?.statements ?? []) {
    if (s.layer === 'session') continue;
    const tri = classify(
      s,
      presentById.get(statementId(s)),
      erred.has(`${s.policy}\u0000${s.statement}`),
      fixed,
    );
    if (s.effect === 'Deny') {
      if (ORDER[tri] > ORDER[deny]) deny = tri;
      continue;
    }
    required.add(s.layer);
    if (ORDER[tri] > ORDER[best.get(s.layer) ?? 'F']) best.set(s.layer, tri);
  }
  if (deny === 'T') return undefined;
  let all: Tri = 'T';
  for (const layer of required) {
    const b = best.get(layer) ?? 'F';
    if (b === 'F') return undefined;
    if (b === 'U') all = 'U';
  }
  return all === 'T' && deny === 'F' ? 'allowed' : 'conditional';
}

/**
 * The routes naming `entity` and, for each, the roles that can reach it
 * with `tags` (the entity's catalog tags) joined to the route's own.
 */
export function entityReach(
  roles: readonly CompiledRole[],
  routes: readonly RouteConfig[],
  entity: string,
  tags: Readonly<Record<string, string>>,
): RouteReach[] {
  return routes
    .filter((r) => r.entity === entity)
    .map((r) => {
      const action = r.action.replace(PARAM, 'x');
      const resource = r.resource.replace(PARAM, 'x');
      const all = { ...r.tags, ...tags };
      const reached = roles.flatMap((role) => {
        const reach = roleReach(role, action, resource, all);
        return reach === undefined ? [] : [{ role: role.name, reach }];
      });
      return {
        route: r.jsonPath,
        method: r.method,
        path: r.path,
        action: r.action,
        resource: r.resource,
        roles: reached,
      };
    });
}
