/**
 * Just-in-time access and the security findings (docs/findings.md,
 * docs/access.md). rolegate's own policies decide the access API's calls
 * (`rolegate:RequestAccess`, ...) on the caller's roles with the same
 * layers as a Check: every guardrail and the role's permissions boundary
 * must allow them too. A guardrail written for the routes (`orders:*`)
 * silently blocks them all: WARN_ACCESS_ACTION_BLOCKED says which layer
 * and policy blocks which action. And a statement granting them is reached
 * through the access API, not through a route.
 */
import type { Finding } from './finding.js';
import { at, finding } from './security-finding.js';
import {
  actionMatches,
  coversAction,
  patternCovers,
  type PlacedStatement,
} from './security-statements.js';

/**
 * The actions the access API authorizes with rolegate's own policies: the
 * values of `ACCESS_ACTIONS` in `access/service.ts` (config/ may import only
 * the access options; test/unit/config/access-findings.test.ts keeps the two
 * lists equal).
 */
export const ACCESS_API_ACTIONS: readonly string[] = [
  'rolegate:RequestAccess',
  'rolegate:ApproveAccessRequest',
  'rolegate:RevokeGrant',
  'rolegate:ListAccessRequests',
  'rolegate:AutoApprove',
];

/**
 * The access API actions statement `s` names: patterns of the `rolegate`
 * service only (`rolegate:*`, `rolegate:RequestAccess`), so a bare `*`,
 * meant for routes, does not make a statement an access statement.
 */
export function accessActionsOf(s: PlacedStatement): string[] {
  const own = (s.actions ?? []).filter((p) => p.toLowerCase().startsWith('rolegate:'));
  return ACCESS_API_ACTIONS.filter((a) => own.some((p) => actionMatches(p, a)));
}

/** What a layer allows, for the message: its Allow statements' actions. */
function allowedText(layer: readonly PlacedStatement[]): string {
  const allowed = layer
    .filter((x) => x.effect === 'Allow')
    .flatMap((x) => x.actions ?? (x.notActions ?? []).map((a) => `everything but ${a}`));
  return allowed.length === 0 ? 'nothing' : `only ${[...new Set(allowed)].join(', ')}`;
}

/** The first unconditional Deny of `layer` covering `action` on every resource of `s`. */
function denyOf(
  layer: readonly PlacedStatement[],
  s: PlacedStatement,
  action: string,
): PlacedStatement | undefined {
  return layer.find(
    (d) =>
      d.effect === 'Deny' &&
      !d.conditional &&
      coversAction(d, action) &&
      d.resources !== undefined &&
      s.resources !== undefined &&
      s.resources.every((r) => d.resources?.some((dr) => patternCovers(dr, r, false))),
  );
}

/** One layer that must allow the actions too: its statements and how to name it. */
interface Gate {
  readonly statements: readonly PlacedStatement[];
  /** e.g. `guardrail orders-only`, `guardrails a, b`, `permissions boundary r/boundary`. */
  readonly name: string;
  readonly plural: boolean;
  /** What to do, ending with what to allow the actions in. */
  readonly fix: string;
}

function gatesOf(all: readonly PlacedStatement[], s: PlacedStatement): Gate[] {
  const guardrails = all.filter((x) => x.policy.layer === 'guardrail');
  const names = [...new Set(guardrails.map((x) => x.policy.resolved.ref.name))];
  const boundary = all.filter(
    (x) => x.policy.layer === 'boundary' && x.policy.role === s.policy.role,
  );
  const gates: Gate[] = [];
  if (guardrails.length > 0) {
    gates.push({
      statements: guardrails,
      name: `${names.length === 1 ? 'guardrail' : 'guardrails'} ${names.join(', ')}`,
      plural: names.length > 1,
      // The guardrail layer allows what any one guardrail statement allows.
      fix: 'allow the actions in a guardrail (an Allow in any one guardrail is enough)',
    });
  }
  if (boundary.length > 0) {
    gates.push({
      statements: boundary,
      name: `permissions boundary ${boundary[0]?.policy.resolved.ref.name ?? ''}`,
      plural: false,
      fix: 'allow the actions in the boundary',
    });
  }
  return gates;
}

/** What blocks some actions: `who` blocks them, `why` says how; `fix` what to change. */
interface Blocker {
  readonly who: string;
  readonly plural: boolean;
  readonly why: string;
  readonly fix: string;
}

/** What in `gate` blocks `action` granted by `s`; undefined when the gate lets it through. */
function blockerOf(gate: Gate, s: PlacedStatement, action: string): Blocker | undefined {
  const deny = denyOf(gate.statements, s, action);
  if (deny !== undefined) {
    return {
      who: `the unconditional Deny ${deny.policy.resolved.ref.name}/${deny.id} (${deny.policy.layer})`,
      plural: false,
      why: 'it covers every resource the statement names',
      fix: 'narrow that Deny',
    };
  }
  if (gate.statements.some((x) => x.effect === 'Allow' && coversAction(x, action))) {
    return undefined;
  }
  const why = `${gate.plural ? 'they allow' : 'it allows'} ${allowedText(gate.statements)}`;
  return { who: gate.name, plural: gate.plural, why, fix: gate.fix };
}

/**
 * WARN_ACCESS_ACTION_BLOCKED for role policy statement `s` (an Allow)
 * when a layer every access API call passes through blocks access actions
 * it grants: no guardrail (or the role's boundary) allows them, or an
 * unconditional Deny there covers them. One finding per blocking layer or
 * Deny, naming the actions. `all` is every statement of the configuration.
 */
export function accessBlockedFindings(
  all: readonly PlacedStatement[],
  s: PlacedStatement,
): Finding[] {
  const actions = accessActionsOf(s);
  if (actions.length === 0) return [];
  const role = s.policy.role ?? '';
  const out: Finding[] = [];
  for (const gate of gatesOf(all, s)) {
    const blocked = new Map<string, { blocker: Blocker; actions: string[] }>();
    for (const action of actions) {
      const blocker = blockerOf(gate, s, action);
      if (blocker === undefined) continue;
      const entry = blocked.get(blocker.who) ?? { blocker, actions: [] };
      entry.actions.push(action);
      blocked.set(blocker.who, entry);
    }
    for (const { blocker, actions: names } of blocked.values()) {
      const them = names.length === 1 ? 'it' : 'them';
      const noun = names.length === 1 ? 'action' : 'actions';
      out.push(
        finding(
          'WARN_ACCESS_ACTION_BLOCKED',
          `role ${role} allows the access API ${noun} ${names.join(', ')}, but ${blocker.who} ${blocker.plural ? 'block' : 'blocks'} ${them}: ${blocker.why}. Every such call through this role is refused (ERR_ACCESS_FORBIDDEN); ${blocker.fix}`,
          at(s),
        ),
      );
    }
  }
  return out;
}
