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
import { evalClause, type ErrorSink } from './conditions.js';
import { matchGlob, type Glob } from './glob.js';
import { matchPrincipal } from './principal.js';
import type {
  CompiledPolicy,
  Decision,
  Determining,
  EvaluationError,
  EvaluationRequest,
  Layer,
  PolicySet,
  PolicySetInput,
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
}

interface Candidates {
  readonly deny: readonly Entry[];
  readonly allow: readonly Entry[];
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
  readonly byService: ReadonlyMap<string, readonly PatternEntry[]>;
  readonly generic: readonly PatternEntry[];
  /** Bits of the layers that must allow. */
  readonly required: number;

  constructor(
    statementCount: number,
    exact: Map<string, Candidates>,
    byService: Map<string, PatternEntry[]>,
    generic: PatternEntry[],
    required: number,
  ) {
    this.statementCount = statementCount;
    this.exact = exact;
    this.byService = byService;
    this.generic = generic;
    this.required = required;
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
  const byService = new Map<string, PatternEntry[]>();
  const generic: PatternEntry[] = [];
  let ordinal = 0;
  for (const layer of LAYERS) {
    for (const p of layers[layer]) {
      const impl = implOf(p);
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
  return new PolicySetImpl(ordinal, exact, byService, generic, required);
}

const NO_ERRORS: readonly EvaluationError[] = Object.freeze([]);
const IMPLICIT: Readonly<Record<Layer, Determining>> = {
  guardrail: Object.freeze({ layer: 'guardrail', effect: 'ImplicitDeny' }),
  identity: Object.freeze({ layer: 'identity', effect: 'ImplicitDeny' }),
  boundary: Object.freeze({ layer: 'boundary', effect: 'ImplicitDeny' }),
  session: Object.freeze({ layer: 'session', effect: 'ImplicitDeny' }),
};

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
    const s = e.stmt;
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

function gather(set: PolicySetImpl, action: string): Candidates {
  const deny: Entry[] = [];
  const allow: Entry[] = [];
  const add = (pe: PatternEntry): void => {
    if (actionMatches(pe, action)) (pe.entry.stmt.effect === 'Deny' ? deny : allow).push(pe.entry);
  };
  const svc = set.byService.get(serviceOf(action));
  if (svc !== undefined) for (const pe of svc) add(pe);
  for (const pe of set.generic) add(pe);
  if (svc !== undefined && set.generic.length > 0) {
    deny.sort(byOrdinal);
    allow.sort(byOrdinal);
  }
  return { deny, allow };
}

/** Decides a request. Pure: the same set and request always give the same decision. */
export function evaluate(policySet: PolicySet, request: EvaluationRequest): Decision {
  if (!(policySet instanceof PolicySetImpl))
    throw new TypeError('policy sets must come from createPolicySet');
  const action = request.action.toLowerCase();
  const cand = policySet.exact.get(action) ?? gather(policySet, action);
  const ev = new Evaluation(request);

  let denies: Determining[] | undefined;
  for (const e of cand.deny) {
    if (ev.applies(e)) (denies ??= []).push(e.determining);
  }
  if (denies !== undefined) {
    return { decision: 'ExplicitDeny', determining: denies, errors: ev.errors ?? NO_ERRORS };
  }
  let allowed = 0;
  let allows: Determining[] | undefined;
  for (const e of cand.allow) {
    if ((e.bit & policySet.required) === 0) continue;
    if (ev.applies(e)) {
      allowed |= e.bit;
      (allows ??= []).push(e.determining);
    }
  }
  const required = policySet.required;
  if ((allowed & required) === required && allows !== undefined) {
    return { decision: 'Allow', determining: allows, errors: ev.errors ?? NO_ERRORS };
  }
  const failed: Determining[] = [];
  for (const layer of LAYERS) {
    const bit = LAYER_BIT[layer];
    if ((required & bit) !== 0 && (allowed & bit) === 0) failed.push(IMPLICIT[layer]);
  }
  return { decision: 'ImplicitDeny', determining: failed, errors: ev.errors ?? NO_ERRORS };
}
