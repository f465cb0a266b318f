/**
 * The configuration file's schema: one YAML (or JSON) document validated
 * into {@link RolegateConfig}. Each module owns its section's schema and
 * type (identity: `issuers`, `tokens`, `mtls`; request: `headers`; route:
 * `routes`, `unmatchedRoutes`; aws: `aws`; observe: `audit`; transport:
 * `server`); this file composes them and owns `roles` and `guardrails`,
 * whose policy documents are only located here and compiled in
 * `compile.ts`. Every default is written once, in those schemas; the
 * generated `schema/rolegate.schema.json` publishes them.
 */
import { z } from 'zod';
import { accessSchema } from '../access/options.js';
import { catalogSchema } from '../catalog/options.js';
import { awsSchema } from '../aws/config.js';
import { issuersSchema, mtlsSchema, tokensSchema } from '../identity/options.js';
import {
  always,
  childPath,
  fields,
  isRecord,
  list,
  problem,
  problemsOf,
  required,
  text,
  type ConfigProblem,
} from '../options/fields.js';
import { headersSchema } from '../request/options.js';
import { denySchema } from '../response/deny-options.js';
import { routesSchema, unmatchedRoutesSchema, type RouteConfig } from '../route/options.js';
import { auditSchema } from '../observe/options.js';
import { serverSchema } from '../transport/options.js';
import { shadowSchema } from '../check/shadow.js';

export type { ConfigProblem } from '../options/fields.js';

/** Where a policy document sits: inline in the config, or in a file next to it. */
export interface PolicyRef {
  /** Policy name used in decisions and diagnostics. */
  readonly name: string;
  /** Inline document, or `undefined` when `file` is set. */
  readonly document?: unknown;
  /** Path relative to the config file. */
  readonly file?: string;
  /** JSON path of the reference inside the config, for diagnostics. */
  readonly path: string;
}

type PolicySource = { readonly file: string } | { readonly document: Record<string, unknown> };

const POLICY_MESSAGE = 'must be a policy document or {file: path}';

/** A policy document, or `{file: path}` (any mapping with a `file` key is a reference). */
const policySchema = z.union(
  [
    fields({ file: text().describe('Policy file, relative to the config file.') }).transform(
      (o): PolicySource => ({ file: o.file }),
    ),
    z
      .record(z.string(), z.unknown())
      .refine((o) => !('file' in o))
      .transform((document): PolicySource => ({ document }))
      // A mapping with `file` is a reference; the JSON Schema says so too.
      .meta({ description: 'An IAM policy document.', not: { required: ['file'] } }),
  ],
  { error: required(POLICY_MESSAGE) },
);

/** `guardrails` and `roles[].policies`: name -> document, or a list (named by index). */
const policyMapSchema = z
  .union([z.array(policySchema), z.record(z.string(), policySchema)], {
    error: required('must be a mapping of policy name to policy document'),
  })
  .default({});

const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const ROLE_ARN = /^arn:[^:]+:iam:[^:]*:[^:]*:role\/.+$/;

const roleSchema = fields({
  name: text().regex(ROLE_NAME, {
    error: 'must be 1-64 characters of letters, digits and +=,.@_-',
  }),
  arn: text()
    .regex(ROLE_ARN, { error: 'must be a role ARN, e.g. arn:aws:iam::123456789012:role/name' })
    .optional()
    .describe('Role ARN. Default: arn:rolegate:iam:::role/<name>.'),
  trustPolicy: policySchema.describe(
    'Trust policy (sts:AssumeRoleWithWebIdentity) deciding who may assume the role.',
  ),
  policies: policyMapSchema.describe('Permission policies: name -> document or {file: path}.'),
  permissionsBoundary: policySchema.optional().describe('Permissions boundary.'),
});

const rolesSchema = list(roleSchema)
  .superRefine((roles, ctx) => {
    const seen = new Set<string>();
    if (!Array.isArray(roles)) return;
    roles.forEach((v: unknown, i) => {
      const name = isRecord(v) ? v['name'] : undefined;
      if (typeof name !== 'string') return;
      if (seen.has(name)) problem(ctx, [i, 'name'], `duplicate role name ${name}`);
      seen.add(name);
    });
  }, always)
  .default([]);

/** The whole configuration file, as written (before paths are attached). */
export const rolegateSchema = fields({
  mtls: mtlsSchema,
  server: serverSchema,
  issuers: issuersSchema,
  roles: rolesSchema,
  guardrails: policyMapSchema.describe('Policies applied to every role, like SCPs.'),
  routes: routesSchema,
  unmatchedRoutes: unmatchedRoutesSchema,
  headers: headersSchema,
  deny: denySchema
    .optional()
    .describe(
      'How denies look to clients (status, body template, headers, login redirect); routes[].deny overrides it field by field.',
    ),
  tokens: tokensSchema,
  audit: auditSchema,
  shadow: shadowSchema.describe(
    'Shadow mode: a candidate configuration evaluated beside the live one; see docs/safe-changes.md.',
  ),
  aws: awsSchema.optional().describe('IAM as a role source and STS credentials; see docs/aws.md.'),
  access: accessSchema.describe(
    'Just-in-time access: requests, approvals, grants; see docs/access.md.',
  ),
  catalog: catalogSchema,
});

type Parsed = z.output<typeof rolegateSchema>;
type PolicyMap = Parsed['guardrails'];

function policyRef(source: PolicySource, name: string, path: string): PolicyRef {
  return 'file' in source
    ? { name, file: source.file, path }
    : { name, document: source.document, path };
}

function policyRefs(map: PolicyMap, path: string, prefix: string): PolicyRef[] {
  if (Array.isArray(map)) {
    return map.map((s, i) => policyRef(s, `${prefix}[${i}]`, childPath(path, i)));
  }
  return Object.entries(map).map(([name, s]) => policyRef(s, name, childPath(path, name)));
}

/** One role; `arn` defaults to `arn:rolegate:iam:::role/<name>`. */
export interface RoleConfig {
  readonly name: string;
  readonly arn: string;
  readonly trustPolicy: PolicyRef;
  readonly policies: readonly PolicyRef[];
  readonly permissionsBoundary?: PolicyRef;
}

/** The validated configuration; every default comes from the module schemas. */
export type RolegateConfig = Omit<Parsed, 'roles' | 'guardrails' | 'routes' | 'aws'> & {
  readonly roles: readonly RoleConfig[];
  readonly guardrails: readonly PolicyRef[];
  readonly routes: readonly RouteConfig[];
  readonly aws?: Exclude<Parsed['aws'], undefined>;
};

/** Attaches names and JSON paths to policy references and routes. */
function located(parsed: Parsed): RolegateConfig {
  const { roles, guardrails, routes, aws, ...rest } = parsed;
  return {
    ...rest,
    roles: roles.map((role, i): RoleConfig => {
      const at = `$.roles[${i}]`;
      return {
        name: role.name,
        arn: role.arn ?? `arn:rolegate:iam:::role/${role.name}`,
        trustPolicy: policyRef(role.trustPolicy, `${role.name}/trust`, `${at}.trustPolicy`),
        policies: policyRefs(role.policies, `${at}.policies`, 'policy'),
        ...(role.permissionsBoundary === undefined
          ? {}
          : {
              permissionsBoundary: policyRef(
                role.permissionsBoundary,
                `${role.name}/boundary`,
                `${at}.permissionsBoundary`,
              ),
            }),
      };
    }),
    guardrails: policyRefs(guardrails, '$.guardrails', 'guardrail'),
    routes: routes.map((r, i) => ({ ...r, jsonPath: `$.routes[${i}]` })),
    ...(aws === undefined ? {} : { aws }),
  };
}

/**
 * Validates a parsed configuration value. Returns the config, or the full
 * list of problems when there is any.
 */
export function validateConfig(
  value: unknown,
): { config: RolegateConfig; problems: [] } | { config?: undefined; problems: ConfigProblem[] } {
  const result = rolegateSchema.safeParse(value);
  if (!result.success) return { problems: problemsOf(result.error) };
  const catalogless = catalogProblems(result.data);
  if (catalogless.length > 0) return { problems: catalogless };
  return { config: located(result.data), problems: [] };
}

/** A route's `entity` needs a catalog to read it from: without `catalog.backstage`, it never has tags. */
function catalogProblems(parsed: Parsed): ConfigProblem[] {
  if (parsed.catalog?.backstage !== undefined) return [];
  return parsed.routes.flatMap((r, i) =>
    r.entity === undefined
      ? []
      : [
          {
            path: `$.routes[${i}].entity`,
            message: `names the Backstage entity ${r.entity}, but catalog.backstage is not configured to read it from`,
          },
        ],
  );
}
