/**
 * Fuzzing the config loader (issue 16, "Fuzzing"): mutated YAML texts of
 * examples/rolegate.yaml (keys deleted, duplicated, swapped; types changed;
 * random unicode; deep nesting; huge numbers; truncation) through
 * `loadConfig` with the text given (as `--config -` does), and mutated
 * policy documents through `compilePolicy`. Properties: nothing throws but a
 * ConfigError whose code and findings are catalogue codes; every input is
 * decided within a time bound; what loads is self-consistent and loads the
 * same way twice; a policy compiles exactly when it has no error finding.
 * Seeded and bounded.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { isErrorCode } from '../../../src/errors.js';
import { compilePolicy } from '../../../src/policy/index.js';

const SEED = 0x16c0f;
const DECIDE_WITHIN_MS = 1_000;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const EXAMPLE_FILE = join(ROOT, 'examples/rolegate.yaml');
const EXAMPLE = readFileSync(EXAMPLE_FILE, 'utf8');
const EXAMPLE_DOC = parse(EXAMPLE) as Record<string, unknown>;

type Json = unknown;

/** Every JSON path (as keys) to a container or a leaf of `doc`. */
function paths(doc: Json, at: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(at);
  if (Array.isArray(doc)) doc.forEach((v, i) => paths(v, [...at, i], out));
  else if (doc !== null && typeof doc === 'object') {
    for (const [k, v] of Object.entries(doc)) paths(v, [...at, k], out);
  }
  return out;
}

function getAt(doc: Json, at: readonly (string | number)[]): Json {
  return at.reduce<Json>((d, k) => (d as Record<string | number, Json>)?.[k], doc);
}

/** Sets (or with `undefined` deletes) the value at `at`; returns a new document. */
function setAt(doc: Json, at: readonly (string | number)[], value: Json): Json {
  if (at.length === 0) return value;
  const [head, ...rest] = at as [string | number, ...(string | number)[]];
  if (Array.isArray(doc)) {
    const copy = [...(doc as Json[])];
    if (value === undefined && rest.length === 0) copy.splice(Number(head), 1);
    else copy[Number(head)] = setAt(copy[Number(head)], rest, value);
    return copy;
  }
  if (doc !== null && typeof doc === 'object') {
    const copy: Record<string, Json> = { ...(doc as Record<string, Json>) };
    if (value === undefined && rest.length === 0) delete copy[head];
    else copy[head] = setAt(copy[head], rest, value);
    return copy;
  }
  return doc;
}

const weird: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom(
    null,
    true,
    0,
    -1,
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER + 2,
    2 ** 64,
    '',
    '*',
    '${jwt:sub}',
    '__proto__',
    'constructor',
    'arn:rolegate:*:::*',
    '0.0.0.0/0',
    'ﬀ\u0000\u202e\uFEFF',
    [],
    {},
  ),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.double(),
  fc.bigInt().map((b) => Number(b)),
  fc.integer({ min: 1, max: 200 }).map((depth) => {
    let v: Json = 'leaf';
    for (let i = 0; i < depth; i++) v = i % 2 === 0 ? { n: v } : [v];
    return v;
  }),
);

/** A structural edit of a document: delete, duplicate, swap, retype, nest. */
function structural(doc: Json): fc.Arbitrary<Json> {
  const all = paths(doc).filter((p) => p.length > 0);
  const anyPath = fc.constantFrom(...all);
  return fc.oneof(
    anyPath.map((p) => setAt(doc, p, undefined)),
    fc.tuple(anyPath, weird).map(([p, v]) => setAt(doc, p, v)),
    fc
      .tuple(anyPath, anyPath)
      .map(([a, b]) => setAt(setAt(doc, a, getAt(doc, b)), b, getAt(doc, a))),
    fc.tuple(anyPath, fc.string({ maxLength: 12 }), anyPath).map(([p, key, from]) => {
      const target = getAt(doc, p);
      if (Array.isArray(target)) return setAt(doc, p, [...(target as Json[]), getAt(doc, from)]);
      if (target !== null && typeof target === 'object') {
        return setAt(doc, p, { ...(target as Record<string, Json>), [key]: getAt(doc, from) });
      }
      return setAt(doc, p, [target, getAt(doc, from)]);
    }),
  );
}

/** A textual edit of a YAML text: truncate, insert unicode, duplicate or drop a line. */
function textual(text: string): fc.Arbitrary<string> {
  const lines = text.split('\n');
  return fc.oneof(
    fc.nat(text.length).map((n) => text.slice(0, n)),
    fc
      .tuple(fc.nat(text.length), fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }))
      .map(([at, s]) => text.slice(0, at) + s + text.slice(at)),
    fc.nat(lines.length - 1).map((i) => [...lines.slice(0, i + 1), ...lines.slice(i)].join('\n')),
    fc.nat(lines.length - 1).map((i) => [...lines.slice(0, i), ...lines.slice(i + 1)].join('\n')),
    fc.tuple(fc.nat(lines.length - 1), fc.nat(lines.length - 1)).map(([i, j]) => {
      const c = [...lines];
      [c[i], c[j]] = [c[j] ?? '', c[i] ?? ''];
      return c.join('\n');
    }),
    fc.constantFrom('&a [*a]', 'a: &a {b: *a}', '['.repeat(5000), '{a: 1, a: 2}', '!!binary x'),
  );
}

type Outcome =
  | { kind: 'loaded'; roles: string[]; routes: number; statements: number; warnings: string[] }
  | { kind: 'refused'; code: string; findingCodes: string[] }
  | { kind: 'crashed'; error: string };

function load(text: string): Outcome {
  try {
    const runtime = loadConfig({ file: 'fuzz.yaml', text, baseDir: dirname(EXAMPLE_FILE) });
    return {
      kind: 'loaded',
      roles: runtime.roles.map((r) => r.name),
      routes: runtime.routes.length,
      statements: runtime.statementCount,
      warnings: [...runtime.warnings],
    };
  } catch (err) {
    if (err instanceof ConfigError) {
      return { kind: 'refused', code: err.code, findingCodes: err.findings.map((f) => f.code) };
    }
    return {
      kind: 'crashed',
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    };
  }
}

/** The properties every loader outcome has. */
function checkOutcome(text: string, counts: Record<string, number>): void {
  const started = performance.now();
  const outcome = load(text);
  const elapsed = performance.now() - started;
  counts[outcome.kind] = (counts[outcome.kind] ?? 0) + 1;
  expect(elapsed).toBeLessThan(DECIDE_WITHIN_MS);
  expect(outcome.kind).not.toBe('crashed');
  const codes = outcome.kind === 'refused' ? [outcome.code, ...outcome.findingCodes] : [];
  expect(codes.filter((c) => !isErrorCode(c) || !c.startsWith('ERR_'))).toEqual([]);
  expect(outcome.kind === 'refused' && outcome.findingCodes.length === 0).toBe(false);
  const roles = outcome.kind === 'loaded' ? outcome.roles : [];
  expect(new Set(roles).size).toBe(roles.length);
  const statements = outcome.kind === 'loaded' ? outcome.statements : 0;
  expect(Number.isSafeInteger(statements) && statements >= 0).toBe(true);
  // Deterministic: the same text is decided the same way.
  expect(load(text)).toEqual(outcome);
}

describe('the config loader under mutated YAML', () => {
  it('the example loads (the mutations start from a valid config)', () => {
    const outcome = load(EXAMPLE);
    expect(outcome.kind).toBe('loaded');
  });

  it('structural mutations: loaded and self-consistent, or refused with catalogue codes', () => {
    const counts: Record<string, number> = {};
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }).chain((n) => {
          let arb: fc.Arbitrary<Json> = fc.constant(EXAMPLE_DOC);
          for (let i = 0; i < n; i++) arb = arb.chain((d) => structural(d));
          return arb;
        }),
        (doc) => checkOutcome(stringify(doc, { aliasDuplicateObjects: false }), counts),
      ),
      { seed: SEED, numRuns: 400 },
    );
    expect(counts['crashed']).toBeUndefined();
    expect(counts['refused']).toBeGreaterThan(0);
    expect(counts['loaded']).toBeGreaterThan(0);
  }, 20_000);

  it('textual mutations (truncation, unicode, lines duplicated, dropped, swapped)', () => {
    const counts: Record<string, number> = {};
    fc.assert(
      fc.property(textual(EXAMPLE), (text) => checkOutcome(text, counts)),
      { seed: SEED + 1, numRuns: 400 },
    );
    expect(counts['crashed']).toBeUndefined();
    expect(counts['refused']).toBeGreaterThan(0);
  }, 20_000);
});

const EXAMPLE_POLICIES: Json[] = [
  ...Object.values((EXAMPLE_DOC['guardrails'] ?? {}) as Record<string, Json>),
  ...((EXAMPLE_DOC['roles'] ?? []) as Record<string, Json>[]).flatMap((r) => [
    r['trustPolicy'],
    ...Object.values((r['policies'] ?? {}) as Record<string, Json>),
  ]),
].filter((p) => p !== null && typeof p === 'object');

describe('compilePolicy under mutated policy documents', () => {
  it('compiles exactly when no finding is an error; never throws; codes from the catalogue', () => {
    expect(EXAMPLE_POLICIES.length).toBeGreaterThan(0);
    const counts = { compiled: 0, refused: 0 };
    fc.assert(
      fc.property(
        fc.constantFrom(...EXAMPLE_POLICIES).chain((p) =>
          fc.tuple(
            fc.constantFrom<'identity' | 'resource' | 'trust'>('identity', 'resource', 'trust'),
            structural(p).chain((d) => structural(d)),
          ),
        ),
        ([kind, doc]) => {
          const started = performance.now();
          const result = compilePolicy(doc, { name: 'fuzz', kind });
          expect(performance.now() - started).toBeLessThan(DECIDE_WITHIN_MS);
          const errors = result.diagnostics.filter((d) => d.severity === 'error');
          expect(result.diagnostics.filter((d) => !isErrorCode(d.code))).toEqual([]);
          expect(result.policy !== undefined).toBe(errors.length === 0);
          counts[result.policy ? 'compiled' : 'refused']++;
        },
      ),
      { seed: SEED + 2, numRuns: 1_000 },
    );
    expect(counts.compiled).toBeGreaterThan(0);
    expect(counts.refused).toBeGreaterThan(0);
  }, 20_000);
});

describe('nesting deep enough to exhaust the YAML parser (found by the fuzzer above)', () => {
  const deep = {
    'unclosed flow sequences': '['.repeat(5000),
    'closed flow maps': `${'{a: '.repeat(3000)}1${'}'.repeat(3000)}`,
    'block maps': `${Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')} 1`,
    'a deep policy': `roles:\n  - name: x\n    policies:\n      p: ${'['.repeat(3000)}${']'.repeat(3000)}`,
  };
  it.each(Object.entries(deep))(
    '%s: one ERR_CONFIG_SYNTAX finding, the same every time',
    (_, text) => {
      const first = load(text);
      expect(first).toEqual({
        kind: 'refused',
        code: 'ERR_CONFIG_SYNTAX',
        findingCodes: ['ERR_CONFIG_SYNTAX'],
      });
      expect(load(text)).toEqual(first);
    },
  );
});
