/** Reading policy text: JSON, or YAML holding the same document. */
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { Diagnostic, PolicyOrigin } from './types.js';

export interface ParseResult {
  readonly document?: unknown;
  readonly diagnostics: Diagnostic[];
}

function syntaxError(origin: PolicyOrigin, message: string): Diagnostic {
  const d: { -readonly [K in keyof Diagnostic]: Diagnostic[K] } = {
    severity: 'error',
    code: 'ERR_POLICY_SYNTAX',
    message,
    policy: origin.name,
    path: '$',
  };
  if (origin.file !== undefined) d.file = origin.file;
  return d;
}

/**
 * Parses policy text. Text whose first non-blank character is `{` or `[` is
 * read as JSON (and JSON errors are reported as such); anything else as YAML.
 */
export function parsePolicyText(text: string, origin: PolicyOrigin): ParseResult {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed === '') return { diagnostics: [syntaxError(origin, 'the policy text is empty')] };
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return { document: JSON.parse(trimmed) as unknown, diagnostics: [] };
    } catch (err) {
      return {
        diagnostics: [
          syntaxError(origin, `invalid JSON: ${err instanceof Error ? err.message : String(err)}`),
        ],
      };
    }
  }
  try {
    const doc: unknown = parseYaml(trimmed, { uniqueKeys: true, maxAliasCount: 100 });
    return { document: doc, diagnostics: [] };
  } catch (err) {
    const msg =
      err instanceof YAMLParseError ? (err.message.split('\n')[0] ?? err.message) : String(err);
    return { diagnostics: [syntaxError(origin, `invalid YAML: ${msg}`)] };
  }
}
