/**
 * `rolegate validate FILE...`: checks policy files and prints every error
 * and warning with its location.
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
import {
  compilePolicy,
  formatDiagnostic,
  parsePolicyText,
  type Diagnostic,
} from '../policy/index.js';

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

/** The named documents a file holds. */
export function documentsOf(file: string, content: unknown): { name: string; doc: unknown }[] {
  const base = basename(file);
  if (Array.isArray(content)) return content.map((doc, i) => ({ name: `${base}[${i}]`, doc }));
  if (isObject(content) && content['Statement'] === undefined && Object.keys(content).length > 0) {
    return Object.entries(content).map(([name, doc]) => ({ name, doc }));
  }
  return [{ name: base, doc: content }];
}

/** Validates the files; resolves to the exit status. */
export async function runValidate(
  files: string[],
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  let errors = 0;
  let warnings = 0;
  let policies = 0;
  const print = (d: Diagnostic): void => {
    if (d.severity === 'error') errors++;
    else warnings++;
    out.write(`${formatDiagnostic(d)}\n`);
  };
  if (files.length === 0) {
    err.write('rolegate validate: no files given\n');
    return 1;
  }
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      errors++;
      err.write(
        `${file}: ERR_CONFIG_READ cannot read the file: ${e instanceof Error ? e.message : String(e)}\n`,
      );
      continue;
    }
    const parsed = parsePolicyText(text, { name: basename(file), file });
    parsed.diagnostics.forEach(print);
    if (parsed.document === undefined) continue;
    for (const { name, doc } of documentsOf(file, parsed.document)) {
      policies++;
      const kind = looksLikeTrust(doc) ? 'resource' : 'identity';
      const r = compilePolicy(doc, { name, file, kind });
      r.diagnostics.forEach(print);
    }
  }
  const summary = `${files.length} file(s), ${policies} polic${policies === 1 ? 'y' : 'ies'}: ${errors} error(s), ${warnings} warning(s)`;
  out.write(`${summary}\n`);
  return errors > 0 ? 1 : 0;
}
