/**
 * `rolegate explain DECISION_ID --audit FILE... [--config FILE] [--claims
 * JSON] [--format text|json]`: the operator's answer to "why was this
 * refused?". Finds the decision's record in the audit files (rolegate's
 * own format or `audit.format: cloudtrail`), prints it with the
 * explanation the record keeps for a deny and, given a configuration,
 * replays the request against it and says whether it decides the same
 * (`explain-replay.ts`). Exit status 0 when the record was found, 1 when
 * not (the error says how many records were read), 2 for a usage error.
 */
import type { LoadedConfig } from '../config/compile.js';
import { loadConfig } from '../config/load.js';
import { ERROR_CATALOGUE, isErrorCode, RolegateError } from '../errors.js';
import { isRecord } from '../options/fields.js';
import { stringFlag, type ParsedArgs } from './args.js';
import {
  formatReadSummary,
  readAuditFiles,
  requireAuditRecords,
  str,
  strings,
  totalCounts,
  type AuditEntry,
} from './audit-files.js';
import { configSourceOf } from './config-source.js';
import { replayDecision, type Replay } from './explain-replay.js';
import type { CliIo } from './io.js';
import { UsageError } from './usage-error.js';

const COMMAND = 'explain';

/** A decision id as rolegate writes them (a UUID) or any short printable word; never echoed otherwise. */
const DECISION_ID = /^[\x21-\x7e]{1,128}$/;
/** A JWS or JWE compact serialization: a token pasted where the id goes is never echoed. */
const LOOKS_LIKE_TOKEN = /^eyJ[\w-]*\.[\w-]*\./;

/** What the command found and, with `--config`, the replay. */
export interface ExplainResult {
  readonly decisionId: string;
  readonly entry: AuditEntry;
  /** How many decision records carry this id (a replica's file given twice, say); the first is shown. */
  readonly matches: number;
  readonly replay?: Replay;
}

/** Text for a terminal: control characters (a newline in a claim, an escape sequence) become `?`. */
function clean(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
}

function listOf(values: readonly string[]): string {
  return values.length === 0 ? 'none' : values.map(clean).join(', ');
}

/** One trust statement of an explanation entry, as a line. */
function trustLine(s: Record<string, unknown>): string {
  const name = `${str(s, 'statement') ?? '?'} (${str(s, 'effect') ?? '?'})`;
  if (s['matched'] === true) return `${name} applied`;
  const what = [str(s, 'element'), str(s, 'operator'), str(s, 'key')].filter(
    (x): x is string => x !== undefined,
  );
  return `${name} did not apply${what.length === 0 ? '' : `: ${what.join(' ')}`}`;
}

/**
 * The explanation entries of an audit record as text lines (indented by
 * `indent`): an identity refusal's sentence, then each role's trust verdict
 * statement by statement, the permission statements that applied and the
 * context keys the request lacked. The same renderer serves the recorded
 * decision and the replay, which share the audit record's shape.
 */
export function explanationLines(record: Record<string, unknown>, indent = '  '): string[] {
  const entries = Array.isArray(record['explanation']) ? record['explanation'] : [];
  const out: string[] = [];
  for (const entry of entries) {
    if (!isRecord(entry)) continue;
    const identity = entry['identity'];
    if (isRecord(identity)) {
      const check = str(identity, 'check');
      out.push(
        `${indent}identity${check === undefined ? '' : ` (${check})`}: ${clean(str(identity, 'message') ?? '')}`,
      );
      continue;
    }
    out.push(
      `${indent}role ${clean(str(entry, 'role') ?? '?')}: trust ${str(entry, 'trust') ?? '?'}`,
    );
    const statements = Array.isArray(entry['trust_statements']) ? entry['trust_statements'] : [];
    for (const s of statements)
      if (isRecord(s)) out.push(`${indent}  trust ${clean(trustLine(s))}`);
    if (Array.isArray(entry['matched'])) {
      out.push(`${indent}  permissions matched: ${listOf(strings(entry, 'matched'))}`);
    }
    const missing = strings(entry, 'missing_context_keys');
    if (missing.length > 0) out.push(`${indent}  missing context keys: ${listOf(missing)}`);
  }
  return out;
}

/** The decision part of a record: verdict, request, caller, route, roles, statements, config. */
function decisionLines(r: Record<string, unknown>, indent: string): string[] {
  const text = (key: string) => {
    const v = str(r, key);
    return v === undefined ? undefined : clean(v);
  };
  const role = text('role');
  const source = text('source_address');
  const host = text('host');
  const out = [
    `${indent}decision: ${text('decision') ?? '?'} ${text('reason') ?? ''}${role === undefined ? '' : ` (role ${role})`}`,
  ];
  if (text('method') !== undefined || text('path') !== undefined) {
    out.push(
      `${indent}request:  ${text('method') ?? '?'} ${host ?? ''}${text('path') ?? '?'}${source === undefined ? '' : ` from ${source}`}`,
    );
  }
  const subject = text('subject');
  if (subject !== undefined)
    out.push(`${indent}caller:   ${subject} (issuer ${text('issuer') ?? '?'})`);
  const action = text('action');
  if (action !== undefined) {
    out.push(`${indent}route:    ${text('route') ?? '?'}: ${action} on ${text('resource') ?? '?'}`);
  }
  out.push(`${indent}roles considered: ${listOf(strings(r, 'roles_considered'))}`);
  out.push(`${indent}determining: ${listOf(strings(r, 'determining'))}`);
  const grant = text('grant_id');
  if (grant !== undefined) out.push(`${indent}grant:    ${grant}`);
  return out;
}

function replayLines(replay: Replay): string[] {
  const head = `Replayed against ${clean(replay.config)}`;
  const hash = replay.configHash ?? 'unknown';
  const out = [
    replay.sameConfig
      ? `${head} (config hash ${hash}: the configuration that decided)`
      : `${head} (config hash ${hash}; the decision was made by ${replay.recordedConfigHash ?? 'an unrecorded configuration'}: a different configuration, replayed anyway)`,
  ];
  const q = replay.request;
  if (q !== undefined) {
    out.push(
      `  replayed:     ${q.method} ${clean(q.path)}, host ${clean(q.host)}${q.hostFrom === 'resource' ? ' (from the resource)' : ''}${q.sourceAddress === undefined ? '' : `, from ${q.sourceAddress}`}, claims ${q.claims.join(', ') || 'none (an mTLS peer)'}, at ${q.time}`,
    );
  }
  if (replay.notReplayed.length > 0) out.push(`  not replayed: ${replay.notReplayed.join('; ')}`);
  if (replay.today !== undefined) {
    out.push('  today:', ...decisionLines(replay.today, '    '));
    const why = explanationLines(replay.today, '    ');
    if (why.length > 0) out.push('    why:', ...why.map((l) => `  ${l}`));
  }
  const verdict = {
    same: 'Same',
    differs: 'Differs',
    unknown: 'Cannot tell',
    'not-replayable': 'Not replayable',
  }[replay.verdict];
  out.push(`${verdict}: ${clean(replay.why)}`);
  return out;
}

/** A deny's reason with what the catalogue says of it, for a record that keeps no explanation. */
function reasonText(reason: string): string {
  return isErrorCode(reason) ? `${reason}: ${ERROR_CATALOGUE[reason]}` : clean(reason);
}

/** The text form of a result. */
export function formatExplain(result: ExplainResult): string {
  const { entry } = result;
  const r = entry.record;
  const when = Number.isFinite(entry.time) ? `, ${new Date(entry.time).toISOString()}` : '';
  const out = [
    `Decision ${clean(result.decisionId)} (${clean(entry.file)} line ${entry.line}${when}${entry.format === 'cloudtrail' ? ', CloudTrail-shaped' : ''})`,
    ...decisionLines(r, '  '),
    `  config:   ${clean(str(r, 'config_hash') ?? 'not recorded')}`,
  ];
  if (result.matches > 1)
    out.push(`  (${result.matches} records have this id; the first is shown)`);
  const why = explanationLines(r, '    ');
  if (why.length > 0) out.push('  why:', ...why);
  else if (str(r, 'decision') === 'deny') {
    out.push(
      entry.format === 'cloudtrail'
        ? '  why: the CloudTrail-shaped record keeps no explanation; replay it with --config FILE'
        : `  why: ${reasonText(str(r, 'reason') ?? '?')}`,
    );
  }
  if (result.replay !== undefined) out.push('', ...replayLines(result.replay));
  return `${out.join('\n')}\n`;
}

/** The JSON form of a result: one object. */
export function explainJson(result: ExplainResult): object {
  const { entry } = result;
  return {
    decision_id: result.decisionId,
    file: entry.file,
    line: entry.line,
    ...(Number.isFinite(entry.time) ? { time: new Date(entry.time).toISOString() } : {}),
    format: entry.format,
    matches: result.matches,
    record: entry.record,
    ...(result.replay === undefined ? {} : { replay: result.replay }),
  };
}

function claimsFlag(args: ParsedArgs): Record<string, unknown> | undefined {
  const text = stringFlag(args, 'claims', COMMAND);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError('--claims must be a JSON object', COMMAND);
  }
  if (!isRecord(parsed)) throw new UsageError('--claims must be a JSON object', COMMAND);
  if ('iss' in parsed || 'sub' in parsed) {
    throw new UsageError(
      '--claims adds claims to the recorded iss and sub; leave those out',
      COMMAND,
    );
  }
  return parsed;
}

function decisionIdOf(args: ParsedArgs): string {
  const [id, ...extra] = args.positionals;
  if (id === undefined) throw new UsageError('missing DECISION_ID', COMMAND);
  if (extra.length > 0) throw new UsageError('explain takes one DECISION_ID', COMMAND);
  if (LOOKS_LIKE_TOKEN.test(id)) {
    throw new UsageError(
      'DECISION_ID looks like a token, so it is not shown; give a decision id',
      COMMAND,
    );
  }
  if (!DECISION_ID.test(id)) {
    throw new UsageError(
      'DECISION_ID must be printable ASCII without spaces, at most 128 characters',
      COMMAND,
    );
  }
  return id;
}

/** Finds `id` in `files`, or throws `ERR_AUDIT_EMPTY` / `ERR_DECISION_NOT_FOUND` saying what was read. */
export async function findDecision(
  id: string,
  files: readonly string[],
): Promise<{ entry: AuditEntry; matches: number }> {
  const lines = await readAuditFiles(files);
  requireAuditRecords(lines, 'decision');
  const found = lines.decisions.filter((d) => d.record['decision_id'] === id);
  const [first] = found;
  if (first !== undefined) return { entry: first, matches: found.length };
  const shadow = lines.shadows.some((s) => s.record['decision_id'] === id)
    ? '; a shadow disagreement has this id, but its decision record was not written (allows are sampled: audit.allowSampleRate)'
    : '';
  throw new RolegateError(
    'ERR_DECISION_NOT_FOUND',
    `no decision record has id ${id}: ${formatReadSummary(totalCounts(lines)).replace(/^Read/, 'read')}${shadow}`,
  );
}

/**
 * Runs `rolegate explain` with parsed `args`: the audit files (`--audit`,
 * required, repeatable), the configuration to replay against (`--config`,
 * default none: no replay), claims to add to the replay (`--claims`,
 * default none) and the output format (`--format`, default text).
 * Resolves to exit status 0 when the record was found.
 */
export async function runExplain(
  args: ParsedArgs,
  io: CliIo,
  auditFiles: readonly string[],
  format: 'text' | 'json',
  now: () => number = Date.now,
): Promise<number> {
  const id = decisionIdOf(args);
  const extra = claimsFlag(args);
  const configFlag = stringFlag(args, 'config', COMMAND);
  if (extra !== undefined && configFlag === undefined) {
    throw new UsageError('--claims is for the replay: give --config FILE too', COMMAND);
  }
  // The configuration is loaded first: an invalid one fails before the files are searched.
  let config: { loaded: LoadedConfig; name: string } | undefined;
  if (configFlag !== undefined) {
    const source = await configSourceOf(configFlag, io, COMMAND);
    config = { loaded: loadConfig(source), name: source.file };
  }
  const { entry, matches } = await findDecision(id, auditFiles);
  const replay =
    config === undefined
      ? undefined
      : replayDecision(entry, config.loaded, config.name, extra ?? {}, now);
  const result: ExplainResult = {
    decisionId: id,
    entry,
    matches,
    ...(replay === undefined ? {} : { replay }),
  };
  io.stdout.write(
    format === 'json' ? `${JSON.stringify(explainJson(result))}\n` : formatExplain(result),
  );
  return 0;
}
