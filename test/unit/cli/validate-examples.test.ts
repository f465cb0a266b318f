/**
 * Every rolegate configuration the repository ships passes `rolegate
 * validate --config FILE --fail-on warning`, so the security findings
 * (docs/findings.md) never warn about our own examples, and users copying
 * one start from a configuration CI would accept:
 *
 * - `examples/**` YAML files that are rolegate configurations;
 * - the `config` of the Helm values files under `examples/`, merged over the
 *   chart's default `config` as Helm merges values (maps deeply, lists and
 *   scalars replaced), written to a file of its own;
 * - YAML blocks of `docs/*.md` that are whole configurations (they name
 *   `roles` and an identity source); the docs hold fragments today, each
 *   showing one section, and none is a whole configuration.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parseAllDocuments, stringify } from 'yaml';
import { lines, runCli } from './cli-io.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHART_VALUES = join(ROOT, 'deploy/helm/rolegate/values.yaml');

type Json = Record<string, unknown>;

function isMap(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Helm's merge of values: maps merge key by key, anything else in `over` replaces `base`. */
function helmMerge(base: unknown, over: unknown): unknown {
  if (!isMap(base) || !isMap(over)) return over === undefined ? base : over;
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = helmMerge(base[k], v);
  return out;
}

/** The YAML documents of a file; none when it does not parse (not ours to judge here). */
function documentsOf(text: string): unknown[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return [];
  return docs.filter((d) => d.errors.length === 0).map((d) => d.toJS() as unknown);
}

/** A rolegate configuration: top-level sections only rolegate has, and no policy-test `cases`. */
function isRolegateConfig(doc: unknown): doc is Json {
  if (!isMap(doc) || 'cases' in doc) return false;
  return ['issuers', 'roles', 'guardrails', 'mtls', 'unmatchedRoutes'].some((k) => k in doc);
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

const scratch = mkdtempSync(join(tmpdir(), 'rolegate-examples-'));
const chartConfig = (documentsOf(readFileSync(CHART_VALUES, 'utf8'))[0] as Json)['config'];

/** `[name, file to validate]` for every shipped configuration. */
function shippedConfigs(): [string, string][] {
  const out: [string, string][] = [];
  for (const file of yamlFiles(join(ROOT, 'examples'))) {
    const name = relative(ROOT, file);
    const [doc] = documentsOf(readFileSync(file, 'utf8'));
    if (isRolegateConfig(doc)) out.push([name, file]);
    else if (isMap(doc) && isMap(doc['config']) && /values\.ya?ml$/.test(file)) {
      const merged = join(scratch, `${name.replaceAll('/', '_')}.config.yaml`);
      writeFileSync(merged, stringify(helmMerge(chartConfig, doc['config'])));
      out.push([`${name} (config, over the chart's defaults)`, merged]);
    }
  }
  return out;
}

/** YAML blocks of docs/*.md seen, and the whole configurations among them, each written to a file. */
function docsConfigs(): { blocks: number; configs: [string, string][] } {
  const docsDir = join(ROOT, 'docs');
  const out: [string, string][] = [];
  let blocks = 0;
  for (const name of readdirSync(docsDir)
    .filter((n) => n.endsWith('.md'))
    .sort()) {
    const text = readFileSync(join(docsDir, name), 'utf8');
    for (const m of text.matchAll(/^```ya?ml\n([\s\S]*?)^```/gm)) {
      blocks++;
      const [doc] = documentsOf(m[1] ?? '');
      if (!isMap(doc) || !Array.isArray(doc['roles'])) continue;
      if (!('issuers' in doc) && !('mtls' in doc)) continue;
      const line = text.slice(0, m.index).split('\n').length;
      const file = join(scratch, `docs_${name}_${line}.yaml`);
      writeFileSync(file, m[1] ?? '');
      out.push([`docs/${name}:${line}`, file]);
    }
  }
  return { blocks, configs: out };
}

const CONFIGS = shippedConfigs();
const DOCS = docsConfigs();

describe('every shipped example configuration passes validate --fail-on warning', () => {
  it('finds the examples (a broken finder would make this suite pass vacuously)', () => {
    expect(CONFIGS.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'examples/rolegate.yaml',
        "examples/eks/rolegate-values.yaml (config, over the chart's defaults)",
        "examples/kubernetes/sidecar/rolegate-values.yaml (config, over the chart's defaults)",
      ]),
    );
  });

  it.each(CONFIGS)('%s', async (_name, file) => {
    const run = await runCli(['validate', '--config', file, '--fail-on', 'warning']);
    // On failure the findings show in the diff.
    expect({ status: run.status, err: run.err, findings: lines(run.out).slice(0, -1) }).toEqual({
      status: 0,
      err: '',
      findings: [],
    });
    expect(run.out).toContain(`${file}: ok (`);
  });

  it('whole configurations in docs/*.md pass too (today the docs show fragments only)', async () => {
    expect(DOCS.blocks).toBeGreaterThan(0);
    for (const [name, file] of DOCS.configs) {
      const run = await runCli(['validate', '--config', file, '--fail-on', 'warning']);
      expect({ name, status: run.status, out: run.out }).toEqual({
        name,
        status: 0,
        out: expect.stringContaining(': ok (') as unknown,
      });
    }
  });
});
