/**
 * `rolegate validate FILE...`: checks policy files and prints every error
 * and warning with its file, line, column and JSON path.
 *
 * A file (JSON or YAML) holds one of:
 * - one policy document (an object with a `Statement` element);
 * - a list of documents (named `FILE[0]`, `FILE[1]`, ...);
 * - a map of name → document (any other object).
 * A document whose statements carry `Principal`/`NotPrincipal` is checked
 * as a trust (resource) policy, otherwise as an identity policy.
 * Exit status 1 when any file is unreadable or any policy has an error.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { findingOf, withPosition, type Finding } from '../config/finding.js';
import { fsErrorReason } from '../config/fs-error.js';
import { sourceMapOf } from '../config/source-position.js';
import { RolegateError } from '../errors.js';
import { compilePolicy, parsePolicyText, type Diagnostic } from '../policy/index.js';
import { childPath } from '../options/fields.js';
import { writeFindings, type FailOn, type FindingFormat } from './findings-output.js';
import type { CliIo } from './io.js';
import { reportError } from './report.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function looksLikeTrust(doc: unknown): boolean {
  if (!isObject(doc)) return false;
  const st = doc['Statement'];
  const list: unknown[] = Array.isArray(st) ? st : [st];
  return list.some(
    (s) => isObject(s) && (s['Principal'] !== undefined || s['NotPrincipal'] !== undefined),
  );
}

/** One document of a file: its name, content and JSON path inside the file (`$` for the whole file). */
export interface FileDocument {
  readonly name: string;
  readonly doc: unknown;
  readonly path: string;
}

/** The named documents a file holds. */
export function documentsOf(file: string, content: unknown): FileDocument[] {
  const base = basename(file);
  if (Array.isArray(content)) {
    return content.map((doc, i) => ({ name: `${base}[${i}]`, doc, path: childPath('$', i) }));
  }
  if (isObject(content) && content['Statement'] === undefined && Object.keys(content).length > 0) {
    return Object.entries(content).map(([name, doc]) => ({
      name,
      doc,
      path: childPath('$', name),
    }));
  }
  return [{ name: base, doc: content, path: '$' }];
}

/** A diagnostic of the document at `base` as a finding about the whole file. */
function inFile(d: Diagnostic, base: string): Finding {
  return findingOf(base === '$' ? d : { ...d, path: base + d.path.slice(1) });
}

/** The findings for one file's text (with line and column) and how many policies it holds. */
export function validatePolicyText(
  file: string,
  text: string,
): { findings: Finding[]; policies: number } {
  const map = sourceMapOf(text);
  const parsed = parsePolicyText(text, { name: basename(file), file });
  const findings = parsed.diagnostics.map(findingOf);
  const documents = parsed.document === undefined ? [] : documentsOf(file, parsed.document);
  for (const { name, doc, path } of documents) {
    const kind = looksLikeTrust(doc) ? 'resource' : 'identity';
    const r = compilePolicy(doc, { name, file, kind });
    findings.push(...r.diagnostics.map((d) => inFile(d, path)));
  }
  return { findings: findings.map((f) => withPosition(f, map)), policies: documents.length };
}

/**
 * Validates the files, printing findings on `io.stdout` (text lines and a
 * summary, or JSON Lines) and unreadable files on `io.stderr`. Resolves to
 * the exit status.
 */
export async function runValidate(
  files: readonly string[],
  io: Pick<CliIo, 'stdout' | 'stderr'>,
  format: FindingFormat = 'text',
  failOn: FailOn = 'error',
): Promise<number> {
  let errors = 0;
  let warnings = 0;
  let policies = 0;
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      errors++;
      const message = `${file}: cannot read the policy file: ${fsErrorReason(e)}`;
      reportError(new RolegateError('ERR_POLICY_READ', message), io, 'validate');
      continue;
    }
    const result = validatePolicyText(file, text);
    const findings = result.findings;
    policies += result.policies;
    for (const f of findings) {
      if (f.severity === 'error') errors++;
      else warnings++;
    }
    writeFindings(findings, format, io.stdout);
  }
  if (format === 'text') {
    const noun = policies === 1 ? 'policy' : 'policies';
    io.stdout.write(
      `${files.length} file(s), ${policies} ${noun}: ${errors} error(s), ${warnings} warning(s)\n`,
    );
  }
  return errors > 0 || (failOn === 'warning' && warnings > 0) ? 1 : 0;
}
