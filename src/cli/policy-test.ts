/**
 * `rolegate test [PATHS]`: policy tests. A test file (YAML or JSON, named
 * `*.test.yaml`, `*.test.yml` or `*.test.json` when found in a directory)
 * names a configuration and lists cases; each case is decided by
 * {@link decideClaims}, the same code `rolegate simulate --config` and the
 * server run once a token is verified (canonical request, claims to a
 * principal through the issuer's mappings, `authorize`). Prints one line
 * per case and a summary like a test runner; optionally writes JUnit XML.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { LoadedConfig } from '../config/compile.js';
import { ConfigError, loadConfig } from '../config/load.js';
import type { CheckOutcome } from '../decision/outcome.js';
import { RolegateError } from '../errors.js';
import { problemsOf } from '../options/fields.js';
import type { CliIo } from './io.js';
import { decideClaims } from './simulate-config.js';

const stringMap = z.record(z.string(), z.string());

/** One case of a test file. Defaults: method GET, host localhost, no headers, the file's `time`. */
const caseSchema = z
  .object({
    name: z.string().min(1),
    /** Verified claims (`iss` names the issuer). */
    claims: z.record(z.string(), z.unknown()).optional(),
    /** Shorthand for claims: `{ issuer, subject, claims }`. */
    principal: z
      .object({
        issuer: z.string().min(1),
        subject: z.string().min(1),
        claims: z.record(z.string(), z.unknown()).default({}),
      })
      .strict()
      .optional(),
    method: z.string().min(1).default('GET'),
    path: z.string().min(1),
    host: z.string().min(1).default('localhost'),
    headers: stringMap.default({}),
    sourceIp: z.string().min(1).optional(),
    secure: z.boolean().default(false),
    contextExtensions: stringMap.default({}),
    time: z.string().min(1).optional(),
    expect: z
      .object({
        decision: z.enum(['allow', 'deny']),
        role: z.string().min(1).optional(),
        reason: z.string().min(1).optional(),
        sid: z.string().min(1).optional(),
      })
      .strict(),
  })
  .strict()
  .refine((c) => (c.claims === undefined) !== (c.principal === undefined), {
    message: 'give exactly one of claims or principal',
  });

/** A test file. `config` is relative to the file; `time` (ISO 8601) is the default clock of its cases. */
const fileSchema = z
  .object({
    config: z.string().min(1),
    time: z.string().min(1).default('2026-01-01T00:00:00Z'),
    cases: z.array(caseSchema).min(1),
  })
  .strict();

/** A parsed test case. */
export type PolicyTestCase = z.output<typeof caseSchema>;

/** The result of one case. */
export interface CaseResult {
  readonly file: string;
  readonly name: string;
  readonly passed: boolean;
  /** Why it failed: every expectation that did not hold, or the error that stopped it. */
  readonly failures: readonly string[];
  readonly durationMs: number;
}

/** The determining Sids of an outcome (statements without a Sid appear as `#<index>`). */
function sidsOf(outcome: CheckOutcome): string[] {
  return outcome.determining.flatMap((d) => (d.statement === undefined ? [] : [d.statement]));
}

function claimsOf(c: PolicyTestCase): Record<string, unknown> {
  if (c.claims !== undefined) return c.claims;
  const p = c.principal;
  return p === undefined ? {} : { ...p.claims, iss: p.issuer, sub: p.subject };
}

/** Runs one case against `config`; never throws. */
export function runCase(
  c: PolicyTestCase,
  config: LoadedConfig,
  defaultTime: string,
  file = '',
): CaseResult {
  const started = performance.now();
  const failures: string[] = [];
  const nowMs = Date.parse(c.time ?? defaultTime);
  if (Number.isNaN(nowMs)) failures.push(`time ${JSON.stringify(c.time)} is not ISO 8601`);
  else {
    const { outcome } = decideClaims(
      claimsOf(c),
      {
        method: c.method,
        path: c.path,
        host: c.host,
        headers: c.headers,
        ...(c.sourceIp === undefined ? {} : { sourceIp: c.sourceIp }),
        secure: c.secure,
        contextExtensions: c.contextExtensions,
      },
      config,
      nowMs,
    );
    const decision = outcome.allowed ? 'allow' : 'deny';
    const e = c.expect;
    if (decision !== e.decision) {
      failures.push(`expected decision ${e.decision}, got ${decision} (${outcome.reason})`);
    }
    if (e.reason !== undefined && e.reason !== outcome.reason) {
      failures.push(`expected reason ${e.reason}, got ${outcome.reason}`);
    }
    if (e.role !== undefined && e.role !== outcome.role?.name) {
      failures.push(`expected role ${e.role}, got ${outcome.role?.name ?? 'none'}`);
    }
    const sids = sidsOf(outcome);
    if (e.sid !== undefined && !sids.includes(e.sid)) {
      failures.push(
        `expected determining Sid ${e.sid}, got ${sids.length === 0 ? 'none' : sids.join(', ')}`,
      );
    }
  }
  return {
    file,
    name: c.name,
    passed: failures.length === 0,
    failures,
    durationMs: performance.now() - started,
  };
}

const TEST_FILE = /\.test\.(ya?ml|json)$/;

/** The test files under `paths` (files as given; directories searched, skipping dot folders and node_modules), sorted. */
export async function findTestFiles(paths: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (TEST_FILE.test(entry.name)) found.push(full);
    }
  };
  for (const p of paths) {
    const info = await stat(p).catch(() => undefined);
    if (info === undefined) {
      throw new RolegateError('ERR_TEST_FILE', `${p}: no such file or directory`);
    }
    if (info.isDirectory()) await walk(p);
    else found.push(p);
  }
  return [...new Set(found)].sort();
}

/** Runs every case of one test file. A file that cannot be read or loaded is one failed result. */
export async function runTestFile(file: string, configOverride?: string): Promise<CaseResult[]> {
  let parsed: z.output<typeof fileSchema>;
  let config: LoadedConfig;
  try {
    const raw: unknown = parseYaml(await readFile(file, 'utf8'));
    const result = fileSchema.safeParse(raw);
    if (!result.success) {
      const problems = problemsOf(result.error).map((p) => `${p.path} ${p.message}`);
      throw new RolegateError('ERR_TEST_FILE', problems.join('; '));
    }
    parsed = result.data;
    config = loadConfig(configOverride ?? resolve(dirname(file), parsed.config));
  } catch (err) {
    const message =
      err instanceof ConfigError
        ? `${err.code}: ${err.problems.join('; ')}`
        : err instanceof Error
          ? err.message
          : String(err);
    return [
      { file, name: '(file)', passed: false, failures: [`cannot run: ${message}`], durationMs: 0 },
    ];
  }
  return parsed.cases.map((c) => runCase(c, config, parsed.time, file));
}

function xml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** JUnit XML for `results`: one `<testsuite>` per file, one `<testcase>` per case. */
export function junitXml(results: readonly CaseResult[]): string {
  const files = [...new Set(results.map((r) => r.file))];
  const suites = files.map((file) => {
    const cases = results.filter((r) => r.file === file);
    const failed = cases.filter((r) => !r.passed).length;
    const seconds = cases.reduce((s, r) => s + r.durationMs, 0) / 1000;
    const body = cases
      .map((r) => {
        const open = `    <testcase classname="${xml(file)}" name="${xml(r.name)}" time="${(r.durationMs / 1000).toFixed(6)}"`;
        if (r.passed) return `${open}/>`;
        const message = r.failures.join('; ');
        return `${open}>\n      <failure message="${xml(message)}">${xml(message)}</failure>\n    </testcase>`;
      })
      .join('\n');
    return `  <testsuite name="${xml(file)}" tests="${cases.length}" failures="${failed}" errors="0" skipped="0" time="${seconds.toFixed(6)}">\n${body}\n  </testsuite>`;
  });
  const failed = results.filter((r) => !r.passed).length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="rolegate test" tests="${results.length}" failures="${failed}">\n${suites.join('\n')}\n</testsuites>\n`;
}

/** Options of {@link runPolicyTests}. */
export interface PolicyTestOptions {
  /** Files or directories. Default: the working directory. */
  readonly paths: readonly string[];
  /** Decide every file against this configuration instead of the one it names. Default: none. */
  readonly config?: string;
  /** Also write JUnit XML here. Default: none. */
  readonly junit?: string;
}

/**
 * Runs the test files, prints `PASS`/`FAIL` per file, `✕` lines with the
 * failed expectations and a summary; exit status 0 when every case passed,
 * 1 when any failed or no test file was found.
 */
export async function runPolicyTests(
  options: PolicyTestOptions,
  io: Pick<CliIo, 'stdout' | 'stderr'>,
): Promise<number> {
  const paths = options.paths.length === 0 ? ['.'] : options.paths;
  const files = await findTestFiles(paths);
  if (files.length === 0) {
    throw new RolegateError('ERR_TEST_FILE', `no *.test.yaml files under ${paths.join(', ')}`);
  }
  const results: CaseResult[] = [];
  for (const file of files) {
    const own = await runTestFile(file, options.config);
    results.push(...own);
    const failed = own.filter((r) => !r.passed);
    const shown = relative(process.cwd(), file) || file;
    io.stdout.write(
      `${failed.length === 0 ? 'PASS' : 'FAIL'} ${shown} (${own.length} case${own.length === 1 ? '' : 's'})\n`,
    );
    for (const r of own) {
      io.stdout.write(`  ${r.passed ? '✓' : '✕'} ${r.name}\n`);
      for (const f of r.failures) io.stdout.write(`      ${f}\n`);
    }
  }
  const failed = results.filter((r) => !r.passed).length;
  const passed = results.length - failed;
  io.stdout.write(
    `\nTests: ${failed > 0 ? `${failed} failed, ` : ''}${passed} passed, ${results.length} total (${files.length} file${files.length === 1 ? '' : 's'})\n`,
  );
  if (options.junit !== undefined) await writeFile(options.junit, junitXml(results));
  return failed > 0 ? 1 : 0;
}
