/**
 * Loading a configuration: read (a file, or text such as standard input),
 * parse YAML/JSON, validate, read the policy files it references, compile.
 * Every problem becomes a {@link Finding} with the file, JSON path, line
 * and column it concerns. The only config code that touches the file system.
 */
import { processEnvironment } from './environment.js';
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { parseDocument } from 'yaml';
import { RolegateError, type ErrorCode } from '../errors.js';
import { parsePolicyText } from '../policy/index.js';
import {
  compileConfig,
  PolicyCompileErrors,
  PolicyResolveError,
  type LoadedConfig,
} from './compile.js';
import type { JSONWebKeySet } from 'jose';
import type { ResolvedIssuer } from '../identity/jwt.js';
import { findingOf, formatFinding, withPosition, type Finding } from './finding.js';
import { fsErrorReason } from './fs-error.js';
import { listenHostFromEnv, withListenHost } from './listen-host.js';
import { childPath, isRecord } from '../options/fields.js';
import type { IssuerConfig } from '../identity/options.js';
import { validateConfig, type PolicyRef } from './schema.js';
import { sourceMapOf } from './source-position.js';
import { configSourcesOf, type FilesRead } from './sources.js';

/** The name configuration read from standard input goes by in findings. */
export const STDIN_NAME = '<stdin>';

/** Where a configuration comes from. */
export interface ConfigSource {
  /** The file to read, or only a label (such as {@link STDIN_NAME}) when `text` is given. */
  readonly file: string;
  /** The configuration text; when given, `file` is not read. Default: read `file`. */
  readonly text?: string;
  /**
   * Directory that relative policy, key and audit file names resolve from.
   * Default: the directory of `file`, or the working directory when `text` is given.
   */
  readonly baseDir?: string;
}

/** A config that cannot be used; `findings` lists every problem with its location. */
export class ConfigError extends RolegateError {
  /** Every problem, structured (file, path, line, column). */
  readonly findings: readonly Finding[];
  /** The same problems, one formatted line each. */
  readonly problems: readonly string[];
  /**
   * Absolute paths of the files the failed load read or tried to read, in
   * order; set by {@link loadConfig} (the hot-reload watcher watches them).
   * Default: none.
   */
  files: readonly string[] = [];
  /** `problems` may also be preformatted lines (kept as the finding's message). */
  constructor(code: ErrorCode, problems: readonly (Finding | string)[]) {
    const findings = problems.map((p): Finding =>
      typeof p === 'string' ? { code, severity: 'error', message: p } : p,
    );
    const lines = problems.map((p) => (typeof p === 'string' ? p : formatFinding(p)));
    super(code, `invalid configuration:\n  ${lines.join('\n  ')}`);
    this.name = 'ConfigError';
    this.findings = findings;
    this.problems = lines;
  }
}

/** The directory relative names in `source` resolve from. */
export function baseDirOf(source: ConfigSource): string {
  return source.baseDir ?? (source.text === undefined ? dirname(resolvePath(source.file)) : '.');
}

const STACK_EXHAUSTED = /Maximum call stack size exceeded/;

/** Parses config text (YAML 1.2, so JSON too), reporting syntax errors with line and column. */
export function parseConfigText(text: string, file: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true });
  // Nesting deep enough to exhaust the parser's stack yields one error per
  // unwound level, at positions that depend on the stack left: report it
  // once, the same way every time.
  if (doc.errors.some((e) => STACK_EXHAUSTED.test(e.message))) {
    throw new ConfigError('ERR_CONFIG_SYNTAX', [
      {
        code: 'ERR_CONFIG_SYNTAX',
        severity: 'error',
        file,
        message: 'the configuration is nested too deeply to read',
      },
    ]);
  }
  if (doc.errors.length > 0) {
    throw new ConfigError(
      'ERR_CONFIG_SYNTAX',
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const message = (e.message.split('\n')[0] ?? e.message).replace(
          /\s+at line \d+, column \d+:?$/,
          '',
        );
        return {
          code: 'ERR_CONFIG_SYNTAX',
          severity: 'error',
          file,
          ...(pos ? { line: pos.line, column: pos.col } : {}),
          message,
        };
      }),
    );
  }
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
}

function invalid(file: string, path: string, message: string): Finding {
  return { code: 'ERR_CONFIG_INVALID', severity: 'error', file, path, message };
}

/** Reads each issuer's `jwksFile` and `hmacSecretEnv`; secrets come from the environment only. */
function resolveIssuers(
  issuers: readonly IssuerConfig[],
  baseDir: string,
  file: string,
  read: FilesRead,
): { issuers: ResolvedIssuer[]; findings: Finding[] } {
  const findings: Finding[] = [];
  const resolved = issuers.map((issuer, i): ResolvedIssuer => {
    let out: ResolvedIssuer = issuer;
    const at = `$.issuers[${i}]`;
    if (issuer.jwksFile !== undefined) {
      const path = resolvePath(baseDir, issuer.jwksFile);
      let text: string | undefined;
      try {
        text = readTracked(path, read);
      } catch (err) {
        findings.push(
          invalid(file, `${at}.jwksFile`, `cannot read ${path}: ${fsErrorReason(err)}`),
        );
      }
      if (text !== undefined) {
        let jwks: unknown;
        try {
          jwks = JSON.parse(text);
        } catch {
          jwks = undefined;
        }
        if (isRecord(jwks) && Array.isArray(jwks['keys'])) {
          out = { ...out, jwks: jwks as unknown as JSONWebKeySet };
        } else {
          findings.push(
            invalid(file, `${at}.jwksFile`, `${path} is not a JSON Web Key Set ({"keys": [...]})`),
          );
        }
      }
    }
    if (issuer.hmacSecretEnv !== undefined) {
      const secret = processEnvironment()[issuer.hmacSecretEnv];
      if (secret === undefined || secret.length < 32) {
        findings.push(
          invalid(
            file,
            `${at}.hmacSecretEnv`,
            `environment variable ${issuer.hmacSecretEnv} must hold at least 32 characters`,
          ),
        );
      } else out = { ...out, hmacSecret: new TextEncoder().encode(secret) };
    }
    return out;
  });
  return { issuers: resolved, findings };
}

/** Reads `path`, recording it (and its text, when readable) in `read`. */
function readTracked(path: string, read: FilesRead): string {
  read.set(path, undefined);
  const text = readFileSync(path, 'utf8');
  read.set(path, text);
  return text;
}

/** Adds line and column to every finding whose file's text was read. */
function located(findings: readonly Finding[], texts: ReadonlyMap<string, string>): Finding[] {
  const maps = new Map<string, ReturnType<typeof sourceMapOf>>();
  return findings.map((f) => {
    const text = f.file === undefined ? undefined : texts.get(f.file);
    if (f.file === undefined || text === undefined) return f;
    let map = maps.get(f.file);
    if (!map) {
      map = sourceMapOf(text);
      maps.set(f.file, map);
    }
    return withPosition(f, map);
  });
}

/**
 * Loads and compiles a configuration: a file name, or a {@link ConfigSource}
 * (e.g. text read from standard input). `ROLEGATE_LISTEN_HOST`, when set,
 * replaces the host of both listeners. Throws {@link ConfigError} on any problem.
 */
export function loadConfig(source: string | ConfigSource): LoadedConfig {
  const src: ConfigSource = typeof source === 'string' ? { file: source } : source;
  const read: FilesRead = new Map();
  try {
    return loadFrom(src, read);
  } catch (err) {
    if (err instanceof ConfigError) err.files = [...read.keys()];
    throw err;
  }
}

function loadFrom(src: ConfigSource, read: FilesRead): LoadedConfig {
  const file = src.file;
  const listen = listenHostFromEnv(processEnvironment());
  if (listen.problem !== undefined) {
    throw new ConfigError('ERR_LISTEN_HOST_INVALID', [
      { code: 'ERR_LISTEN_HOST_INVALID', severity: 'error', message: listen.problem },
    ]);
  }
  let text = src.text;
  if (text === undefined) {
    try {
      text = readTracked(resolvePath(file), read);
    } catch (err) {
      throw new ConfigError('ERR_CONFIG_READ', [
        {
          code: 'ERR_CONFIG_READ',
          severity: 'error',
          file,
          message: `cannot read the configuration file: ${fsErrorReason(err)}`,
        },
      ]);
    }
  }
  const texts = new Map<string, string>([[file, text]]);
  const validated = validateConfig(parseConfigText(text, file));
  if (!validated.config) {
    throw new ConfigError(
      'ERR_CONFIG_INVALID',
      located(
        validated.problems.map((p) => invalid(file, p.path, p.message)),
        texts,
      ),
    );
  }
  const config =
    listen.host === undefined ? validated.config : withListenHost(validated.config, listen.host);
  const baseDir = baseDirOf(src);
  const resolveRef = (ref: PolicyRef) => {
    if (ref.file === undefined) {
      return { ref, document: ref.document, file, basePath: ref.path };
    }
    const path = resolvePath(baseDir, ref.file);
    let policyText: string;
    try {
      policyText = readTracked(path, read);
    } catch (err) {
      throw new PolicyResolveError([
        {
          code: 'ERR_POLICY_READ',
          severity: 'error',
          file,
          path: childPath(ref.path, 'file'),
          message: `cannot read policy file ${path}: ${fsErrorReason(err)}`,
        },
      ]);
    }
    texts.set(path, policyText);
    const parsed = parsePolicyText(policyText, { name: ref.name, file: path });
    const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0 || parsed.document === undefined) {
      throw new PolicyResolveError(
        errors.length > 0
          ? errors.map(findingOf)
          : [
              {
                code: 'ERR_POLICY_SYNTAX',
                severity: 'error',
                file: path,
                message: 'empty policy file',
              },
            ],
      );
    }
    return { ref, document: parsed.document, file: path, basePath: '$' };
  };
  const issuers = resolveIssuers(config.issuers, baseDir, file, read);
  if (issuers.findings.length > 0) {
    throw new ConfigError('ERR_CONFIG_INVALID', located(issuers.findings, texts));
  }
  try {
    const compiled = compileConfig(config, resolveRef, issuers.issuers);
    const warningFindings = located(compiled.warningFindings ?? [], texts);
    return {
      ...compiled,
      warnings: warningFindings.map(formatFinding),
      warningFindings,
      sources: configSourcesOf(read, src.text),
    };
  } catch (err) {
    if (err instanceof PolicyCompileErrors) {
      const findings = err.findings.map((f) => (f.file === undefined ? { ...f, file } : f));
      throw new ConfigError('ERR_CONFIG_INVALID', located(findings, texts));
    }
    throw err;
  }
}
