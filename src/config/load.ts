/**
 * Loading a configuration file: read, parse YAML/JSON, validate, read the
 * policy files it references, compile. The only config code that touches
 * the file system.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { parseDocument } from 'yaml';
import { RolegateError } from '../errors.js';
import { formatDiagnostic, parsePolicyText } from '../policy/index.js';
import { compileConfig, PolicyCompileErrors, type RuntimeConfig } from './compile.js';
import { validateConfig, type PolicyRef } from './schema.js';

/** A config that cannot be used; `problems` lists every finding with its location. */
export class ConfigError extends RolegateError {
  readonly problems: readonly string[];
  constructor(
    code: 'ERR_CONFIG_READ' | 'ERR_CONFIG_SYNTAX' | 'ERR_CONFIG_INVALID',
    problems: readonly string[],
  ) {
    super(code, `invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Parses config text (YAML 1.2, so JSON too), reporting syntax errors with line numbers. */
export function parseConfigText(text: string, file: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      'ERR_CONFIG_SYNTAX',
      doc.errors.map((e) => `${file}: ${e.message.split('\n')[0] ?? e.message}`),
    );
  }
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
}

/** Loads and compiles `file`. Throws {@link ConfigError} on any problem. */
export function loadConfig(file: string): RuntimeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('ERR_CONFIG_READ', [
      `${file}: ${err instanceof Error ? err.message : String(err)}`,
    ]);
  }
  const { config, problems } = validateConfig(parseConfigText(text, file));
  if (!config) {
    throw new ConfigError(
      'ERR_CONFIG_INVALID',
      problems.map((p) => `${file}: ${p.path}: ${p.message}`),
    );
  }
  const baseDir = dirname(resolvePath(file));
  const resolveRef = (ref: PolicyRef) => {
    if (ref.file === undefined) {
      return { ref, document: ref.document, file, basePath: ref.path };
    }
    const path = resolvePath(baseDir, ref.file);
    const parsed = parsePolicyText(readFileSync(path, 'utf8'), { name: ref.name, file: path });
    const firstError = parsed.diagnostics.find((d) => d.severity === 'error');
    if (firstError || parsed.document === undefined) {
      throw new Error(firstError ? formatDiagnostic(firstError) : `${path}: empty policy file`);
    }
    return { ref, document: parsed.document, file: path, basePath: '$' };
  };
  try {
    return compileConfig(config, resolveRef);
  } catch (err) {
    if (err instanceof PolicyCompileErrors)
      throw new ConfigError('ERR_CONFIG_INVALID', err.problems);
    throw err;
  }
}
