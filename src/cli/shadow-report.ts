/**
 * `rolegate shadow report --audit FILE...`: what a candidate configuration
 * would change, from the shadow disagreement records in audit files
 * (docs/safe-changes.md#shadow-mode).
 */
import { isRecord } from '../options/fields.js';
import {
  formatReadSummary,
  str,
  strings,
  totalCounts,
  type AuditCounts,
  type AuditLines,
} from './audit-files.js';

/** One group of disagreements: its key, how many, and up to three sample decision ids. */
export interface ShadowGroup {
  readonly key: string;
  readonly count: number;
  readonly samples: readonly string[];
}

/** The summary the report prints. */
export interface ShadowSummary {
  /** Disagreement records read. */
  readonly disagreements: number;
  /** What the files held: lines, records, lines skipped and why. */
  readonly read: AuditCounts;
  /** `live -> candidate` decision pairs (e.g. `allow -> deny`) and their counts. */
  readonly byDirection: readonly ShadowGroup[];
  /** By role: the live role, else the candidate's, else the roles of the determining statements. */
  readonly byRole: readonly ShadowGroup[];
  /** By `METHOD route action` (the live side's mapping, else the candidate's). */
  readonly byRoute: readonly ShadowGroup[];
  /** By determining statement present on one side only, as `live: ...` or `candidate: ...`. */
  readonly byStatement: readonly ShadowGroup[];
}

const SAMPLES = 3;

class Groups {
  private readonly map = new Map<string, { count: number; samples: string[] }>();
  add(key: string, id: string): void {
    let g = this.map.get(key);
    if (!g) {
      g = { count: 0, samples: [] };
      this.map.set(key, g);
    }
    g.count++;
    if (g.samples.length < SAMPLES && id !== '' && !g.samples.includes(id)) g.samples.push(id);
  }
  list(): ShadowGroup[] {
    return [...this.map.entries()]
      .map(([key, g]) => ({ key, count: g.count, samples: g.samples }))
      .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
  }
}

function side(record: Record<string, unknown>, name: string): Record<string, unknown> {
  const v = record[name];
  return isRecord(v) ? v : {};
}

/** Groups the shadow records of `lines`. */
export function summariseShadow(lines: AuditLines): ShadowSummary {
  const direction = new Groups();
  const role = new Groups();
  const route = new Groups();
  const statement = new Groups();
  for (const { record } of lines.shadows) {
    const id = str(record, 'decision_id') ?? '';
    const live = side(record, 'live');
    const cand = side(record, 'candidate');
    direction.add(`${str(live, 'decision') ?? '?'} -> ${str(cand, 'decision') ?? '?'}`, id);
    const roles = new Set<string>();
    const decided = str(live, 'role') ?? str(cand, 'role');
    if (decided !== undefined) roles.add(decided);
    else {
      for (const r of strings(live, 'determining_roles')) roles.add(r);
      for (const r of strings(cand, 'determining_roles')) roles.add(r);
    }
    if (roles.size === 0) roles.add('(no role)');
    for (const r of roles) role.add(r, id);
    const mapped = str(live, 'route') !== undefined ? live : cand;
    route.add(
      `${str(record, 'method') ?? '?'} ${str(mapped, 'route') ?? '(unmatched)'} ${str(mapped, 'action') ?? ''}`.trim(),
      id,
    );
    const liveDet = strings(live, 'determining');
    const candDet = strings(cand, 'determining');
    for (const d of liveDet) if (!candDet.includes(d)) statement.add(`live: ${d}`, id);
    for (const d of candDet) if (!liveDet.includes(d)) statement.add(`candidate: ${d}`, id);
  }
  return {
    disagreements: lines.shadows.length,
    read: totalCounts(lines),
    byDirection: direction.list(),
    byRole: role.list(),
    byRoute: route.list(),
    byStatement: statement.list(),
  };
}

function groupLines(title: string, groups: readonly ShadowGroup[]): string {
  if (groups.length === 0) return '';
  const width = Math.max(...groups.map((g) => g.key.length));
  const rows = groups.map(
    (g) => `  ${g.key.padEnd(width)}  ${String(g.count).padStart(5)}  e.g. ${g.samples.join(', ')}`,
  );
  return `${title}:\n${rows.join('\n')}\n`;
}

/** The text form of the summary. */
export function formatShadowSummary(s: ShadowSummary, files: number): string {
  const head = `${s.disagreements} shadow disagreement(s) in ${files} file(s)`;
  const read = formatReadSummary(s.read);
  if (s.disagreements === 0)
    return `${head}: the candidate decides every recorded request as live does\n${read}\n`;
  return [
    `${head}: ${s.byDirection.map((g) => `${g.key}: ${g.count}`).join(', ')}`,
    read,
    '',
    groupLines('By role', s.byRole),
    groupLines('By route', s.byRoute),
    groupLines('By determining statement', s.byStatement),
  ].join('\n');
}
