/**
 * deploy/helm/rolegate/values.schema.json, the schema Helm applies to the
 * values on lint, template, install and upgrade: it is what
 * scripts/write-chart-schema.mjs generates from values.yaml and
 * schema/rolegate.schema.json (`npm run schema`), every object the chart
 * defines refuses unknown keys, and `config` is held to the same schema as
 * `rolegate validate`. Helm itself running it: test/e2e/deploy-chart.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';

import { chartSchemaText } from '../../../scripts/lib/chart-schema.mjs';

const root = join(import.meta.dirname, '..', '..', '..');
const read = (...path: string[]): string => readFileSync(join(root, ...path), 'utf8');
const VALUES = read('deploy', 'helm', 'rolegate', 'values.yaml');
const ROLEGATE_SCHEMA = read('schema', 'rolegate.schema.json');
const committed = read('deploy', 'helm', 'rolegate', 'values.schema.json');

interface Schema {
  $schema?: string;
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  $ref?: string;
  $defs?: Record<string, Schema>;
  [key: string]: unknown;
}
const schema = JSON.parse(committed) as Schema;

const ajv = new Ajv2020({ allErrors: true, strict: false });
const validate = ajv.compile(schema);
const errorsOf = (values: unknown): string[] =>
  validate(values)
    ? []
    : (validate.errors ?? []).map(
        (e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
      );

describe('values.schema.json', () => {
  it('is what values.yaml and schema/rolegate.schema.json generate (run `npm run schema`)', () => {
    expect(committed).toBe(chartSchemaText(VALUES, ROLEGATE_SCHEMA));
  });

  it('goes stale when values.yaml gains a key', () => {
    const more = `${VALUES}\n# -- A new knob.\nnewKnob: 3\n`;
    const regenerated = JSON.parse(chartSchemaText(more, ROLEGATE_SCHEMA)) as Schema;
    expect(regenerated.properties?.['newKnob']).toEqual({
      description: 'A new knob.',
      type: 'integer',
    });
    expect(chartSchemaText(more, ROLEGATE_SCHEMA)).not.toBe(committed);
  });

  it('refuses to guess the shape of a list or an empty map', () => {
    expect(() => chartSchemaText(`${VALUES}\nnewList: []\n`, ROLEGATE_SCHEMA)).toThrow(
      /newList .*SHAPES/,
    );
  });

  it('is draft 2020-12, self-contained (no $ref leaves the file)', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const refs = [...committed.matchAll(/"\$ref": "([^"]*)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(0);
    expect(refs.filter((r) => !r?.startsWith('#/'))).toEqual([]);
  });

  it('refuses unknown keys at the top and in every object the chart defines', () => {
    const open: string[] = [];
    const walk = (s: Schema, path: string) => {
      if (s.properties === undefined) return;
      if (s.additionalProperties !== false) open.push(path);
      for (const [k, v] of Object.entries(s.properties)) walk(v, `${path}.${k}`);
    };
    walk(schema, '');
    expect(open).toEqual([]);
    // Every object of values.yaml with keys of its own is such an object.
    const defaults = parse(VALUES) as Record<string, unknown>;
    const missing: string[] = [];
    const visit = (o: Record<string, unknown>, s: Schema | undefined, path: string) => {
      for (const [k, v] of Object.entries(o)) {
        const child = s?.properties?.[k];
        if (child === undefined) missing.push(`${path}${k}`);
        else if (k !== 'config' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
          if (child.properties !== undefined)
            visit(v as Record<string, unknown>, child, `${path}${k}.`);
        }
      }
    };
    visit(defaults, schema, '');
    expect(missing).toEqual([]);
  });

  it('holds config to schema/rolegate.schema.json, the schema of `rolegate validate`', () => {
    expect(schema.properties?.['config']?.$ref).toBe('#/$defs/rolegateConfig');
    const { $schema: _s, $id: _i, ...rolegate } = JSON.parse(ROLEGATE_SCHEMA) as Schema;
    void _s;
    void _i;
    expect(schema.$defs?.['rolegateConfig']).toEqual(rolegate);
  });

  it("accepts the chart's defaults and the example values files (merged over them)", () => {
    expect(errorsOf(parse(VALUES))).toEqual([]);
    for (const file of [
      ['examples', 'eks', 'rolegate-values.yaml'],
      ['examples', 'kubernetes', 'sidecar', 'rolegate-values.yaml'],
    ]) {
      const merged = merge(parse(VALUES), parse(read(...file)));
      expect({ file: file.join('/'), errors: errorsOf(merged) }).toEqual({
        file: file.join('/'),
        errors: [],
      });
    }
  });

  it.each([
    ['a typo at the top', { replicaCont: 3 }, '', 'replicaCont'],
    ['a typo in image', { image: { tagg: '1' } }, '/image', 'tagg'],
    [
      'a typo in the rolegate config',
      { config: { server: { workrs: 2 } } },
      '/config/server',
      'workrs',
    ],
    [
      'a wrong type in the rolegate config',
      { config: { server: { workers: 'two' } } },
      '/config/server/workers',
      'integer',
    ],
    ['an unknown rolegate config section', { config: { isuers: [] } }, '/config', 'isuers'],
    [
      'a label selector the chart adds itself',
      {
        topologySpread: [
          { topologyKey: 'k', maxSkew: 1, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: {} },
        ],
      },
      '/topologySpread/0',
      'labelSelector',
    ],
    [
      'a port out of range',
      { networkPolicy: { egressPorts: [70000] } },
      '/networkPolicy/egressPorts/0',
      '65535',
    ],
  ])('refuses %s', (_what, change, path, named) => {
    const errors = errorsOf(merge(parse(VALUES), change));
    expect(errors.some((e) => e.startsWith(`${path} `) && e.includes(named))).toBe(true);
  });
});

/** Helm's merge of a values file over the defaults: maps key by key, everything else replaced. */
function merge(base: unknown, over: unknown): unknown {
  const isMap = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isMap(base) || !isMap(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v);
  return out;
}
