/**
 * Reading audit files (JSON Lines as rolegate writes them) for the commands
 * that read them (`report usage`, `shadow report`, `explain`): decision
 * records (`audit` key) and shadow disagreements (`shadow` key).
 * CloudTrail-shaped decision records (`audit.format: cloudtrail`) are read
 * as the decision records they stand for. Every other line is skipped and
 * counted, by file, so a command can say what it read and refuse files
 * that held no audit record at all (the wrong file, an operational log)
 * instead of reporting on nothing.
 */
import { readFile } from 'node:fs/promises';
import { fsErrorReason } from '../config/fs-error.js';
import { RolegateError } from '../errors.js';
import { isRecord } from '../options/fields.js';
import { UsageError } from './usage-error.js';

/** One record read from an audit file, with where it was. */
export interface AuditEntry {
  /** The line's `time` (epoch ms; NaN when absent). */
  readonly time: number;
  /** The record: the rolegate decision or shadow record, or the decision fields of a CloudTrail one. */
  readonly record: Record<string, unknown>;
  /** The file it was read from, as given. */
  readonly file: string;
  /** Its line number in that file (1-based). */
  readonly line: number;
  /** The record's shape as written: `rolegate` or `cloudtrail` (decision records only). */
  readonly format: 'rolegate' | 'cloudtrail';
}

/** What one file held, line by line. */
export interface AuditFileCounts {
  readonly file: string;
  /** Non-blank lines read. */
  readonly lines: number;
  /** Decision records (either format), `--since` window or not. */
  readonly decisions: number;
  /** Shadow disagreement records, `--since` window or not. */
  readonly shadows: number;
  /** Lines that are not JSON (a partial last line, a stack trace, plain text). */
  readonly notJson: number;
  /** JSON lines that are no audit record (operational log lines, other JSON). */
  readonly notAudit: number;
  /** Records left out because they are older than `--since`. */
  readonly beforeSince: number;
}

/** The lines of the audit files that the commands read. */
export interface AuditLines {
  /** Decision records, in file and line order. */
  readonly decisions: readonly AuditEntry[];
  /** Shadow disagreement records, in file and line order. */
  readonly shadows: readonly AuditEntry[];
  /** Lines that were neither (not JSON, or JSON but not an audit record). */
  readonly skipped: number;
  /** What each file held, in the order given. */
  readonly files: readonly AuditFileCounts[];
}

type Counts = { -readonly [K in keyof AuditFileCounts]: AuditFileCounts[K] };

function timeOf(value: Record<string, unknown>): number {
  const raw = value['time'];
  return typeof raw === 'string' ? Date.parse(raw) : typeof raw === 'number' ? raw : NaN;
}

/** Reads every file; an unreadable one throws `ERR_AUDIT_READ`. Records before `sinceMs` are left out. */
export async function readAuditFiles(
  files: readonly string[],
  sinceMs = Number.NEGATIVE_INFINITY,
): Promise<AuditLines> {
  const decisions: AuditEntry[] = [];
  const shadows: AuditEntry[] = [];
  const counts: Counts[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new RolegateError('ERR_AUDIT_READ', `${file}: ${fsErrorReason(err)}`);
    }
    const c: Counts = {
      file,
      lines: 0,
      decisions: 0,
      shadows: 0,
      notJson: 0,
      notAudit: 0,
      beforeSince: 0,
    };
    counts.push(c);
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] ?? '';
      if (line.trim() === '') continue;
      c.lines++;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        c.notJson++;
        continue;
      }
      if (!isRecord(value)) {
        c.notAudit++;
        continue;
      }
      const time = timeOf(value);
      const at = { time, file, line: i + 1 };
      const audit = value['audit'];
      const shadow = value['shadow'];
      const trail = isRecord(audit) ? undefined : fromCloudTrail(value);
      let entry: AuditEntry;
      let list: AuditEntry[];
      if (isRecord(audit)) {
        c.decisions++;
        [entry, list] = [{ ...at, record: audit, format: 'rolegate' }, decisions];
      } else if (trail !== undefined) {
        c.decisions++;
        [entry, list] = [{ ...at, record: trail, format: 'cloudtrail' }, decisions];
      } else if (isRecord(shadow)) {
        c.shadows++;
        [entry, list] = [{ ...at, record: shadow, format: 'rolegate' }, shadows];
      } else {
        c.notAudit++;
        continue;
      }
      // NaN (no time) is never inside a window: a record without a time cannot be placed.
      if (sinceMs !== Number.NEGATIVE_INFINITY && !(time >= sinceMs)) c.beforeSince++;
      else list.push(entry);
    }
  }
  const skipped = counts.reduce((n, c) => n + c.notJson + c.notAudit, 0);
  return { decisions, shadows, skipped, files: counts };
}

/** What all files held together, and how many files there were. */
export type AuditCounts = Omit<AuditFileCounts, 'file'> & { readonly files: number };

/** The counts of all files together. */
export function totalCounts(lines: AuditLines): AuditCounts {
  const total = {
    files: lines.files.length,
    lines: 0,
    decisions: 0,
    shadows: 0,
    notJson: 0,
    notAudit: 0,
    beforeSince: 0,
  };
  for (const c of lines.files) {
    total.lines += c.lines;
    total.decisions += c.decisions;
    total.shadows += c.shadows;
    total.notJson += c.notJson;
    total.notAudit += c.notAudit;
    total.beforeSince += c.beforeSince;
  }
  return total;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `2 skipped (1 not JSON, 1 not an audit record)`, or `none skipped`. */
function skippedText(notJson: number, notAudit: number): string {
  if (notJson + notAudit === 0) return 'none skipped';
  const why = [
    ...(notJson > 0 ? [`${notJson} not JSON`] : []),
    ...(notAudit > 0 ? [`${notAudit} not an audit record`] : []),
  ];
  return `${notJson + notAudit} skipped (${why.join(', ')})`;
}

/**
 * One line saying what the files held, for the head of a report:
 * `Read 12 lines in 1 file: 7 decision records, 3 shadow disagreements, 2
 * skipped (1 not JSON, 1 not an audit record)`; `since` (the `--since`
 * text) adds how many records were older.
 */
export function formatReadSummary(t: AuditCounts, since?: string): string {
  const older =
    since === undefined || t.beforeSince === 0
      ? ''
      : `, ${t.beforeSince} of them before the last ${since}`;
  return (
    `Read ${plural(t.lines, 'line')} in ${plural(t.files, 'file')}: ` +
    `${plural(t.decisions, 'decision record')}, ${plural(t.shadows, 'shadow disagreement')}${older}, ` +
    skippedText(t.notJson, t.notAudit)
  );
}

/**
 * Throws `ERR_AUDIT_EMPTY` when the files held no audit record a command
 * can use: no decision record (`decision`, for `report usage` and
 * `explain`) or no audit line at all (`any`, for `shadow report`, whose
 * files may rightly hold no disagreement). Empty files and files of other
 * lines are both refused: a report on nothing reads like a clean bill.
 */
export function requireAuditRecords(lines: AuditLines, kind: 'decision' | 'any'): void {
  const t = totalCounts(lines);
  const found = kind === 'decision' ? t.decisions : t.decisions + t.shadows;
  if (found > 0) return;
  const names = lines.files.map((c) => c.file).join(', ');
  const what = kind === 'decision' ? 'decision record' : 'audit record';
  const read =
    t.lines === 0
      ? `${t.files === 1 ? 'the file is' : 'the files are'} empty`
      : `${plural(t.lines, 'line')} read: ` +
        (t.shadows > 0 ? `${plural(t.shadows, 'shadow disagreement')}, ` : '') +
        skippedText(t.notJson, t.notAudit);
  throw new RolegateError('ERR_AUDIT_EMPTY', `no ${what} in ${names}: ${read}`);
}

function field(record: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = record[key];
  return isRecord(v) ? v : {};
}

/** The caller's issuer and subject as `identityOf` (cloudtrail.ts) writes them. */
function cloudTrailCaller(identity: Record<string, unknown>): Record<string, string> {
  const context = field(identity, 'sessionContext');
  const web = field(context, 'webIdFederationData');
  const sub = field(web, 'attributes')['sub'];
  const provider = web['federatedProvider'];
  if (typeof provider === 'string' && typeof sub === 'string')
    return { issuer: provider, subject: sub };
  // An mTLS peer has no federation data: its subject is the SPIFFE id, its issuer the trust domain.
  const id = identity['principalId'];
  const userName = field(context, 'sessionIssuer')['userName'];
  const subject =
    typeof id !== 'string'
      ? undefined
      : typeof userName === 'string' && id.startsWith(`${userName}:`)
        ? id.slice(userName.length + 1)
        : id;
  const domain = subject === undefined ? undefined : /^(spiffe:\/\/[^/]+)/.exec(subject)?.[1];
  return subject === undefined || domain === undefined ? {} : { issuer: domain, subject };
}

/**
 * The decision-record fields of a CloudTrail-shaped record
 * (docs/observability.md#cloudtrail-shaped-audit-records), named as the
 * rolegate record names them; undefined for any other line. The shape keeps
 * no explanation, so none is returned.
 */
export function fromCloudTrail(line: Record<string, unknown>): Record<string, unknown> | undefined {
  const extra = line['additionalEventData'];
  if (line['eventVersion'] === undefined || !isRecord(extra)) return undefined;
  const identity = field(line, 'userIdentity');
  const issuer = field(field(identity, 'sessionContext'), 'sessionIssuer');
  const resources = Array.isArray(line['resources']) ? line['resources'] : [];
  const first: unknown = resources[0];
  const determining = Array.isArray(extra['determining']) ? extra['determining'] : [];
  const text = (key: string, value: unknown) => (typeof value === 'string' ? { [key]: value } : {});
  return {
    decision_id: line['eventID'],
    ...text('request_id', line['requestID']),
    ...text('config_hash', extra['configHash']),
    ...text('method', extra['method']),
    ...text('path', extra['path']),
    ...text('host', extra['host']),
    ...cloudTrailCaller(identity),
    roles_considered: extra['rolesConsidered'],
    ...text('role', issuer['arn']),
    ...text('action', extra['action']),
    ...(isRecord(first) ? text('resource', first['ARN']) : {}),
    decision: extra['decision'],
    reason: extra['reason'],
    determining: determining.map((d: unknown) => (isRecord(d) ? d['statement'] : undefined)),
    ...text('source_address', line['sourceIPAddress']),
    ...text('route', extra['route']),
  };
}

const UNITS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** `30m`, `12h`, `7d`, `2w` (also `s`) in milliseconds; anything else is a usage error of `command`. */
export function parseDuration(text: string, command: string): number {
  const m = /^(\d+)([smhdw])$/.exec(text);
  const unit = m?.[2] === undefined ? undefined : UNITS[m[2]];
  if (m === null || unit === undefined) {
    throw new UsageError(
      `--since must be a duration such as 30m, 12h, 7d or 2w, not ${JSON.stringify(text)}`,
      command,
    );
  }
  return Number(m[1]) * unit;
}

/** A string field of a record, or undefined. */
export function str(record: Record<string, unknown>, key: string): string | undefined {
  const v = record[key];
  return typeof v === 'string' ? v : undefined;
}

/** A string-list field of a record (non-strings dropped), or []. */
export function strings(record: Record<string, unknown>, key: string): string[] {
  const v = record[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
