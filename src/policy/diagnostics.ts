/** JSON paths and the one-line rendering of diagnostics. */
import type { Diagnostic } from './types.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Appends a property or index to a JSON path: `.Name`, `["aws:SourceIp"]` or `[0]`. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return IDENT.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** `file: policy: statement Sid: $.path: CODE message` (absent parts are left out). */
export function formatDiagnostic(d: Diagnostic): string {
  const parts: string[] = [];
  if (d.file !== undefined) parts.push(d.file);
  parts.push(d.policy);
  if (d.statement !== undefined) parts.push(`statement ${d.statement}`);
  parts.push(d.path);
  return `${parts.join(': ')}: ${d.code} ${d.message}`;
}
