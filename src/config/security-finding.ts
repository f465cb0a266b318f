/**
 * How a security finding of `rolegate validate --config` is built: a
 * warning with its code, where it points and the link to its section of
 * docs/findings.md. Shared by every family of findings (security.ts,
 * trust-findings.ts, access-findings.ts) so they all read alike.
 */
import type { ErrorCode } from '../errors.js';
import type { Finding } from './finding.js';
import type { PlacedStatement } from './security-statements.js';

/** Where the findings are documented; each finding links `#<code in lower case>`. */
export const FINDINGS_DOC = 'docs/findings.md';

/** Where a finding points: a statement of a policy, or an element of the config file. */
export interface Location {
  readonly file?: string;
  readonly path: string;
  readonly policy?: string;
  readonly statement?: string;
}

/** A warning with code `code` at `at`, linked to its section of {@link FINDINGS_DOC}. */
export function finding(code: ErrorCode, message: string, at: Location): Finding {
  return {
    code,
    severity: 'warning',
    message,
    ...(at.file === undefined ? {} : { file: at.file }),
    path: at.path,
    ...(at.policy === undefined ? {} : { policy: at.policy }),
    ...(at.statement === undefined ? {} : { statement: at.statement }),
    doc: `${FINDINGS_DOC}#${code.toLowerCase()}`,
  };
}

/**
 * The location of statement `s`: its policy's file, its JSON path (or
 * `path`, a path inside it), the policy's name and the statement's Sid or
 * `#<index>`.
 */
export function at(s: PlacedStatement, path: string = s.path): Location {
  return {
    file: s.policy.resolved.file,
    path,
    policy: s.policy.resolved.ref.name,
    statement: s.id,
  };
}
