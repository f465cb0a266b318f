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
import type { JSONWebKeySet } from 'jose';
import type { ResolvedIssuer } from '../identity/jwt.js';
import { isRecord } from './reader.js';
import { validateConfig, type IssuerConfig, type PolicyRef } from './schema.js';

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

/** Reads each issuer's `jwksFile` and `hmacSecretEnv`; secrets come from the environment only. */
function resolveIssuers(
  issuers: readonly IssuerConfig[],
  baseDir: string,
  file: string,
): ResolvedIssuer[] {
  const problems: string[] = [];
  const resolved = issuers.map((issuer, i): ResolvedIssuer => {
    let out: ResolvedIssuer = issuer;
    if (issuer.jwksFile !== undefined) {
      const path = resolvePath(baseDir, issuer.jwksFile);
      try {
        const jwks = JSON.parse(readFileSync(path, 'utf8')) as unknown;
        if (!isRecord(jwks) || !Array.isArray(jwks['keys'])) throw new Error('no keys array');
        out = { ...out, jwks: jwks as unknown as JSONWebKeySet };
      } catch (err) {
        problems.push(
          `${file}: $.issuers[${i}].jwksFile: ${path}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    if (issuer.hmacSecretEnv !== undefined) {
      const secret = process.env[issuer.hmacSecretEnv];
      if (secret === undefined || secret.length < 32) {
        problems.push(
          `${file}: $.issuers[${i}].hmacSecretEnv: environment variable ${issuer.hmacSecretEnv} must hold at least 32 characters`,
        );
      } else out = { ...out, hmacSecret: new TextEncoder().encode(secret) };
    }
    return out;
  });
  if (problems.length > 0) throw new ConfigError('ERR_CONFIG_INVALID', problems);
  return resolved;
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
  const issuers = resolveIssuers(config.issuers, baseDir, file);
  try {
    return compileConfig(config, resolveRef, issuers);
  } catch (err) {
    if (err instanceof PolicyCompileErrors)
      throw new ConfigError('ERR_CONFIG_INVALID', err.problems);
    throw err;
  }
}
