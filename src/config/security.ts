/**
 * Security findings of a loaded configuration, beyond its errors: checks
 * modelled on IAM Access Analyzer's policy checks, each a warning with a
 * code, a JSON path and a link to its section of docs/findings.md. Static:
 * conditions are not evaluated, so a finding says what the documents allow
 * at most, never what a given request gets.
 */
import { matchRoute, type CompiledRoute } from '../route/table.js';
import { accessActionsOf, accessBlockedFindings } from './access-findings.js';
import type { LoadedConfig } from './compile.js';
import type { Finding } from './finding.js';
import { at, finding, type Location } from './security-finding.js';
import {
  conditionKeys,
  coversAction,
  coversResource,
  federated,
  isReadOnly,
  patternCovers,
  statementsOf,
  type PlacedStatement,
} from './security-statements.js';
import { roleTrustFindings, trustStatementFindings } from './trust-findings.js';
import type { TrustSources } from './trust-sources.js';

export { FINDINGS_DOC } from './security-finding.js';

/** What the families of findings read, worked out once per config. */
interface Scope {
  /** Every statement of every policy document, in the order the config places them. */
  readonly all: readonly PlacedStatement[];
  /** Without policy documents no statement, route-use or role finding can be made. */
  readonly hasDocuments: boolean;
  readonly routes: readonly CompiledRoute[];
  readonly config: LoadedConfig['settings'];
  /** Requests reach roles only through the route table (plus Envoy context_extensions). */
  readonly tableOnly: boolean;
  /** Each route's action; `*` when it holds a `{param}`, since the request then picks it. */
  readonly routeActions: readonly string[];
  /** Locates a finding at a JSON path of the config file. */
  readonly inConfig: (path: string) => Location;
  /** The identity sources trust policies are judged against: `issuers` and `mtls`. */
  readonly sources: TrustSources;
  /** With `access.enabled`, access API actions (`rolegate:RequestAccess`, ...) are reached without a route. */
  readonly accessEnabled: boolean;
}

/** A probe request path for a route's template: each `{x}` a segment, `{x+}` two. */
function probePath(path: string): string {
  return path.replace(/\{[A-Za-z_][A-Za-z0-9_]*(\+?)\}/g, (_m, plus: string) =>
    plus === '+' ? 'rolegate-probe/rolegate-probe' : 'rolegate-probe',
  );
}

/**
 * The findings of `loaded` (loaded with `loadConfig`, which records its
 * policy documents; without them only the route findings are produced).
 * `configFile` locates route and role findings; without it they carry a
 * path only. Findings come per statement in document order, then per
 * route, then the nginx catch-all, then per role (its trust first).
 */
export function securityFindings(loaded: LoadedConfig, configFile?: string): Finding[] {
  const scope = scopeOf(loaded, configFile);
  return [
    ...scope.all.flatMap((s) => statementFindings(scope, s)),
    ...scope.config.routes.flatMap((_route, j) => routeFindings(scope, j)),
    ...catchAllFindings(scope),
    ...roleFindings(scope),
  ];
}

function scopeOf(loaded: LoadedConfig, configFile: string | undefined): Scope {
  const docs = loaded.documents ?? [];
  const config = loaded.settings;
  return {
    all: docs.flatMap(statementsOf),
    hasDocuments: docs.length > 0,
    routes: loaded.routes,
    config,
    tableOnly: config.unmatchedRoutes === 'deny' && config.routes.length > 0,
    routeActions: loaded.routes.map((r) => (r.action.length === 1 ? (r.action[0] ?? '') : '*')),
    inConfig: (path) => ({ ...(configFile === undefined ? {} : { file: configFile }), path }),
    sources: { issuers: config.issuers, mtls: config.mtls },
    accessEnabled: config.access.enabled,
  };
}

/** The role's Allow statements in its own (identity) policies: what can grant it access. */
function identityAllows(scope: Scope, role: string): PlacedStatement[] {
  return scope.all.filter(
    (s) => s.policy.role === role && s.policy.layer === 'identity' && s.effect === 'Allow',
  );
}

/** Trust statements are judged on whom they admit; identity Allows on what they grant. */
function statementFindings(scope: Scope, s: PlacedStatement): Finding[] {
  if (s.policy.layer === 'trust') {
    return [...trustFindings(s), ...trustStatementFindings(scope.sources, s)];
  }
  if (s.policy.layer !== 'identity' || s.effect !== 'Allow') return [];
  const unreachable = unreachableStatement(scope, s);
  return [
    ...broadAllowFindings(s),
    ...(unreachable === undefined ? [] : [unreachable]),
    ...accessBlockedFindings(scope.all, s),
  ];
}

/** Whether `s` grants an action the access API decides, with the access API on. */
function reachedByAccessApi(scope: Scope, s: PlacedStatement): boolean {
  return scope.accessEnabled && accessActionsOf(s).length > 0;
}

const AUD_OR_SUB = /(^|:)(aud|sub)$/i;

/** An Allow trusting an issuer with no condition on audience or subject admits all its tokens. */
function trustFindings(s: PlacedStatement): Finding[] {
  const issuers = federated(s);
  if (s.effect !== 'Allow' || issuers.length === 0) return [];
  if (conditionKeys(s).some((k) => AUD_OR_SUB.test(k))) return [];
  return [
    finding(
      'WARN_TRUST_ISSUER_WIDE',
      `role ${s.policy.role ?? ''} admits every subject of ${issuers.join(', ')}: add a condition on its :aud or :sub (or jwt:sub)`,
      at(s),
    ),
  ];
}

/** Allow statements that grant more than they name. */
function broadAllowFindings(s: PlacedStatement): Finding[] {
  const out: Finding[] = [];
  if (s.notActions !== undefined) {
    out.push(
      finding(
        'WARN_ALLOW_NOT_ACTION',
        'Allow with NotAction grants every action it does not list, new ones included; list the actions instead',
        at(s),
      ),
    );
  }
  if (s.notResources !== undefined) {
    out.push(
      finding(
        'WARN_ALLOW_NOT_RESOURCE',
        'Allow with NotResource grants every resource it does not list; list the resources instead',
        at(s),
      ),
    );
  }
  const writes = (s.actions ?? ['*']).filter((a) => !isReadOnly(a));
  if (s.resources?.includes('*') === true && writes.length > 0) {
    out.push(
      finding(
        'WARN_WRITE_ON_ALL_RESOURCES',
        `allows ${writes.join(', ')} on every resource ("*"); name the resources`,
        at(s),
      ),
    );
  }
  return out;
}

/**
 * An Allow that can never matter: no route maps to its actions (and,
 * with just-in-time access on, it grants no access API action), or else an
 * unconditional Deny on the same role covers it. One reason is enough.
 */
function unreachableStatement(scope: Scope, s: PlacedStatement): Finding | undefined {
  if (scope.tableOnly && s.actions !== undefined) {
    const reachable =
      scope.routeActions.some((ra) => ra === '*' || coversAction(s, ra)) ||
      reachedByAccessApi(scope, s);
    if (!reachable) {
      return finding(
        'WARN_STATEMENT_UNREACHABLE',
        `no route maps to ${s.actions.join(', ')}; the statement only matters for Envoy context_extensions`,
        at(s),
      );
    }
  }
  const deny = shadowingDeny(scope, s);
  if (deny === undefined) return undefined;
  return finding(
    'WARN_STATEMENT_UNREACHABLE',
    `can never allow: the unconditional Deny ${deny.policy.resolved.ref.name}/${deny.id} covers all of its actions and resources`,
    at(s),
  );
}

/** The first unconditional Deny, on this role or a guardrail, covering every action and resource of `s`. */
function shadowingDeny(scope: Scope, s: PlacedStatement): PlacedStatement | undefined {
  return scope.all.find(
    (d) =>
      d.effect === 'Deny' &&
      !d.conditional &&
      d.policy.layer !== 'trust' &&
      (d.policy.layer === 'guardrail' || d.policy.role === s.policy.role) &&
      d.actions !== undefined &&
      d.resources !== undefined &&
      s.actions !== undefined &&
      s.resources !== undefined &&
      s.actions.every((a) => d.actions?.some((da) => patternCovers(da, a, true))) &&
      s.resources.every((r) => d.resources?.some((dr) => patternCovers(dr, r, false))),
  );
}

/** Route `j`: shadowed by an earlier route, or usable by no role. */
function routeFindings(scope: Scope, j: number): Finding[] {
  const { config, routes } = scope;
  const route = config.routes[j];
  if (route === undefined) return [];
  const out: Finding[] = [];
  const probe = probePath(route.path);
  const method = route.method === '*' ? 'GET' : route.method;
  const earlier = config.routes.findIndex(
    (r, i) =>
      i < j &&
      (r.method === '*' || r.method === route.method) &&
      routes[i]?.pattern.test(probe) === true,
  );
  if (earlier >= 0) {
    out.push(
      finding(
        'WARN_ROUTE_SHADOWED',
        `${route.method} ${route.path} can never match: routes[${earlier}] (${config.routes[earlier]?.method ?? ''} ${config.routes[earlier]?.path ?? ''}) matches first`,
        scope.inConfig(`$.routes[${j}]`),
      ),
    );
  }
  const own = routes[j];
  const mapped = own === undefined ? undefined : matchRoute([own], method, probe);
  if (mapped === undefined || !scope.hasDocuments) return out;
  const usable = config.roles.some((role) =>
    identityAllows(scope, role.name).some(
      (s) => coversAction(s, mapped.action) && coversResource(s, mapped.resource),
    ),
  );
  if (!usable) {
    out.push(
      finding(
        'WARN_ROUTE_UNUSABLE',
        `no role has an Allow statement for ${mapped.action} on ${route.resource}`,
        scope.inConfig(`$.routes[${j}]`),
      ),
    );
  }
  return out;
}

/**
 * A catch-all route behind nginx: with $uri sent instead of $request_uri,
 * every request would be decided as the auth location and allowed here.
 * Reported once, for the first probe a route matches.
 */
function catchAllFindings(scope: Scope): Finding[] {
  const { config, routes } = scope;
  if (!config.server.http.enabled) return [];
  const location = config.server.http.nginxAuthLocation;
  for (const probe of [location, '/_auth', '/auth']) {
    const j = routes.findIndex((r) => r.pattern.test(probe));
    if (j < 0) continue;
    return [
      finding(
        'WARN_ROUTE_CATCH_ALL',
        `routes[${j}] (${config.routes[j]?.method ?? ''} ${config.routes[j]?.path ?? ''}) matches ${probe}, an nginx auth location: if nginx sends $uri instead of $request_uri, every request is decided as that path. rolegate refuses an original URI equal to server.http.nginxAuthLocation (${location}); set it to the location your auth_request names`,
        scope.inConfig(`$.routes[${j}]`),
      ),
    ];
  }
  return [];
}

/**
 * Per role: a trust policy no configured identity satisfies, then (when
 * the route table is the only way in) no route reaching it.
 */
function roleFindings(scope: Scope): Finding[] {
  if (!scope.hasDocuments) return [];
  const { access } = scope.config;
  return scope.config.roles.flatMap((role, k) => [
    ...roleTrustFindings(
      scope.sources,
      role.name,
      scope.all.filter((s) => s.policy.layer === 'trust' && s.policy.role === role.name),
      scope.inConfig(`$.roles[${k}].trustPolicy`),
      access.enabled && Object.hasOwn(access.roles, role.name),
    ),
    ...unreachedRole(scope, role.name, k),
  ]);
}

/** A role that no route reaches, when the route table is the only way in. */
function unreachedRole(scope: Scope, name: string, k: number): Finding[] {
  if (!scope.tableOnly) return [];
  const allows = identityAllows(scope, name);
  if (allows.some((s) => reachedByAccessApi(scope, s))) return [];
  if (scope.routeActions.some((ra) => ra === '*' || allows.some((s) => coversAction(s, ra))))
    return [];
  return [
    finding(
      'WARN_ROLE_UNREACHED',
      `no route maps to an action role ${name} allows; with unmatchedRoutes: deny it can only be used through Envoy context_extensions`,
      scope.inConfig(`$.roles[${k}]`),
    ),
  ];
}
