/**
 * Security findings of a loaded configuration, beyond its errors: checks
 * modelled on IAM Access Analyzer's policy checks, each a warning with a
 * code, a JSON path and a link to its section of docs/findings.md. Static:
 * conditions are not evaluated, so a finding says what the documents allow
 * at most, never what a given request gets.
 */
import { compileGlob, matchGlob } from '../policy/glob.js';
import { matchRoute, type CompiledRoute } from '../route/table.js';
import type { ErrorCode } from '../errors.js';
import { childPath, isRecord } from '../options/fields.js';
import type { PlacedPolicy, LoadedConfig } from './compile.js';
import type { Finding } from './finding.js';

/** Where the findings are documented; each finding links `#<code in lower case>`. */
export const FINDINGS_DOC = 'docs/findings.md';

/** One statement of a placed policy, with its JSON path and file. */
interface PlacedStatement {
  readonly policy: PlacedPolicy;
  readonly statement: Record<string, unknown>;
  /** Sid, or `#<index>`. */
  readonly id: string;
  readonly path: string;
  readonly effect: 'Allow' | 'Deny';
  readonly actions?: readonly string[];
  readonly notActions?: readonly string[];
  readonly resources?: readonly string[];
  readonly notResources?: readonly string[];
  readonly conditional: boolean;
}

function list(v: unknown): string[] | undefined {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return undefined;
}

function statementsOf(p: PlacedPolicy): PlacedStatement[] {
  const doc = p.resolved.document;
  if (!isRecord(doc)) return [];
  const raw = doc['Statement'];
  const base = childPath(p.resolved.basePath, 'Statement');
  const items: unknown[] = Array.isArray(raw) ? raw : [raw];
  return items.flatMap((s, i): PlacedStatement[] => {
    if (!isRecord(s)) return [];
    const actions = list(s['Action']);
    const notActions = list(s['NotAction']);
    const resources = list(s['Resource']);
    const notResources = list(s['NotResource']);
    return [
      {
        policy: p,
        statement: s,
        id: typeof s['Sid'] === 'string' ? s['Sid'] : `#${i}`,
        path: Array.isArray(raw) ? childPath(base, i) : base,
        effect: s['Effect'] === 'Deny' ? 'Deny' : 'Allow',
        ...(actions === undefined ? {} : { actions }),
        ...(notActions === undefined ? {} : { notActions }),
        ...(resources === undefined ? {} : { resources }),
        ...(notResources === undefined ? {} : { notResources }),
        conditional: isRecord(s['Condition']) && Object.keys(s['Condition']).length > 0,
      },
    ];
  });
}

const actionMatches = (pattern: string, action: string) =>
  matchGlob(compileGlob(pattern.toLowerCase()), action.toLowerCase());
const resourceMatches = (pattern: string, resource: string) =>
  matchGlob(compileGlob(pattern), resource);

/** Whether the statement's action part applies to `action`. */
function coversAction(s: PlacedStatement, action: string): boolean {
  if (s.actions !== undefined) return s.actions.some((a) => actionMatches(a, action));
  if (s.notActions !== undefined) return !s.notActions.some((a) => actionMatches(a, action));
  return false;
}

/** Whether the statement's resource part applies to `resource`. */
function coversResource(s: PlacedStatement, resource: string): boolean {
  if (s.resources !== undefined) return s.resources.some((r) => resourceMatches(r, resource));
  if (s.notResources !== undefined)
    return !s.notResources.some((r) => resourceMatches(r, resource));
  return false;
}

/** Whether glob `outer` matches every string `inner` (a pattern) matches; conservative. */
function patternCovers(outer: string, inner: string, ignoreCase: boolean): boolean {
  const o = ignoreCase ? outer.toLowerCase() : outer;
  const i = ignoreCase ? inner.toLowerCase() : inner;
  if (o === '*' || o === i) return true;
  if (!/[*?]/.test(i)) return matchGlob(compileGlob(o), i);
  // `orders:*` covers `orders:Get*`: a trailing-star prefix of the inner pattern's literal head.
  const head = i.slice(0, i.search(/[*?]/));
  return o.endsWith('*') && !/[*?]/.test(o.slice(0, -1)) && head.startsWith(o.slice(0, -1));
}

const READ_ONLY = /^[^:]+:(Get|List|Describe|Head|Read|Query|Search|View|BatchGet)/i;

/** A read-only action name (Get*, List*, Describe*, ...); `*` and `svc:*` are not. */
function isReadOnly(action: string): boolean {
  return READ_ONLY.test(action);
}

/** A probe request path for a route's template: each `{x}` a segment, `{x+}` two. */
function probePath(path: string): string {
  return path.replace(/\{[A-Za-z_][A-Za-z0-9_]*(\+?)\}/g, (_m, plus: string) =>
    plus === '+' ? 'rolegate-probe/rolegate-probe' : 'rolegate-probe',
  );
}

function finding(
  code: ErrorCode,
  message: string,
  at: { file?: string; path: string; policy?: string; statement?: string },
): Finding {
  return {
    code,
    severity: 'warning',
    message,
    ...(at.file === undefined ? {} : { file: at.file }),
    path: at.path,
    ...(at.policy === undefined ? {} : { policy: at.policy }),
    ...(at.statement === undefined ? {} : { statement: at.statement }),
    doc: `${FINDINGS_DOC}#${code.toLowerCase()}`,
  };
}

function at(s: PlacedStatement) {
  return {
    file: s.policy.resolved.file,
    path: s.path,
    policy: s.policy.resolved.ref.name,
    statement: s.id,
  };
}

const AUD_OR_SUB = /(^|:)(aud|sub)$/i;

function conditionKeys(s: PlacedStatement): string[] {
  const c = s.statement['Condition'];
  if (!isRecord(c)) return [];
  return Object.values(c).flatMap((block) => (isRecord(block) ? Object.keys(block) : []));
}

function federated(s: PlacedStatement): string[] {
  const p = s.statement['Principal'];
  return isRecord(p) ? (list(p['Federated']) ?? []) : [];
}

/**
 * The findings of `loaded` (loaded with `loadConfig`, which records its
 * policy documents; without them only the route findings are produced).
 * `configFile` locates route and role findings.
 */
export function securityFindings(loaded: LoadedConfig, configFile?: string): Finding[] {
  const out: Finding[] = [];
  const docs = loaded.documents ?? [];
  const all = docs.flatMap(statementsOf);
  const inConfig = (path: string) => ({
    ...(configFile === undefined ? {} : { file: configFile }),
    path,
  });
  const routes: readonly CompiledRoute[] = loaded.routes;
  const config = loaded.settings;
  // Requests reach roles only through the route table (plus Envoy context_extensions).
  const tableOnly = config.unmatchedRoutes === 'deny' && config.routes.length > 0;
  const routeActions = routes.map((r) => (r.action.length === 1 ? (r.action[0] ?? '') : '*'));

  for (const s of all) {
    const layer = s.policy.layer;
    if (layer === 'trust') {
      const issuers = federated(s);
      if (
        s.effect === 'Allow' &&
        issuers.length > 0 &&
        !conditionKeys(s).some((k) => AUD_OR_SUB.test(k))
      ) {
        out.push(
          finding(
            'WARN_TRUST_ISSUER_WIDE',
            `role ${s.policy.role ?? ''} admits every subject of ${issuers.join(', ')}: add a condition on its :aud or :sub (or jwt:sub)`,
            at(s),
          ),
        );
      }
      continue;
    }
    if (layer !== 'identity' || s.effect !== 'Allow') continue;
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
    if (tableOnly && s.actions !== undefined) {
      const reachable = routeActions.some((ra) => ra === '*' || coversAction(s, ra));
      if (!reachable) {
        out.push(
          finding(
            'WARN_STATEMENT_UNREACHABLE',
            `no route maps to ${s.actions.join(', ')}; the statement only matters for Envoy context_extensions`,
            at(s),
          ),
        );
        continue;
      }
    }
    // Shadowed by an unconditional Deny that applies to the same role.
    const deny = all.find(
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
    if (deny !== undefined) {
      out.push(
        finding(
          'WARN_STATEMENT_UNREACHABLE',
          `can never allow: the unconditional Deny ${deny.policy.resolved.ref.name}/${deny.id} covers all of its actions and resources`,
          at(s),
        ),
      );
    }
  }

  const identityAllows = (role: string) =>
    all.filter(
      (s) => s.policy.role === role && s.policy.layer === 'identity' && s.effect === 'Allow',
    );

  // Routes: shadowed by an earlier one, or usable by no role.
  config.routes.forEach((route, j) => {
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
          inConfig(`$.routes[${j}]`),
        ),
      );
    }
    const own = routes[j];
    const mapped = own === undefined ? undefined : matchRoute([own], method, probe);
    if (mapped === undefined || docs.length === 0) return;
    const usable = config.roles.some((role) =>
      identityAllows(role.name).some(
        (s) => coversAction(s, mapped.action) && coversResource(s, mapped.resource),
      ),
    );
    if (!usable) {
      out.push(
        finding(
          'WARN_ROUTE_UNUSABLE',
          `no role has an Allow statement for ${mapped.action} on ${route.resource}`,
          inConfig(`$.routes[${j}]`),
        ),
      );
    }
  });

  // A catch-all route behind nginx: with $uri sent instead of $request_uri,
  // every request would be decided as the auth location and allowed here.
  if (config.server.http.enabled) {
    const location = config.server.http.nginxAuthLocation;
    for (const probe of [location, '/_auth', '/auth']) {
      const j = routes.findIndex((r) => r.pattern.test(probe));
      if (j < 0) continue;
      out.push(
        finding(
          'WARN_ROUTE_CATCH_ALL',
          `routes[${j}] (${config.routes[j]?.method ?? ''} ${config.routes[j]?.path ?? ''}) matches ${probe}, an nginx auth location: if nginx sends $uri instead of $request_uri, every request is decided as that path. rolegate refuses an original URI equal to server.http.nginxAuthLocation (${location}); set it to the location your auth_request names`,
          inConfig(`$.routes[${j}]`),
        ),
      );
      break;
    }
  }

  // Roles that no route reaches.
  if (tableOnly && docs.length > 0) {
    config.roles.forEach((role, k) => {
      const allows = identityAllows(role.name);
      if (routeActions.some((ra) => ra === '*' || allows.some((s) => coversAction(s, ra)))) return;
      out.push(
        finding(
          'WARN_ROLE_UNREACHED',
          `no route maps to an action role ${role.name} allows; with unmatchedRoutes: deny it can only be used through Envoy context_extensions`,
          inConfig(`$.roles[${k}]`),
        ),
      );
    });
  }
  return out;
}
