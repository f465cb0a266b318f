/**
 * `rolegate diff`: proves what a configuration change does to access
 * (`--old A --new B`), or checks one configuration in the manner of IAM
 * Access Analyzer (`diff not-granted`, `diff public`). The proof lives in
 * `src/prove/`; this module loads the configurations as `validate` and
 * `simulate` do, decides witnesses with `simulate`'s own decision
 * ({@link decideClaims}) and prints the findings. Exit status: 0 proved
 * (no finding that fails), 1 a failing finding, 2 unknown or a usage error.
 */
import type { LoadedConfig } from '../config/compile.js';
import { loadConfig } from '../config/load.js';
import { RolegateError } from '../errors.js';
import {
  checkNotGranted,
  checkPublic,
  type CheckFinding,
  type CheckResult,
} from '../prove/checks.js';
import type { Witness } from '../prove/cells.js';
import {
  diffConfigs,
  type Decider,
  type DiffResult,
  type Finding,
  type ProofStats,
} from '../prove/diff.js';
import type { ProveConfig } from '../prove/space.js';
import { placeText, ProveUnknown } from '../prove/unknown.js';
import type { ParsedArgs } from './args.js';
import { stringFlag } from './args.js';
import type { CliIo } from './io.js';
import { decideClaims } from './simulate-config.js';
import { UsageError } from './usage-error.js';

/** Exit status of an unknown result (as for a usage error: nothing was proved). */
export const UNKNOWN_EXIT = 2;

/** Reads a loaded configuration as the prover does; `file` names it in findings. */
export function proveConfigOf(loaded: LoadedConfig, file: string): ProveConfig {
  const s = loaded.settings;
  if (loaded.documents === undefined)
    throw new RolegateError('ERR_INTERNAL', 'configuration loaded without its documents');
  // Its tags are whatever the catalog holds at request time: nothing offline can prove them.
  const owned = s.routes.find((r) => r.entity !== undefined);
  if (owned !== undefined) {
    throw new ProveUnknown(
      'ERR_DIFF_UNKNOWN',
      `route ${owned.method.toUpperCase()} ${owned.path} takes its resource tags from the Backstage catalog (entity ${owned.entity ?? ''}), which diff does not read`,
      { file, path: `${owned.jsonPath}.entity` },
    );
  }
  return {
    label: file,
    compiled: loaded,
    documents: loaded.documents.map((d) => ({
      ...(d.role === undefined ? {} : { role: d.role }),
      layer: d.layer,
      name: d.resolved.ref.name,
      file: d.resolved.file,
      basePath: d.resolved.basePath,
      document: d.resolved.document,
    })),
    routes: s.routes.map((r) => ({
      method: r.method.toUpperCase(),
      path: r.path,
      action: r.action,
      resource: r.resource,
      place: { file, path: r.jsonPath },
    })),
    issuers: loaded.issuers,
    // What decides a request besides roles, guardrails and routes.
    settings: JSON.stringify({
      issuers: s.issuers,
      headers: s.headers,
      mtls: s.mtls,
      unmatchedRoutes: s.unmatchedRoutes,
      tokens: s.tokens,
      aws: s.aws ?? null,
    }),
    requestedRoleHeader: s.headers.requestedRole,
    unmatchedRoutes: s.unmatchedRoutes,
    mtls: s.mtls.enabled,
    iamRoles: s.aws?.iam !== undefined,
  };
}

/** {@link Decider} over `simulate`'s decision: claims taken as verified, the live pipeline after. */
export function simulateDecider(configs: ReadonlyMap<ProveConfig, LoadedConfig>): Decider {
  return (config, w: Witness) => {
    const loaded = configs.get(config);
    if (loaded === undefined) throw new RolegateError('ERR_INTERNAL', 'unknown configuration');
    const { outcome } = decideClaims(
      w.claims,
      {
        method: w.method,
        path: w.path,
        host: w.host,
        headers: w.headers,
        ...(w.sourceIp === undefined ? {} : { sourceIp: w.sourceIp }),
        secure: w.secure,
      },
      loaded,
      Date.parse(w.time),
    );
    return {
      allowed: outcome.allowed,
      reason: outcome.reason,
      ...(outcome.role === undefined ? {} : { role: outcome.role.name }),
      ...(outcome.route === undefined
        ? {}
        : {
            route: outcome.route.source,
            action: outcome.route.action,
            resource: outcome.route.resource,
          }),
    };
  };
}

function load(file: string): { prove: ProveConfig; loaded: LoadedConfig } {
  const loaded = loadConfig(file);
  return { prove: proveConfigOf(loaded, file), loaded };
}

function statsLine(s: ProofStats): string {
  return `${s.cells} request cells (${s.claimsCells} caller cells, ${s.targets} method and path cells), ${s.decisions} decisions`;
}

function verdictText(v: Finding['old']): string {
  return v.allowed ? `Allow (role ${v.role ?? '?'})` : `Deny (${v.reason})`;
}

/** Values of one dimension a text finding shows (default 6). */
const MAX_SHOWN = 6;

function findingText(f: Finding): string {
  const head = f.change === 'new-access' ? 'NEW ACCESS' : 'REMOVED ACCESS';
  const lines = [`${head}  ${f.route}  ${f.action}  role ${f.role}  (${f.cells} cells)`];
  for (const [dim, values] of Object.entries(f.constraints)) {
    // The text stays readable; --format json lists every value.
    const shown =
      values.length > MAX_SHOWN
        ? [...values.slice(0, MAX_SHOWN), `... (${values.length - MAX_SHOWN} more)`]
        : values;
    lines.push(`  when ${dim}: ${shown.join(' | ')}`);
  }
  lines.push(`  witness: ${JSON.stringify(f.witness)}`);
  lines.push(`  old: ${verdictText(f.old)}; new: ${verdictText(f.new)}`);
  return `${lines.join('\n')}\n`;
}

function format(args: ParsedArgs): 'text' | 'json' {
  const f = stringFlag(args, 'format', 'diff') ?? 'text';
  if (f !== 'text' && f !== 'json')
    throw new UsageError(`--format must be text or json, not ${JSON.stringify(f)}`, 'diff');
  return f;
}

function maxCells(args: ParsedArgs): number | undefined {
  const text = stringFlag(args, 'max-cells', 'diff');
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError('--max-cells takes a positive integer', 'diff');
  return n;
}

function writeDiff(io: CliIo, r: DiffResult, json: boolean, names: [string, string]): void {
  if (json) {
    io.stdout.write(
      `${JSON.stringify({ result: 'proved', findings: r.findings, stats: r.stats })}\n`,
    );
    return;
  }
  io.stdout.write(`rolegate diff: old ${names[0]} -> new ${names[1]}\n`);
  for (const f of r.findings) io.stdout.write(findingText(f));
  const added = r.findings.filter((f) => f.change === 'new-access').length;
  const classes = (n: number): string => `${n} ${n === 1 ? 'class' : 'classes'}`;
  const summary =
    r.findings.length === 0
      ? 'no decision changes'
      : added === 0
        ? `no new access; ${classes(r.findings.length)} of removed access`
        : `${classes(added)} of new access, ${classes(r.findings.length - added)} of removed access`;
  io.stdout.write(`proved: ${summary}; ${statsLine(r.stats)}\n`);
}

async function runCompare(args: ParsedArgs, io: CliIo, now: () => number): Promise<number> {
  const oldFile = stringFlag(args, 'old', 'diff', true);
  const newFile = stringFlag(args, 'new', 'diff', true);
  const failOn = stringFlag(args, 'fail-on', 'diff');
  if (failOn !== undefined && failOn !== 'new-access' && failOn !== 'any-change') {
    throw new UsageError('--fail-on takes new-access or any-change', 'diff');
  }
  const json = format(args) === 'json';
  const a = load(oldFile);
  const b = load(newFile);
  const decide = simulateDecider(
    new Map([
      [a.prove, a.loaded],
      [b.prove, b.loaded],
    ]),
  );
  const limit = maxCells(args);
  const r = diffConfigs(a.prove, b.prove, decide, {
    nowMs: now(),
    ...(limit === undefined ? {} : { maxCells: limit }),
  });
  writeDiff(io, r, json, [oldFile, newFile]);
  const fails =
    failOn === 'any-change'
      ? r.findings.length > 0
      : failOn === 'new-access' && r.findings.some((f) => f.change === 'new-access');
  if (fails) {
    io.stderr.write(
      `rolegate diff: ${failOn === 'any-change' ? 'ERR_DIFF_NEW_ACCESS: the decision of some requests changes' : 'ERR_DIFF_NEW_ACCESS: the new configuration allows requests the old one denied'}\n`,
    );
  }
  return fails ? 1 : 0;
}

function checkText(kind: string, f: CheckFinding): string {
  const who = f.issuer === undefined ? '' : `  every token of ${f.issuer}`;
  return `${kind}  ${f.route}  ${f.action} on ${f.resource}  role ${f.role}${who}\n  witness: ${JSON.stringify(f.witness)}\n`;
}

function writeCheck(io: CliIo, r: CheckResult, json: boolean, kind: string, ok: string): number {
  if (json)
    io.stdout.write(
      `${JSON.stringify({ result: 'proved', findings: r.findings, stats: r.stats })}\n`,
    );
  else {
    for (const f of r.findings) io.stdout.write(checkText(kind, f));
    io.stdout.write(
      `${r.findings.length === 0 ? `proved: ${ok}` : `${r.findings.length} finding(s)`}; ${statsLine(r.stats)}\n`,
    );
  }
  if (r.findings.length === 0) return 0;
  io.stderr.write(`rolegate diff: ERR_DIFF_GRANTED: ${kind.toLowerCase()}\n`);
  return 1;
}

async function runCheck(
  sub: string,
  args: ParsedArgs,
  io: CliIo,
  now: () => number,
): Promise<number> {
  const file = stringFlag(args, 'config', 'diff', true);
  const json = format(args) === 'json';
  const { prove, loaded } = load(file);
  const decide = simulateDecider(new Map([[prove, loaded]]));
  const limit = maxCells(args);
  const options = { nowMs: now(), ...(limit === undefined ? {} : { maxCells: limit }) };
  if (sub === 'not-granted') {
    const action = stringFlag(args, 'action', 'diff', true);
    const resource = stringFlag(args, 'resource', 'diff') ?? '*';
    const r = checkNotGranted(prove, decide, action, resource, options);
    const why = r.stats.targets === 0 ? ' (no route maps a request to it)' : '';
    return writeCheck(
      io,
      r,
      json,
      'GRANTED',
      `no identity can perform ${action} on ${resource}${why}`,
    );
  }
  const r = checkPublic(prove, decide, options);
  return writeCheck(
    io,
    r,
    json,
    'PUBLIC',
    'no route is reachable by every token of an issuer, and none without a credential',
  );
}

/** Runs `rolegate diff` and its checks; unknown results are reported with their construct and exit 2. */
export async function runDiff(
  args: ParsedArgs,
  io: CliIo,
  now: () => number = Date.now,
): Promise<number> {
  const [sub, ...extra] = args.positionals;
  if (extra.length > 0 || (sub !== undefined && sub !== 'not-granted' && sub !== 'public')) {
    throw new UsageError(
      'expected "diff --old A --new B", "diff not-granted ..." or "diff public ..."',
      'diff',
    );
  }
  try {
    return sub === undefined ? await runCompare(args, io, now) : await runCheck(sub, args, io, now);
  } catch (err) {
    if (!(err instanceof ProveUnknown)) throw err;
    const where = placeText(err.place);
    io.stdout.write(
      args.values['format'] === 'json'
        ? `${JSON.stringify({ result: 'unknown', code: err.code, message: err.message, place: err.place })}\n`
        : '',
    );
    io.stderr.write(
      `rolegate diff: ${err.code}: unknown: ${err.message}${where === '' ? '' : ` at ${where}`} (see docs/diff.md)\n`,
    );
    return UNKNOWN_EXIT;
  }
}
