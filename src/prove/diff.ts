/**
 * `rolegate diff`'s proof: every cell of the request space both
 * configurations induce is decided by the live engine under each; the
 * cells whose decision changes are grouped into findings (route, method,
 * role), each with a witness that is decided again before it is returned.
 * Complete because the partition is exact (see docs/diff.md): two requests
 * of one cell get the same decision under both configurations.
 */
import { evaluateTrust, admits } from '../roles/trust.js';
import { contextKeysRead, resolvingContext } from '../policy/index.js';
import type { CompiledRole } from '../generation/compiled-config.js';
import { matchRoute } from '../route/table.js';
import {
  callerResolver,
  cellCount,
  claimsCells,
  forEachCell,
  type Cell,
  type ClaimsCell,
  type Target,
  type Witness,
} from './cells.js';
import { keyDim } from './dims.js';
import { buildSpace, type ProveConfig, type Space } from './space.js';
import { globTokens, matches } from './automaton.js';
import { canonicalOf } from './routes.js';
import { ProveUnknown } from './unknown.js';

/** What the live engine answered for one witness under one configuration. */
export interface Verdict {
  readonly allowed: boolean;
  /** The role that allowed (on an allow). */
  readonly role?: string;
  /** `route[i]` of the matched route. */
  readonly route?: string;
  readonly action?: string;
  readonly resource?: string;
  /** `OK` or the deny's catalogue code. */
  readonly reason: string;
}

/** Decides a witness under a configuration with the live pipeline (`simulate`'s decision). */
export type Decider = (config: ProveConfig, witness: Witness) => Verdict;

/** One class of requests whose decision changes. */
export interface Finding {
  readonly change: 'new-access' | 'removed-access';
  /** `METHOD /path/template` of the route, in the configuration that allows. */
  readonly route: string;
  readonly action: string;
  /** The role that allows, in the configuration that allows. */
  readonly role: string;
  /** How many cells of the space the class holds. */
  readonly cells: number;
  /** How many caller cells (issuer and claims) it holds: the callers it reaches, up to equivalence. */
  readonly callers: number;
  /** Dimension -> the cells' values, for the dimensions the class does not span entirely. */
  readonly constraints: Readonly<Record<string, readonly string[]>>;
  readonly witness: Witness;
  readonly old: Verdict;
  readonly new: Verdict;
}

/** Counts of the work done. */
export interface ProofStats {
  readonly claimsCells: number;
  readonly targets: number;
  readonly cells: number;
  readonly decisions: number;
}

/** The answer of {@link diffConfigs}. */
export interface DiffResult {
  /** New access first, then removed access. */
  readonly findings: readonly Finding[];
  readonly stats: ProofStats;
}

/** Options of the proofs. */
export interface ProveOptions {
  /** The time of every witness when no condition reads the clock (epoch ms). */
  readonly nowMs: number;
  /** Most cells decided before the answer is unknown. Default {@link DEFAULT_MAX_CELLS}. */
  readonly maxCells?: number;
  /**
   * Skip the cells no changed role can decide (see `changedRoles`). Default
   * true; false decides every cell, for checking that the pruning is exact.
   */
  readonly prune?: boolean;
}

/** The default bound on the cells one proof decides. */
export const DEFAULT_MAX_CELLS = 2_000_000;

function compareSettings(a: ProveConfig, b: ProveConfig): void {
  if (a.settings === b.settings) return;
  const pa = JSON.parse(a.settings) as Record<string, unknown>;
  const pb = JSON.parse(b.settings) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(pa), ...Object.keys(pb)])];
  const differ = keys.filter((k) => JSON.stringify(pa[k]) !== JSON.stringify(pb[k]));
  throw new ProveUnknown(
    'ERR_DIFF_UNKNOWN',
    `the configurations differ in ${differ.join(', ')}; only roles, guardrails and routes are compared`,
    { file: b.label, path: `$.${differ[0] ?? ''}` },
  );
}

/** Methods and paths some route of some configuration matches: every other request is unmatched in all. */
export function targetsOf(space: Space, configs: readonly ProveConfig[]): Target[] {
  const out: Target[] = [];
  for (const method of space.methods) {
    for (const path of space.paths) {
      const canonical = canonicalOf(path);
      if (configs.some((c) => matchRoute(c.compiled.routes, method, canonical) !== undefined))
        out.push({ method, path });
    }
  }
  return out;
}

function roleDocuments(config: ProveConfig): Map<string, string> {
  const out = new Map<string, string>();
  for (const role of config.compiled.roles) {
    const docs = config.documents
      .filter((d) => d.role === role.name)
      .map((d) => [d.layer, d.name, d.document]);
    out.set(role.name, JSON.stringify({ arn: role.arn, docs }));
  }
  return out;
}

function sameShared(a: ProveConfig, b: ProveConfig): boolean {
  const guard = (c: ProveConfig): string =>
    JSON.stringify(
      c.documents.filter((d) => d.layer === 'guardrail').map((d) => [d.name, d.document]),
    );
  const routes = (c: ProveConfig): string =>
    JSON.stringify(c.routes.map((r) => [r.method, r.path, r.action, r.resource]));
  // The unsafe-variable check reads every key any policy substitutes: when those differ, a role
  // that did not change can still change its decisions.
  const vars = (c: ProveConfig): string => JSON.stringify([...c.compiled.variableKeys].sort());
  return guard(a) === guard(b) && routes(a) === routes(b) && vars(a) === vars(b);
}

/**
 * The roles whose documents differ between the configurations, each with
 * its configuration; undefined when guardrails, routes or the keys policies
 * substitute differ (then every role may change its decisions). A request allowed by a role that is the
 * same in both, on the same route, is allowed in both: only these roles can
 * change a decision.
 */
function changedRoles(
  a: ProveConfig,
  b: ProveConfig,
): { config: ProveConfig; role: CompiledRole }[] | undefined {
  if (!sameShared(a, b)) return undefined;
  const da = roleDocuments(a);
  const db = roleDocuments(b);
  const out: { config: ProveConfig; role: CompiledRole }[] = [];
  for (const [config, mine, theirs] of [
    [a, da, db],
    [b, db, da],
  ] as const) {
    for (const role of config.compiled.roles) {
      if (mine.get(role.name) !== theirs.get(role.name)) out.push({ config, role });
    }
  }
  return out;
}

/**
 * Keeps the claims cells some changed role's trust policy admits. A trust
 * policy that reads a key besides claims cannot be decided per caller:
 * then every cell is kept.
 */
function changedRoleFilter(
  space: Space,
  changed: readonly { role: CompiledRole }[] | undefined,
): (cell: ClaimsCell) => boolean {
  if (changed === undefined) return () => true;
  const callerOnly = changed.every(({ role }) =>
    contextKeysRead(role.trust).every((k) => {
      // aws:ResourceTag comes from the route, which a caller alone does not have.
      return keyDim(k, space.issuers)?.kind === 'claim' || k === 'aws:principalarn';
    }),
  );
  if (!callerOnly) return () => true;
  return (cell) =>
    changed.some(({ role }) =>
      admits(evaluateTrust(role, cell.principal, resolvingContext(callerResolver(cell.principal)))),
    );
}

/** True when some Allow statement of the role's own policies names an action pattern matching `action` (or uses NotAction). */
function mayAllow(config: ProveConfig, role: string, action: string): boolean {
  const lower = action.toLowerCase();
  for (const d of config.documents) {
    if (d.role !== role || d.layer !== 'identity') continue;
    const doc = d.document as { Statement?: unknown };
    const list: unknown[] = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
    for (const st of list) {
      const stmt = st as { Effect?: unknown; Action?: unknown; NotAction?: unknown };
      if (stmt.Effect !== 'Allow') continue;
      if (stmt.NotAction !== undefined) return true;
      const actions: unknown[] = Array.isArray(stmt.Action) ? stmt.Action : [stmt.Action];
      if (actions.some((a) => typeof a === 'string' && matches(globTokens(a.toLowerCase()), lower)))
        return true;
    }
  }
  return false;
}

/**
 * Keeps the targets some changed role could allow: with the same routes in
 * both configurations, a target maps to one action, and a role allows only
 * an action one of its own Allow statements names.
 */
function changedRoleTargets(
  targets: readonly Target[],
  changed: readonly { config: ProveConfig; role: CompiledRole }[] | undefined,
): Target[] {
  if (changed === undefined) return [...targets];
  return targets.filter((t) =>
    changed.some(({ config, role }) => {
      const m = matchRoute(config.compiled.routes, t.method, canonicalOf(t.path));
      return m !== undefined && mayAllow(config, role.name, m.action);
    }),
  );
}

/** The number of cells of `cells` over `targets`; unknown beyond `max`. */
export function boundWork(
  space: Space,
  cells: readonly ClaimsCell[],
  targets: readonly Target[],
  max: number,
): number {
  let total = 0;
  for (const c of cells) {
    total += cellCount(space, c, targets);
    if (total > max) {
      throw new ProveUnknown(
        'ERR_DIFF_UNKNOWN',
        `the request space holds more than ${max} cells (--max-cells)`,
      );
    }
  }
  return total;
}

interface Group {
  change: Finding['change'];
  cells: Cell[];
  verdicts: Map<Cell, { old: Verdict; new: Verdict }>;
}

/** Decides `witness` again under both; a witness that does not reproduce is a defect, never output. */
export function reproduce(decide: Decider, oldC: ProveConfig, newC: ProveConfig, f: Finding): void {
  const w = JSON.parse(JSON.stringify(f.witness)) as Witness;
  const o = decide(oldC, w).allowed;
  const n = decide(newC, w).allowed;
  if (o !== f.old.allowed || n !== f.new.allowed) {
    throw new Error(`internal error: the witness of ${f.change} on ${f.route} did not reproduce`);
  }
}

/** Proves what changes between `oldC` and `newC`: every class of requests whose decision differs. */
export function diffConfigs(
  oldC: ProveConfig,
  newC: ProveConfig,
  decide: Decider,
  options: ProveOptions,
): DiffResult {
  compareSettings(oldC, newC);
  const changed = options.prune === false ? undefined : changedRoles(oldC, newC);
  const requestedRoles = changed?.flatMap(({ role }) => [role.name, role.arn]);
  const space = buildSpace([oldC, newC], {
    nowMs: options.nowMs,
    ...(requestedRoles === undefined ? {} : { requestedRoles: [...new Set(requestedRoles)] }),
  });
  const targets = changedRoleTargets(targetsOf(space, [oldC, newC]), changed);
  const all = claimsCells(space);
  const kept =
    changed !== undefined && changed.length === 0
      ? []
      : all.filter(changedRoleFilter(space, changed));
  const total = boundWork(space, kept, targets, options.maxCells ?? DEFAULT_MAX_CELLS);
  const groups = new Map<string, Group>();
  // The values each dimension takes in the whole space, pruned cells included.
  const seen = new Map<string, Set<string>>();
  for (const cc of all)
    for (const [k, v] of Object.entries(cc.labels))
      (seen.get(k) ?? seen.set(k, new Set()).get(k))?.add(v);
  let decisions = 0;
  for (const cc of kept) {
    forEachCell(space, cc, targets, (cell) => {
      for (const [k, v] of Object.entries(cell.labels))
        (seen.get(k) ?? seen.set(k, new Set()).get(k))?.add(v);
      const o = decide(oldC, cell.witness);
      const n = decide(newC, cell.witness);
      decisions += 2;
      if (o.allowed === n.allowed) return;
      const change = n.allowed ? 'new-access' : 'removed-access';
      const by = n.allowed ? n : o;
      const key = `${change}|${by.route ?? ''}|${cell.witness.method}|${by.role ?? ''}`;
      const g: Group = groups.get(key) ?? { change, cells: [], verdicts: new Map() };
      g.cells.push(cell);
      g.verdicts.set(cell, { old: o, new: n });
      groups.set(key, g);
    });
  }
  const findings = [...groups.values()].map((g) => findingOf(g, n2c(g.change, oldC, newC), seen));
  findings.sort((a, b) => (a.change === b.change ? 0 : a.change === 'new-access' ? -1 : 1));
  for (const f of findings) reproduce(decide, oldC, newC, f);
  return {
    findings,
    stats: { claimsCells: all.length, targets: targets.length, cells: total, decisions },
  };
}

function n2c(change: Finding['change'], oldC: ProveConfig, newC: ProveConfig): ProveConfig {
  return change === 'new-access' ? newC : oldC;
}

/** `METHOD /template` of `route[i]` in `config`. */
export function routeText(config: ProveConfig, source: string | undefined, method: string): string {
  const i = /^route\[(\d+)\]$/.exec(source ?? '')?.[1];
  const spec = i === undefined ? undefined : config.routes[Number(i)];
  return spec === undefined ? `${method} ${source ?? '?'}` : `${method} ${spec.path}`;
}

/** The caller cell of a cell: its issuer and claim values. */
function callerKey(c: Cell): string {
  return JSON.stringify([
    c.witness.claims['iss'],
    Object.entries(c.labels).filter(([k]) => k.startsWith('claim ')),
  ]);
}

function findingOf(
  g: Group,
  allowing: ProveConfig,
  seen: ReadonlyMap<string, ReadonlySet<string>>,
): Finding {
  // The plainest request of the class (fewest claims and headers) reads best as a witness.
  const size = (c: Cell): number => JSON.stringify(c.witness).length;
  const first = g.cells.reduce((a, b) => (size(b) < size(a) ? b : a));
  const v = g.verdicts.get(first) as { old: Verdict; new: Verdict };
  const by = g.change === 'new-access' ? v.new : v.old;
  const constraints: Record<string, string[]> = {};
  const names = Object.keys(first.labels).filter((n) => n !== 'route' && n !== 'time');
  for (const name of names) {
    const values = new Set(g.cells.map((c) => c.labels[name] ?? ''));
    if (values.size < (seen.get(name)?.size ?? 0)) constraints[name] = [...values].sort();
  }
  return {
    change: g.change,
    route: routeText(allowing, by.route, first.witness.method),
    action: by.action ?? '',
    role: by.role ?? '',
    cells: g.cells.length,
    callers: new Set(g.cells.map(callerKey)).size,
    constraints,
    witness: first.witness,
    old: v.old,
    new: v.new,
  };
}
