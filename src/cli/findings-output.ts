/** Printing findings as text lines or as JSON Lines (`--format json`). */
import { formatFinding, type Finding } from '../config/finding.js';

/** Output formats of `rolegate validate`. */
export type FindingFormat = 'text' | 'json';

/** The JSON object printed for one finding; absent fields are left out, keys in a fixed order. */
export function findingJson(f: Finding): Record<string, string | number> {
  const out: Record<string, string | number> = { code: f.code, severity: f.severity };
  if (f.file !== undefined) out['file'] = f.file;
  if (f.line !== undefined) out['line'] = f.line;
  if (f.column !== undefined) out['column'] = f.column;
  if (f.path !== undefined) out['path'] = f.path;
  out['message'] = f.message;
  if (f.policy !== undefined) out['policy'] = f.policy;
  if (f.statement !== undefined) out['statement'] = f.statement;
  if (f.doc !== undefined) out['doc'] = f.doc;
  return out;
}

/** `--fail-on`: the least severity that makes `rolegate validate` exit 1. Default `error`. */
export type FailOn = 'warning' | 'error';

/** Whether `findings` hold one at or above `failOn`. */
export function failsOn(findings: readonly Finding[], failOn: FailOn): boolean {
  return findings.some((f) => f.severity === 'error' || failOn === 'warning');
}

/** Writes one line per finding in `format`. */
export function writeFindings(
  findings: readonly Finding[],
  format: FindingFormat,
  out: NodeJS.WritableStream,
): void {
  for (const f of findings) {
    out.write(`${format === 'json' ? JSON.stringify(findingJson(f)) : formatFinding(f)}\n`);
  }
}
