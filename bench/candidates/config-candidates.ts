/**
 * Throwaway: zod v4 vs valibot vs TypeBox+ajv vs the old hand-written reader,
 * on examples/rolegate.yaml and a generated 500-role, 1,000-route config.
 * The valibot and TypeBox candidates cover the sections that dominate the
 * large config (server, issuers, roles with inline policies, guardrails,
 * routes, headers, tokens) with the same rules; zod runs the full schema.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parse } from 'yaml';
import * as v from 'valibot';
import Type from 'typebox';
import { Ajv } from 'ajv';
import { validateConfig as zodValidate } from '../../src/config/schema.js';
import { validateConfig as oldValidate } from './old-schema.js';
import { routeTemplateProblems } from '../../src/route/table.js';

const ROUTE_ACTION = /^[A-Za-z0-9_-]+:[A-Za-z0-9_*?-]+$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const ROLE_ARN = /^arn:[^:]+:iam:[^:]*:[^:]*:role\/.+$/;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', '*'] as const;

// ---- valibot
const vText = v.pipe(
  v.string('must be a non-empty string'),
  v.minLength(1, 'must be a non-empty string'),
);
const vInt = (min: number, max: number) => {
  const m = `must be an integer from ${min} to ${max}`;
  return v.pipe(v.number(m), v.integer(m), v.minValue(min, m), v.maxValue(max, m));
};
const vList = v.union([
  v.pipe(
    vText,
    v.transform((s) => [s]),
  ),
  v.array(vText),
]);
const vPolicy = v.union([v.strictObject({ file: vText }), v.record(v.string(), v.unknown())]);
const vPolicyMap = v.union([v.array(vPolicy), v.record(v.string(), vPolicy)]);
const vListen = v.strictObject({
  host: v.optional(vText, '127.0.0.1'),
  port: v.optional(vInt(0, 65535), 9001),
});
const vSchema = v.strictObject({
  server: v.optional(
    v.strictObject({
      grpc: v.optional(vListen, {}),
      admin: v.optional(vListen, {}),
      drainSeconds: v.optional(vInt(0, 300), 10),
      shutdownDelaySeconds: v.optional(vInt(0, 300), 3),
    }),
    {},
  ),
  issuers: v.optional(
    v.array(
      v.strictObject({
        issuer: v.pipe(vText, v.url('must be a URL')),
        audiences: v.pipe(vList, v.minLength(1, 'must not be empty')),
        algorithms: v.optional(vList, ['RS256']),
        keys: v.optional(
          v.strictObject({
            maxAgeSeconds: v.optional(vInt(0, 604800), 600),
            maxWaitMs: v.optional(vInt(0, 5000), 250),
            maxDocumentBytes: v.optional(vInt(1024, 16777216), 262144),
            maxKeys: v.optional(vInt(1, 10000), 100),
          }),
          {},
        ),
        maxTokenLifetimeSeconds: v.optional(vInt(60, 31536000), 86400),
      }),
    ),
    [],
  ),
  roles: v.optional(
    v.array(
      v.strictObject({
        name: v.pipe(vText, v.regex(ROLE_NAME, 'must be 1-64 characters')),
        arn: v.optional(v.pipe(vText, v.regex(ROLE_ARN, 'must be a role ARN'))),
        trustPolicy: vPolicy,
        policies: v.optional(vPolicyMap, {}),
        permissionsBoundary: v.optional(vPolicy),
      }),
    ),
    [],
  ),
  guardrails: v.optional(vPolicyMap, {}),
  routes: v.optional(
    v.array(
      v.pipe(
        v.strictObject({
          method: v.optional(v.picklist(METHODS, 'must be one of: ' + METHODS.join(', ')), '*'),
          path: v.pipe(vText, v.startsWith('/', 'must start with /')),
          action: v.pipe(vText, v.regex(ROUTE_ACTION, 'must be of the form service:ActionName')),
          resource: vText,
          tags: v.optional(v.record(v.string(), vText), {}),
        }),
        v.rawCheck(({ dataset, addIssue }) => {
          if (!dataset.typed) return;
          for (const p of routeTemplateProblems(dataset.value)) addIssue({ message: p.message });
        }),
      ),
    ),
    [],
  ),
  unmatchedRoutes: v.optional(v.picklist(['deny', 'default']), 'deny'),
  headers: v.optional(
    v.strictObject({
      requestedRole: v.optional(vText, 'x-rolegate-role'),
      claims: v.optional(v.record(v.pipe(v.string(), v.regex(/^[a-z0-9-]+$/)), vText), {}),
    }),
    {},
  ),
  tokens: v.optional(
    v.strictObject({
      maxBytes: v.optional(vInt(256, 1048576), 16384),
      cacheEntries: v.optional(vInt(0, 10000000), 10000),
      cacheMaxBytes: v.optional(vInt(0, 2 ** 40), 67108864),
    }),
    {},
  ),
});
const valibotValidate = (value: unknown) => {
  const r = v.safeParse(vSchema, value, { abortEarly: false });
  return r.success
    ? []
    : r.issues.map((i) => ({ path: v.getDotPath(i) ?? '$', message: i.message }));
};

// ---- TypeBox + ajv
const tText = Type.String({ minLength: 1 });
const tInt = (minimum: number, maximum: number, dflt: number) =>
  Type.Optional(Type.Integer({ minimum, maximum, default: dflt }));
const tList = Type.Union([tText, Type.Array(tText)]);
const tPolicy = Type.Union([
  Type.Object({ file: tText }, { additionalProperties: false }),
  Type.Record(Type.String(), Type.Unknown()),
]);
const tPolicyMap = Type.Union([Type.Array(tPolicy), Type.Record(Type.String(), tPolicy)]);
const tListen = Type.Object(
  {
    host: Type.Optional(Type.String({ minLength: 1, default: '127.0.0.1' })),
    port: tInt(0, 65535, 9001),
  },
  { additionalProperties: false, default: {} },
);
const strict = { additionalProperties: false } as const;
const tSchema = Type.Object(
  {
    server: Type.Optional(
      Type.Object(
        {
          grpc: Type.Optional(tListen),
          admin: Type.Optional(tListen),
          drainSeconds: tInt(0, 300, 10),
          shutdownDelaySeconds: tInt(0, 300, 3),
        },
        { ...strict, default: {} },
      ),
    ),
    issuers: Type.Optional(
      Type.Array(
        Type.Object(
          {
            issuer: Type.String({ minLength: 1, format: 'uri' }),
            audiences: Type.Union([tText, Type.Array(tText, { minItems: 1 })]),
            algorithms: Type.Optional(tList),
            keys: Type.Optional(
              Type.Object(
                {
                  maxAgeSeconds: tInt(0, 604800, 600),
                  maxWaitMs: tInt(0, 5000, 250),
                  maxDocumentBytes: tInt(1024, 16777216, 262144),
                  maxKeys: tInt(1, 10000, 100),
                },
                { ...strict, default: {} },
              ),
            ),
            maxTokenLifetimeSeconds: tInt(60, 31536000, 86400),
          },
          strict,
        ),
      ),
    ),
    roles: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ pattern: ROLE_NAME.source }),
            arn: Type.Optional(Type.String({ pattern: ROLE_ARN.source })),
            trustPolicy: tPolicy,
            policies: Type.Optional(tPolicyMap),
            permissionsBoundary: Type.Optional(tPolicy),
          },
          strict,
        ),
      ),
    ),
    guardrails: Type.Optional(tPolicyMap),
    routes: Type.Optional(
      Type.Array(
        Type.Object(
          {
            method: Type.Optional(Type.Union(METHODS.map((m) => Type.Literal(m)))),
            path: Type.String({ pattern: '^/' }),
            action: Type.String({ pattern: ROUTE_ACTION.source }),
            resource: tText,
            tags: Type.Optional(Type.Record(Type.String(), tText)),
          },
          strict,
        ),
      ),
    ),
    unmatchedRoutes: Type.Optional(Type.Union([Type.Literal('deny'), Type.Literal('default')])),
    headers: Type.Optional(
      Type.Object(
        {
          requestedRole: Type.Optional(tText),
          claims: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z0-9-]+$' }), tText)),
        },
        strict,
      ),
    ),
    tokens: Type.Optional(
      Type.Object(
        {
          maxBytes: tInt(256, 1048576, 16384),
          cacheEntries: tInt(0, 10000000, 10000),
          cacheMaxBytes: tInt(0, 2 ** 40, 67108864),
        },
        strict,
      ),
    ),
  },
  strict,
);
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
ajv.addFormat('uri', (s: string) => URL.canParse(s));
const ajvCheck = ajv.compile(tSchema as object);
const typeboxValidate = (value: unknown) => {
  const copy = structuredClone(value); // useDefaults mutates its input
  if (ajvCheck(copy)) {
    const out: { path: string; message: string }[] = [];
    for (const [i, r] of (
      (copy as { routes?: { path: string; action: string; resource: string }[] }).routes ?? []
    ).entries()) {
      for (const p of routeTemplateProblems(r))
        out.push({ path: `/routes/${i}/${p.field}`, message: p.message });
    }
    return out;
  }
  return (ajvCheck.errors ?? []).map((e) => ({
    path: e.instancePath || '/',
    message: `${e.message ?? ''} ${JSON.stringify(e.params)}`,
  }));
};

// ---- inputs
const policy = (i: number) => ({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: `S${i}`,
      Effect: 'Allow',
      Action: ['orders:Get*', 'orders:List*'],
      Resource: `arn:rolegate:orders:::order/${i}/*`,
    },
  ],
});
function large(): unknown {
  return {
    issuers: [{ issuer: 'https://idp.example', audiences: ['api'] }],
    headers: { claims: { 'x-user-email': 'email' } },
    guardrails: { base: policy(0) },
    roles: Array.from({ length: 500 }, (_, i) => ({
      name: `role-${i}`,
      trustPolicy: policy(i),
      policies: { read: policy(i), write: policy(i + 1) },
    })),
    routes: Array.from({ length: 1000 }, (_, i) => ({
      method: 'GET',
      path: `/svc${i}/items/{id}`,
      action: `svc${i}:GetItem`,
      resource: `arn:rolegate:svc${i}:::item/{id}`,
      tags: { tier: 'gold' },
    })),
  };
}

const example = parse(
  readFileSync(new URL('../../../examples/rolegate.yaml', import.meta.url), 'utf8'),
) as unknown;
const big = large();
const candidates: [string, (v: unknown) => unknown][] = [
  ['old reader', (x) => oldValidate(x).problems],
  ['zod 4 (full schema)', (x) => zodValidate(x).problems],
  ['valibot 1 (subset)', valibotValidate],
  ['TypeBox 1 + ajv 8 (subset)', typeboxValidate],
];

function time(fn: () => unknown, ms: number): number {
  for (let i = 0; i < 20; i++) fn();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    fn();
    n++;
  }
  return (performance.now() - start) / n;
}

const t0 = performance.now();
for (let i = 0; i < 200; i++)
  parse(readFileSync(new URL('../../../examples/rolegate.yaml', import.meta.url), 'utf8'));
console.log(
  `YAML parse of examples/rolegate.yaml alone: ${(((performance.now() - t0) / 200) * 1000).toFixed(0)} µs`,
);
console.log(
  'candidate                       example µs   large (500 roles, 1000 routes) ms   ratio to old (large)',
);
const rows = candidates.map(
  ([name, fn]) => [name, time(() => fn(example), 1000) * 1000, time(() => fn(big), 1500)] as const,
);
const oldLarge = rows[0]?.[2] ?? 1;
for (const [name, e, l] of rows) {
  console.log(
    `${name.padEnd(32)}${e.toFixed(1).padStart(10)}   ${l.toFixed(2).padStart(20)}   ${(l / oldLarge).toFixed(2).padStart(20)}`,
  );
}
for (const [name, fn] of candidates) {
  if (JSON.stringify(fn(example)) !== '[]')
    console.log(`!! ${name} rejects the example: ${JSON.stringify(fn(example))}`);
}

// error quality: the "reports every problem" case of test/unit/config/schema.test.ts
const trust = { Version: '2012-10-17', Statement: [] };
const bad = {
  serverr: {},
  issuers: [
    { issuer: 'not a url', audiences: [], algorithms: ['HS256'], keys: { maxWaitMs: 60000 } },
  ],
  roles: [
    { name: 'r', trustPolicy: trust, arn: 'nope' },
    { name: 'r', trustPolicy: trust },
  ],
  routes: [
    { method: 'FETCH', path: 'x', action: 'bad', resource: 'arn:x' },
    { path: '/a', action: 'a:b', resource: '{id}' },
  ],
  unmatchedRoutes: 'allow',
};
for (const [name, fn] of candidates) {
  console.log(`\n${name}:`);
  for (const p of fn(bad) as { path: string; message: string }[])
    console.log(`  ${p.path}: ${p.message}`);
}
