import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { rolegateJsonSchemaText } from '../../../src/config/json-schema.js';
import { validateConfig } from '../../../src/config/schema.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const committedPath = join(root, 'schema/rolegate.schema.json');
const committed = readFileSync(committedPath, 'utf8');

/** Every YAML file under `dir` (recursively). */
function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f) && !f.includes('node_modules'))
    .map((f) => join(dir, f));
}

/**
 * The rolegate configurations in the repository: examples/ and test fixtures.
 * examples/kubernetes, examples/eks, examples/ecs and examples/traefik hold
 * Kubernetes objects, Envoy and Traefik configs and Helm values instead (test/e2e/deploy-examples.test.ts
 * loads the rolegate config inside each values file with rolegate's loader).
 * Envoy's configs (a top-level `static_resources:`) are not rolegate's.
 */
// Policy test files (`*.test.yaml`, read by `rolegate test`) are not configurations.
const configFiles = [
  ...yamlFiles(join(root, 'examples')).filter(
    (f) => !/^(kubernetes|eks|ecs|traefik)\//.test(relative(join(root, 'examples'), f)),
  ),
  ...yamlFiles(join(root, 'test')).filter((f) => /fixtures?\//.test(f)),
].filter((f) => !/\.test\.ya?ml$/.test(f) && !/^static_resources:/m.test(readFileSync(f, 'utf8')));

const ajv = new Ajv2020({ allErrors: true, strict: true });
const check = ajv.compile(JSON.parse(committed) as object);

function jsonSchemaErrors(value: unknown): string[] {
  return check(value) ? [] : (check.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

describe('schema/rolegate.schema.json', () => {
  it('is what the config schema generates (run `npm run schema` after changing it)', () => {
    expect(committed).toBe(rolegateJsonSchemaText());
  });

  it('is a valid draft 2020-12 schema with every top-level section', () => {
    const schema = JSON.parse(committed) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties).sort()).toEqual(
      [
        'access',
        'audit',
        'aws',
        'catalog',
        'deny',
        'guardrails',
        'headers',
        'issuers',
        'mtls',
        'roles',
        'routes',
        'server',
        'shadow',
        'tokens',
        'unmatchedRoutes',
      ].sort(),
    );
  });

  it('finds the configurations under examples/', () => {
    expect(configFiles.map((f) => relative(root, f))).toContain('examples/rolegate.yaml');
  });

  it.each(configFiles.map((f) => [relative(root, f), f]))(
    '%s is valid against the JSON Schema and the loader schema',
    (_name, file) => {
      const text = readFileSync(file, 'utf8');
      expect(text).toMatch(/^# yaml-language-server: \$schema=/m);
      const value = parse(text) as unknown;
      expect(jsonSchemaErrors(value)).toEqual([]);
      expect(validateConfig(value).problems).toEqual([]);
    },
  );

  it('accepts the shapes the loader accepts', () => {
    const trust = { Version: '2012-10-17', Statement: [] };
    for (const value of [
      {},
      { guardrails: [trust, { file: 'g.json' }] },
      { roles: [{ name: 'r', trustPolicy: { file: 't.yaml' }, policies: { p1: trust } }] },
      { routes: [{ method: 'get', path: '/a/{id}', action: 'a:Get', resource: 'arn:x:{id}' }] },
      { issuers: [{ issuer: 'https://idp', audiences: 'api', token: { cookie: 's' } }] },
      { headers: { stripInbound: 'x-a', claims: { 'x-user': 'email' } } },
      { aws: { iam: { pathPrefix: '/svc/' }, sts: { headers: { expiration: 'x-exp' } } } },
    ]) {
      expect(validateConfig(value).problems).toEqual([]);
      expect(jsonSchemaErrors(value)).toEqual([]);
    }
  });

  it('refuses what the loader refuses, at the same place', () => {
    const cases: [unknown, string][] = [
      [{ serverr: {} }, ''],
      [{ server: { grpc: { port: 70000 } } }, '/server/grpc/port'],
      [
        { issuers: [{ issuer: 'https://idp', audiences: ['a'], keys: { maxWaitMs: 6000 } }] },
        '/issuers/0/keys/maxWaitMs',
      ],
      [
        { routes: [{ method: 'FETCH', path: '/a', action: 'a:B', resource: 'r' }] },
        '/routes/0/method',
      ],
      [{ routes: [{ path: '/a', action: 'bad', resource: 'r' }] }, '/routes/0/action'],
      [{ roles: [{ name: 'r' }] }, '/roles/0'],
      [{ unmatchedRoutes: 'allow' }, '/unmatchedRoutes'],
      [{ audit: { allowSampleRate: 2 } }, '/audit/allowSampleRate'],
      [{ aws: { credentials: { accessKeyId: 'x' } } }, '/aws/credentials'],
      [{ tokens: { maxBytes: 1.5 } }, '/tokens/maxBytes'],
      [{ guardrails: { g: { file: 'g.json', Version: '2012-10-17' } } }, '/guardrails/g'],
    ];
    for (const [value, at] of cases) {
      expect(validateConfig(value).problems).not.toEqual([]);
      expect(jsonSchemaErrors(value).map((e) => e.split(' ')[0])).toContain(at);
    }
  });
});
