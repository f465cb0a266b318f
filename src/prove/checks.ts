/**
 * Checks of one configuration in the manner of IAM Access Analyzer's
 * custom policy checks: "no identity can ever do this" (`not-granted`) and
 * "nothing is reachable by every token of an issuer" (`public`). Both
 * decide every cell of the configuration's request space with the live
 * engine, as `diff` does.
 */
import { matchRoute } from '../route/table.js';
import { claimsCells, forEachCell, type Witness } from './cells.js';
import {
  boundWork,
  DEFAULT_MAX_CELLS,
  routeText,
  targetsOf,
  type Decider,
  type ProofStats,
  type ProveOptions,
  type Verdict,
} from './diff.js';
import { arnMatches, canonicalOf } from './routes.js';
import { buildSpace, type ProveConfig } from './space.js';

/** A request that reaches what a check says it must not. */
export interface CheckFinding {
  readonly route: string;
  readonly action: string;
  readonly resource: string;
  readonly role: string;
  /** For `public`: the issuer every token of which reaches the route. */
  readonly issuer?: string;
  readonly witness: Witness;
  readonly verdict: Verdict;
}

/** The answer of a check: no finding means proved. */
export interface CheckResult {
  readonly findings: readonly CheckFinding[];
  readonly stats: ProofStats;
}

function findingOf(
  config: ProveConfig,
  witness: Witness,
  v: Verdict,
  issuer?: string,
): CheckFinding {
  return {
    route: routeText(config, v.route, witness.method),
    action: v.action ?? '',
    resource: v.resource ?? '',
    role: v.role ?? '',
    ...(issuer === undefined ? {} : { issuer }),
    witness,
    verdict: v,
  };
}

/**
 * Proves that no request with the verified claims of any caller reaches
 * `action` (case-insensitive) on a resource `resource` (an ARN pattern)
 * matches; else returns the first allowed request of each route.
 */
export function checkNotGranted(
  config: ProveConfig,
  decide: Decider,
  action: string,
  resource: string,
  options: ProveOptions,
): CheckResult {
  const space = buildSpace([config], {
    nowMs: options.nowMs,
    resources: [{ text: resource, place: { path: '--resource' } }],
  });
  // Only the routes that map to the action on a matching resource can grant it.
  const targets = targetsOf(space, [config]).filter((t) => {
    const m = matchRoute(config.compiled.routes, t.method, canonicalOf(t.path));
    return (
      m !== undefined &&
      m.action.toLowerCase() === action.toLowerCase() &&
      arnMatches(resource, m.resource)
    );
  });
  const cells = claimsCells(space);
  const total = boundWork(space, cells, targets, options.maxCells ?? DEFAULT_MAX_CELLS);
  const found = new Map<string, CheckFinding>();
  let decisions = 0;
  for (const cc of cells) {
    forEachCell(space, cc, targets, (cell) => {
      const v = decide(config, cell.witness);
      decisions++;
      if (v.allowed && !found.has(v.route ?? ''))
        found.set(v.route ?? '', findingOf(config, cell.witness, v));
    });
  }
  return {
    findings: [...found.values()],
    stats: { claimsCells: cells.length, targets: targets.length, cells: total, decisions },
  };
}

/**
 * Finds each route that every token of some issuer can reach, whatever its
 * claims (for every claims cell some request to the route is allowed): a
 * grant with no condition on identity. Without mTLS a request with no
 * credential is always refused (401), so only tokens are considered.
 */
export function checkPublic(
  config: ProveConfig,
  decide: Decider,
  options: ProveOptions,
): CheckResult {
  const space = buildSpace([config], { nowMs: options.nowMs });
  const targets = targetsOf(space, [config]);
  const cells = claimsCells(space);
  const total = boundWork(space, cells, targets, options.maxCells ?? DEFAULT_MAX_CELLS);
  const findings: CheckFinding[] = [];
  let decisions = 0;
  for (const target of targets) {
    for (const issuer of space.issuers) {
      const mine = cells.filter((c) => c.issuer === issuer);
      let first: { w: Witness; v: Verdict } | undefined;
      const everyone =
        mine.length > 0 &&
        mine.every((cc) => {
          let hit: { w: Witness; v: Verdict } | undefined;
          forEachCell(space, cc, [target], (cell) => {
            if (hit !== undefined) return;
            const v = decide(config, cell.witness);
            decisions++;
            if (v.allowed) hit = { w: cell.witness, v };
          });
          first ??= hit;
          return hit !== undefined;
        });
      if (everyone && first !== undefined)
        findings.push(findingOf(config, first.w, first.v, issuer.issuer));
    }
  }
  return {
    findings,
    stats: { claimsCells: cells.length, targets: targets.length, cells: total, decisions },
  };
}
