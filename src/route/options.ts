/**
 * The route module's options: the `routes` table and `unmatchedRoutes`.
 * Each default is written once, in the schema.
 */
import { z } from 'zod';
import { always, fields, list, oneOf, problem, stringMap, text } from '../options/fields.js';
import { routeTemplateProblems } from './template.js';
import { denySchema } from '../response/deny-options.js';
import { normaliseEntityRef, parseEntityRef, ROUTE_ENTITY_KIND } from '../catalog/entity-ref.js';

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', '*'] as const;
const METHOD_MESSAGE = `must be one of: ${HTTP_METHODS.join(', ')}`;
/** Any case, spelled without the `i` flag so the JSON Schema's `pattern` keeps it. */
const METHOD_PATTERN = new RegExp(
  `^(${HTTP_METHODS.map((m) =>
    m === '*' ? '\\*' : m.replace(/[A-Z]/g, (c) => `[${c}${c.toLowerCase()}]`),
  ).join('|')})$`,
);

/** The tags a route with an `entity` takes from the catalog, never from its own `tags`. */
export const CATALOG_TAGS: ReadonlySet<string> = new Set(['owner', 'system', 'lifecycle']);

/** One entry of `routes`. */
export const routeSchema = fields({
  method: z
    .string({ error: METHOD_MESSAGE })
    .regex(METHOD_PATTERN, { error: METHOD_MESSAGE })
    .transform((m): string => m.toUpperCase())
    .default('*')
    .describe('HTTP method (any case), or * for any.'),
  path: text()
    .refine((p) => p.startsWith('/'), { error: 'must start with /' })
    .describe('Path template: literal segments, {name} one segment, {name+} the rest.'),
  action: text()
    .regex(/^[A-Za-z0-9_-]+:[A-Za-z0-9_*?-]+$/, { error: 'must be of the form service:ActionName' })
    .describe('IAM action, service:ActionName.'),
  resource: text().describe('Resource template; {name} is replaced by the captured segment.'),
  tags: stringMap().default({}).describe('aws:ResourceTag/<key> values for this route.'),
  entity: text()
    .superRefine((ref, ctx) => {
      const parsed = parseEntityRef(ref, { kind: ROUTE_ENTITY_KIND });
      if (!parsed.ok) problem(ctx, [], `not a Backstage entity ref: ${parsed.message}`);
    })
    .transform((ref) => normaliseEntityRef(ref, { kind: ROUTE_ENTITY_KIND }) ?? ref)
    .optional()
    .describe(
      'Backstage entity ref ([kind:][namespace/]name; kind component, namespace default) whose owner, system and lifecycle from catalog.backstage become aws:ResourceTag/owner|system|lifecycle. Default: none.',
    ),
  credentials: oneOf(['required', 'optional'])
    .optional()
    .describe(
      "Temporary AWS credentials for the caller's role, injected for the upstream: required (an STS failure denies) or optional. Default: none.",
    ),
  deny: denySchema
    .optional()
    .describe(
      'How denies on this route look; over the global deny, field by field. Default: the global deny.',
    ),
}).superRefine((o, ctx) => {
  const { path, action, resource, entity, tags } = o as Partial<Record<string, unknown>>;
  const given = (s: unknown): s is string => typeof s === 'string' && s !== '';
  // The catalog owns these tags for a route with an entity: two sources would disagree.
  if (given(entity) && tags !== null && typeof tags === 'object') {
    for (const key of Object.keys(tags)) {
      if (CATALOG_TAGS.has(key.toLowerCase())) {
        problem(
          ctx,
          ['tags', key],
          `set by the catalog for a route with an entity (${entity}); remove it here`,
        );
      }
    }
  }
  if (!given(path) || !given(action) || !given(resource)) return;
  for (const p of routeTemplateProblems({ path, action, resource })) {
    problem(ctx, [p.field], p.message);
  }
}, always);

/** One route as configured; defaults in {@link routeSchema}. */
export type RouteOptions = z.output<typeof routeSchema>;

/** One route with its JSON path in the config (`$.routes[3]`), for diagnostics. */
export type RouteConfig = RouteOptions & { readonly jsonPath: string };

/** The `routes` list. */
export const routesSchema = list(routeSchema).default([]);

/**
 * `unmatchedRoutes`: what happens to a request no route matches: `deny`,
 * or `default`: action `http:<Method>` on `arn:rolegate:http:::<host><path>`.
 */
export const unmatchedRoutesSchema = oneOf(['deny', 'default'])
  .default('deny')
  .describe(
    'A request no route matches: deny, or default (action http:<Method> on arn:rolegate:http:::<host><path>).',
  );
