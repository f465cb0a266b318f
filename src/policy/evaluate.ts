/**
 * Policy sets and evaluation.
 *
 * `createPolicySet` indexes every statement of every layer by action once:
 * - `exact`: lower-cased action → the complete, pre-merged candidate lists
 *   (statements naming that action exactly, plus every wildcard and
 *   NotAction statement that matches it), split into Deny and Allow;
 * - `byService`: service → statements with wildcard action names in that
 *   service (`s3:Get*`), used when the action is not in `exact`;
 * - `generic`: statements with `*`, a wildcard service, or NotAction.
 * A request then touches only its candidates: cost grows with the number
 * of statements that can apply, not with the size of the set.
 */
import { splitRequestArn, matchArn, type RequestArn } from './arn.js';
import type { CompiledStatement } from './compile.js';
import { PolicyImpl } from './compile.js';
import { evalClause, lookup, type ErrorSink } from './conditions.js';
import { matchGlob, type Glob } from './glob.js';
import { matchPrincipal } from './principal.js';
import type {
  CompiledPolicy,
  Decision,
  DecisionExplanation,
  Determining,
  EvaluateOptions,
  EvaluationError,
  EvaluationRequest,
  Layer,
  PolicySet,
  PolicySetInput,
  StatementFailure,
  StatementResult,
} from './types.js';
import type { ErrorCode } from '../errors.js';

const LAYERS: readonly Layer[] = ['guardrail', 'identity', 'boundary', 'session'];
const LAYER_BIT: Readonly<Record<Layer, number>> = {
  guardrail: 1,
  identity: 2,
  boundary: 4,
  session: 8,
};

interface Entry {
  readonly stmt: CompiledStatement;
  readonly policy: string;
  readonly layer: Layer;
  readonly bit: number;
  /** Global order: layer, then policy, then statement. */
  readonly ordinal: number;
  readonly determining: Determining;
  // Copied from `stmt` so that deciding touches one object per statement.
  readonly principal: CompiledStatement['principal'];
  readonly notPrincipal: boolean;
  readonly resources: CompiledStatement['resources'];
  readonly notResource: boolean;
  readonly clauses: CompiledStatement['clauses'];
}

interface Candidates {
  readonly deny: readonly Entry[];
  readonly allow: readonly Entry[];
}

/** Candidates whose action patterns still have to be tested. */
interface PatternCandidates {
  readonly deny: readonly PatternEntry[];
  readonly allow: readonly PatternEntry[];
}

interface PatternEntry {
  readonly entry: Entry;
  readonly globs: readonly Glob[];
  readonly not: boolean;
}

/** The engine's PolicySet. */
export class PolicySetImpl implements PolicySet {
  readonly statementCount: number;
  readonly exact: ReadonlyMap<string, Candidates>;
  /** Service → its wildcard statements merged with the generic ones, in order. */
  readonly byService: ReadonlyMap<string, PatternCandidates>;
  /** Generic statements only (for services no statement names). */
  readonly generic: PatternCandidates;
  /** Bits of the layers that must allow. */
  readonly required: number;
  /**
   * Request action (as given) → candidates: starts as a copy of `exact`
   * and memoises up to MEMO_LIMIT more lookups. Only ever
   * holds what `candidatesFor` computes, so it never changes a decision.
   */
  readonly memo: Map<string, Candidates>;
  /** Lower-cased context keys any statement can read (condition keys and policy variables), sorted. */
  readonly keysRead: readonly string[];

  constructor(
    statementCount: number,
    exact: Map<string, Candidates>,
    byService: Map<string, PatternCandidates>,
    generic: PatternCandidates,
    required: number,
    keysRead: readonly string[],
  ) {
    this.keysRead = keysRead;
    this.statementCount = statementCount;
    this.exact = exact;
    this.byService = byService;
    this.generic = generic;
    this.required = required;
    this.memo = new Map(exact);
  }
}

function implOf(p: CompiledPolicy): PolicyImpl {
  if (!(p instanceof PolicyImpl)) throw new TypeError('policies must come from compilePolicy');
  return p;
}

function serviceOf(action: string): string {
  const i = action.indexOf(':');
  return i < 0 ? action : action.slice(0, i);
}

function byOrdinal(a: Entry, b: Entry): number {
  return a.ordinal - b.ordinal;
}

function actionMatches(pe: PatternEntry, action: string): boolean {
  let hit = false;
  for (const g of pe.globs) {
    if (matchGlob(g, action)) {
      hit = true;
      break;
    }
  }
  return hit !== pe.not;
}

/** Indexes the layers' statements by action. */
export function createPolicySet(input: PolicySetInput): PolicySet {
  const layers: Record<Layer, readonly CompiledPolicy[]> = {
    guardrail: input.guardrails ?? [],
    identity: input.identity,
    boundary: input.boundary ?? [],
    session: input.session ?? [],
  };
  let required = LAYER_BIT.identity;
  if (layers.guardrail.length > 0) required |= LAYER_BIT.guardrail;
  if (layers.boundary.length > 0) required |= LAYER_BIT.boundary;
  if (layers.session.length > 0) required |= LAYER_BIT.session;

  const exactStmts = new Map<string, Entry[]>();
  const aliases = new Map<string, string>();
  const byService = new Map<string, PatternEntry[]>();
  const generic: PatternEntry[] = [];
  let ordinal = 0;
  const keysRead = new Set<string>();
  for (const layer of LAYERS) {
    for (const p of layers[layer]) {
      const impl = implOf(p);
      for (const v of impl.variables) keysRead.add(v);
      for (const stmt of impl.statements) for (const c of stmt.clauses) keysRead.add(c.key);
      for (const stmt of impl.statements) {
        const entry: Entry = {
          stmt,
          policy: impl.name,
          layer,
          bit: LAYER_BIT[layer],
          ordinal: ordinal++,
          determining: Object.freeze({
            layer,
            effect: stmt.effect,
            policy: impl.name,
            statement: stmt.label,
          }),
          principal: stmt.principal,
          notPrincipal: stmt.notPrincipal,
          resources: stmt.resources,
          notResource: stmt.notResource,
          clauses: stmt.clauses,
        };
        if (stmt.notAction) {
          generic.push({ entry, globs: stmt.actionGlobs, not: true });
          continue;
        }
        const isGeneric = stmt.actions.some((a) => {
          const svc = serviceOf(a);
          return a === '*' || svc.includes('*') || svc.includes('?');
        });
        if (isGeneric) {
          generic.push({ entry, globs: stmt.actionGlobs, not: false });
          continue;
        }
        const perService = new Map<string, Glob[]>();
        stmt.actions.forEach((a, i) => {
          const g = stmt.actionGlobs[i];
          if (g === undefined) return;
          if (g.kind === 1 /* exact */) {
            const written = stmt.writtenActions[i];
            if (written !== undefined && written !== a) aliases.set(written, a);
            let list = exactStmts.get(a);
            if (list === undefined) exactStmts.set(a, (list = []));
            if (list[list.length - 1] !== entry) list.push(entry);
          } else {
            const svc = serviceOf(a);
            let gl = perService.get(svc);
            if (gl === undefined) perService.set(svc, (gl = []));
            gl.push(g);
          }
        });
        for (const [svc, globs] of perService) {
          let list = byService.get(svc);
          if (list === undefined) byService.set(svc, (list = []));
          list.push({ entry, globs, not: false });
        }
      }
    }
  }
  // Pre-merge complete candidate lists for every action named exactly.
  const exact = new Map<string, Candidates>();
  for (const [action, direct] of exactStmts) {
    const all = new Set<Entry>(direct);
    for (const pe of byService.get(serviceOf(action)) ?? [])
      if (actionMatches(pe, action)) all.add(pe.entry);
    for (const pe of generic) if (actionMatches(pe, action)) all.add(pe.entry);
    const sorted = [...all].sort(byOrdinal);
    exact.set(action, {
      deny: sorted.filter((e) => e.stmt.effect === 'Deny'),
      allow: sorted.filter((e) => e.stmt.effect === 'Allow'),
    });
  }
  for (const [written, lower] of aliases) {
    const cand = exact.get(lower);
    if (cand !== undefined && !exact.has(written)) exact.set(written, cand);
  }
  const split = (list: PatternEntry[]): PatternCandidates => {
    const sorted = [...list].sort((a, b) => a.entry.ordinal - b.entry.ordinal);
    return {
      deny: sorted.filter((pe) => pe.entry.stmt.effect === 'Deny'),
      allow: sorted.filter((pe) => pe.entry.stmt.effect === 'Allow'),
    };
  };
  const merged = new Map<string, PatternCandidates>();
  for (const [svc, list] of byService) merged.set(svc, split([...list, ...generic]));
  return new PolicySetImpl(ordinal, exact, merged, split(generic), required, [...keysRead].sort());
}

/**
 * Every lower-cased context key an evaluation of `set` can read: the keys
 * of its conditions and the policy variables of its documents (Resource
 * patterns and condition values). Nothing else of the context is read, so
 * two contexts that agree on these keys get the same decision.
 */
export function contextKeysRead(set: PolicySet): readonly string[] {
  if (!(set instanceof PolicySetImpl))
    throw new TypeError('policy sets must come from createPolicySet');
  return set.keysRead;
}

const NO_ERRORS: readonly EvaluationError[] = Object.freeze([]);
const IMPLICIT: Readonly<Record<Layer, Determining>> = {
  guardrail: Object.freeze({ layer: 'guardrail', effect: 'ImplicitDeny' }),
  identity: Object.freeze({ layer: 'identity', effect: 'ImplicitDeny' }),
  boundary: Object.freeze({ layer: 'boundary', effect: 'ImplicitDeny' }),
  session: Object.freeze({ layer: 'session', effect: 'ImplicitDeny' }),
};

/** For each bitmask of layers that failed to allow, the frozen ImplicitDeny list. */
const FAILED: readonly (readonly Determining[])[] = Array.from({ length: 16 }, (_, mask) =>
  Object.freeze(LAYERS.filter((l) => (mask & LAYER_BIT[l]) !== 0).map((l) => IMPLICIT[l])),
);

/** Per-request evaluation state. */
class Evaluation implements ErrorSink {
  readonly request: EvaluationRequest;
  arn: RequestArn | undefined;
  errors: EvaluationError[] | undefined;
  current: Entry | undefined;

  constructor(request: EvaluationRequest) {
    this.request = request;
    this.arn = undefined;
    this.errors = undefined;
    this.current = undefined;
  }

  report(code: ErrorCode, message: string): void {
    const e = this.current;
    (this.errors ??= []).push({
      code,
      message,
      policy: e?.policy ?? '',
      statement: e?.stmt.label ?? '',
    });
  }

  /** True when the statement applies (action already matched). */
  applies(e: Entry): boolean {
    const s = e;
    const req = this.request;
    if (s.principal !== undefined && matchPrincipal(s.principal, req.principal) === s.notPrincipal)
      return false;
    if (s.resources !== undefined) {
      let hit = false;
      for (const r of s.resources) {
        if (r.any) {
          hit = true;
          break;
        }
        const arn = (this.arn ??= splitRequestArn(req.resource));
        if (matchArn(r, arn, req.context)) {
          hit = true;
          break;
        }
      }
      if (hit === s.notResource) return false;
    }
    const clauses = s.clauses;
    if (clauses.length > 0) {
      this.current = e;
      for (const c of clauses) if (!evalClause(c, req.context, this)) return false;
    }
    return true;
  }
}

const MEMO_LIMIT = 20_000;

/** The statements whose action part matches, in order, split by effect. */
function candidatesFor(set: PolicySetImpl, requestAction: string): Candidates {
  const action = requestAction.toLowerCase();
  const hit = set.exact.get(requestAction) ?? set.exact.get(action);
  if (hit !== undefined) return hit;
  const pc = set.byService.get(serviceOf(action)) ?? set.generic;
  const pick = (list: readonly PatternEntry[]): Entry[] =>
    list.filter((pe) => actionMatches(pe, action)).map((pe) => pe.entry);
  return { deny: pick(pc.deny), allow: pick(pc.allow) };
}

/**
 * Decides a request. Pure: the same set and request always give the same
 * decision. With `options.explain` the decision also carries an
 * explanation, computed by a separate pass ({@link explainRequest}) after
 * the decision, so the default path is unchanged.
 */
export function evaluate(
  policySet: PolicySet,
  request: EvaluationRequest,
  options?: EvaluateOptions,
): Decision {
  const decision = decide(policySet, request);
  const explain = options?.explain;
  if (explain === undefined || explain === 'never') return decision;
  if (explain === 'deny' && decision.decision === 'Allow') return decision;
  return { ...decision, explanation: explainRequest(policySet, request) };
}

/** Swallows the errors of the explanation pass (the decision already reported them). */
const QUIET: ErrorSink = { report: () => undefined };

function failureOf(
  e: Entry,
  request: EvaluationRequest,
  missing: Set<string>,
  order: string[],
): StatementFailure | undefined {
  if (
    e.principal !== undefined &&
    matchPrincipal(e.principal, request.principal) === e.notPrincipal
  )
    return { element: 'Principal' };
  if (e.resources !== undefined) {
    let hit = false;
    let arn: RequestArn | undefined;
    for (const r of e.resources) {
      if (r.any || matchArn(r, (arn ??= splitRequestArn(request.resource)), request.context)) {
        hit = true;
        break;
      }
    }
    if (hit === e.notResource) return { element: 'Resource' };
  }
  let failed: StatementFailure | undefined;
  for (const c of e.clauses) {
    if (c.op.base.family !== 'null') {
      const vals = lookup(request.context, c.key);
      if ((vals === undefined || vals.length === 0) && !missing.has(c.key)) {
        missing.add(c.key);
        order.push(c.name);
      }
    }
    if (failed === undefined && !evalClause(c, request.context, QUIET))
      failed = { element: 'Condition', operator: c.op.written, key: c.name };
  }
  return failed;
}

/**
 * Every statement whose action matches the request, in evaluation order,
 * with whether it applied and, if not, the first element that did not
 * hold; and the context keys its conditions needed that the request lacks.
 * Pure, like `evaluate`; costs one more pass over the candidates.
 */
export function explainRequest(
  policySet: PolicySet,
  request: EvaluationRequest,
): DecisionExplanation {
  if (!(policySet instanceof PolicySetImpl))
    throw new TypeError('policy sets must come from createPolicySet');
  const cand = candidatesFor(policySet, request.action);
  const entries = [...cand.deny, ...cand.allow].sort(byOrdinal);
  const missing = new Set<string>();
  const order: string[] = [];
  const statements = entries.map((e): StatementResult => {
    const failed = failureOf(e, request, missing, order);
    return {
      layer: e.layer,
      policy: e.policy,
      statement: e.stmt.label,
      effect: e.stmt.effect,
      matched: failed === undefined,
      ...(failed === undefined ? {} : { failed }),
    };
  });
  return { statements, missingContextValues: order };
}

function decide(policySet: PolicySet, request: EvaluationRequest): Decision {
  if (!(policySet instanceof PolicySetImpl))
    throw new TypeError('policy sets must come from createPolicySet');
  const ev = new Evaluation(request);
  const required = policySet.required;
  let denies: Determining[] | undefined;
  let allows: Determining[] | undefined;
  let allowed = 0;
  let cand = policySet.memo.get(request.action);
  if (cand === undefined) {
    if (policySet.memo.size < policySet.exact.size + MEMO_LIMIT) {
      cand = candidatesFor(policySet, request.action);
      policySet.memo.set(request.action, cand);
    } else {
      cand = policySet.exact.get(request.action.toLowerCase());
    }
  }
  if (cand !== undefined) {
    for (const e of cand.deny) if (ev.applies(e)) (denies ??= []).push(e.determining);
    if (denies === undefined) {
      for (const e of cand.allow) {
        if (ev.applies(e)) {
          allowed |= e.bit;
          (allows ??= []).push(e.determining);
        }
      }
    }
  } else {
    // Memo full: test the action patterns in place, allocating nothing.
    const action = request.action.toLowerCase();
    const pc = policySet.byService.get(serviceOf(action)) ?? policySet.generic;
    for (const pe of pc.deny) {
      if (actionMatches(pe, action) && ev.applies(pe.entry))
        (denies ??= []).push(pe.entry.determining);
    }
    if (denies === undefined) {
      for (const pe of pc.allow) {
        if (actionMatches(pe, action) && ev.applies(pe.entry)) {
          allowed |= pe.entry.bit;
          (allows ??= []).push(pe.entry.determining);
        }
      }
    }
  }
  if (denies !== undefined) {
    return { decision: 'ExplicitDeny', determining: denies, errors: ev.errors ?? NO_ERRORS };
  }
  if ((allowed & required) === required && allows !== undefined) {
    return { decision: 'Allow', determining: allows, errors: ev.errors ?? NO_ERRORS };
  }
  return {
    decision: 'ImplicitDeny',
    determining: FAILED[required & ~allowed] ?? [],
    errors: ev.errors ?? NO_ERRORS,
  };
}
