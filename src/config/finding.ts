/**
 * One finding about a config or policy file, in the shape `rolegate
 * validate --format json` prints, and its one-line text form.
 */
import type { ErrorCode } from '../errors.js';
import type { Diagnostic } from '../policy/index.js';
import type { SourceMap } from './source-position.js';

/** An error or warning with every location the source has. */
export interface Finding {
  readonly code: ErrorCode;
  readonly severity: 'error' | 'warning';
  readonly message: string;
  /** The file (or `<stdin>`); absent when the finding is about no file. */
  readonly file?: string;
  /** 1-based line and column of the element `path` names, when the source has it. */
  readonly line?: number;
  readonly column?: number;
  /** JSON path of the element inside `file`, e.g. `$.roles[0].trustPolicy`. */
  readonly path?: string;
  /** The policy's name, for findings inside a policy document. */
  readonly policy?: string;
  /** The statement's Sid or `#<index>`, for findings inside a statement. */
  readonly statement?: string;
  /** Where the finding is explained (security findings): `docs/findings.md#<code>`. */
  readonly doc?: string;
}

/** A policy diagnostic as a finding (no position yet; see {@link withPosition}). */
export function findingOf(d: Diagnostic): Finding {
  return {
    code: d.code,
    severity: d.severity,
    message: d.message,
    ...(d.file === undefined ? {} : { file: d.file }),
    path: d.path,
    policy: d.policy,
    ...(d.statement === undefined ? {} : { statement: d.statement }),
  };
}

/**
 * Adds the line and column of the finding's path (or, for a syntax error,
 * of the first syntax error) from `map`; unchanged when the source has none.
 */
export function withPosition(f: Finding, map: SourceMap | undefined): Finding {
  if (!map || f.line !== undefined) return f;
  const syntax = f.code === 'ERR_POLICY_SYNTAX' || f.code === 'ERR_CONFIG_SYNTAX';
  const pos = syntax ? map.syntaxError : f.path === undefined ? undefined : map.position(f.path);
  return pos ? { ...f, line: pos.line, column: pos.column } : f;
}

/**
 * Where a finding is: `file:line:column: policy: statement S: $.path`;
 * absent parts are left out (empty when it is about no file).
 */
export function findingLocation(f: Finding): string {
  const parts: string[] = [];
  if (f.file !== undefined) {
    parts.push(f.line === undefined ? f.file : `${f.file}:${f.line}:${f.column ?? 1}`);
  }
  if (f.policy !== undefined) parts.push(f.policy);
  if (f.statement !== undefined) parts.push(`statement ${f.statement}`);
  if (f.path !== undefined) parts.push(f.path);
  return parts.join(': ');
}

/**
 * `file:line:column: policy: statement S: $.path: CODE message`; absent
 * parts are left out, so a finding without a position reads as before.
 */
export function formatFinding(f: Finding): string {
  const where = findingLocation(f);
  const doc = f.doc === undefined ? '' : ` (see ${f.doc})`;
  return `${where}${where === '' ? '' : ': '}${f.code} ${f.message}${doc}`;
}
