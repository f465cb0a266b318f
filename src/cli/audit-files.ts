/**
 * Reading audit files (JSON Lines as rolegate writes them) for the reports:
 * decision records (`audit` key) and shadow disagreements (`shadow` key).
 * CloudTrail-shaped decision records (`audit.format: cloudtrail`) are read
 * as the decision records they stand for. Lines that are not JSON objects,
 * or hold neither, are skipped and counted.
 */
import { readFile } from 'node:fs/promises';
import { fsErrorReason } from '../config/fs-error.js';
import { RolegateError } from '../errors.js';
import { isRecord } from '../options/fields.js';
import { UsageError } from './usage-error.js';

/** The lines of the audit files that the reports read. */
export interface AuditLines {
  /** Decision records, each with the line's `time` (epoch ms; NaN when absent). */
  readonly decisions: readonly {
    readonly time: number;
    readonly record: Record<string, unknown>;
  }[];
  /** Shadow disagreement records, with their line's `time`. */
  readonly shadows: readonly { readonly time: number; readonly record: Record<string, unknown> }[];
  /** Lines that were neither (operational log lines, partial lines). */
  readonly skipped: number;
}

/** Reads every file; an unreadable one throws `ERR_AUDIT_READ`. Records before `sinceMs` are left out. */
export async function readAuditFiles(
  files: readonly string[],
  sinceMs = Number.NEGATIVE_INFINITY,
): Promise<AuditLines> {
  const decisions: { time: number; record: Record<string, unknown> }[] = [];
  const shadows: { time: number; record: Record<string, unknown> }[] = [];
  let skipped = 0;
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new RolegateError('ERR_AUDIT_READ', `${file}: ${fsErrorReason(err)}`);
    }
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        skipped++;
        continue;
      }
      if (!isRecord(value)) {
        skipped++;
        continue;
      }
      const rawTime = value['time'];
      const time =
        typeof rawTime === 'string'
          ? Date.parse(rawTime)
          : typeof rawTime === 'number'
            ? rawTime
            : NaN;
      if (sinceMs !== Number.NEGATIVE_INFINITY && !(time >= sinceMs)) continue;
      const audit = value['audit'];
      const shadow = value['shadow'];
      const trail = fromCloudTrail(value);
      if (isRecord(audit)) decisions.push({ time, record: audit });
      else if (trail !== undefined) decisions.push({ time, record: trail });
      else if (isRecord(shadow)) shadows.push({ time, record: shadow });
      else skipped++;
    }
  }
  return { decisions, shadows, skipped };
}

/**
 * The decision-record fields the reports read, from a CloudTrail-shaped
 * record (docs/observability.md#cloudtrail-shaped-audit-records); undefined
 * for any other line.
 */
export function fromCloudTrail(line: Record<string, unknown>): Record<string, unknown> | undefined {
  const extra = line['additionalEventData'];
  if (line['eventVersion'] === undefined || !isRecord(extra)) return undefined;
  const identity = isRecord(line['userIdentity']) ? line['userIdentity'] : {};
  const context = isRecord(identity['sessionContext']) ? identity['sessionContext'] : {};
  const issuer = isRecord(context['sessionIssuer']) ? context['sessionIssuer'] : {};
  const resources = Array.isArray(line['resources']) ? line['resources'] : [];
  const first: unknown = resources[0];
  const determining = Array.isArray(extra['determining']) ? extra['determining'] : [];
  return {
    decision_id: line['eventID'],
    roles_considered: extra['rolesConsidered'],
    ...(typeof issuer['arn'] === 'string' ? { role: issuer['arn'] } : {}),
    ...(typeof extra['action'] === 'string' ? { action: extra['action'] } : {}),
    ...(isRecord(first) && typeof first['ARN'] === 'string' ? { resource: first['ARN'] } : {}),
    decision: extra['decision'],
    reason: extra['reason'],
    determining: determining.map((d: unknown) => (isRecord(d) ? d['statement'] : undefined)),
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
