/**
 * Route table: method + path template -> IAM action + resource template.
 * Templates are compiled once; matching a request walks the routes in the
 * order the config lists them (first match wins, as operators expect).
 */
import type { RouteConfig } from '../config/schema.js';

/** The IAM view of one HTTP request. */
export interface RouteMatch {
  readonly action: string;
  readonly resource: string;
  /** Where the mapping came from: `context_extensions`, `route[<i>]` or `default`. */
  readonly source: string;
  /** `aws:ResourceTag/<k>` values. */
  readonly tags: Readonly<Record<string, string>>;
  /** Temporary AWS credentials for the upstream: `required` or `optional`; absent = none. */
  readonly credentials?: 'required' | 'optional';
}

export interface CompiledRoute {
  readonly method: string;
  readonly pattern: RegExp;
  readonly params: readonly string[];
  readonly action: string;
  readonly resource: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly credentials?: 'required' | 'optional';
  readonly index: number;
}

const PARAM = /\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}/g;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
}

/** Compiles one route's path template; `{x}` is one segment, `{x+}` the rest of the path. */
export function compileRoute(route: RouteConfig, index: number): CompiledRoute {
  const params: string[] = [];
  let source = '';
  let last = 0;
  for (const m of route.path.matchAll(PARAM)) {
    source += escapeRegExp(route.path.slice(last, m.index));
    params.push(m[1] ?? '');
    source += m[2] === '+' ? '(.+)' : '([^/]+)';
    last = m.index + m[0].length;
  }
  source += escapeRegExp(route.path.slice(last));
  return {
    method: route.method,
    pattern: new RegExp(`^${source}/?$`),
    params,
    action: route.action,
    resource: route.resource,
    tags: route.tags,
    ...(route.credentials === undefined ? {} : { credentials: route.credentials }),
    index,
  };
}

function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(PARAM, (whole, name: string) => values[name] ?? whole);
}

/** First matching route for a method and (query-less, decoded) path, or undefined. */
export function matchRoute(
  routes: readonly CompiledRoute[],
  method: string,
  path: string,
): RouteMatch | undefined {
  for (const route of routes) {
    if (route.method !== '*' && route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (!m) continue;
    const values: Record<string, string> = {};
    route.params.forEach((name, i) => {
      values[name] = m[i + 1] ?? '';
    });
    return {
      action: fillTemplate(route.action, values),
      resource: fillTemplate(route.resource, values),
      source: `route[${route.index}]`,
      tags: route.tags,
      ...(route.credentials === undefined ? {} : { credentials: route.credentials }),
    };
  }
  return undefined;
}

/**
 * The documented default mapping: action `http:<Method>` (e.g. `http:Get`)
 * on `arn:rolegate:http:::<host><path>`.
 */
export function defaultRoute(method: string, host: string, path: string): RouteMatch {
  const verb = method.charAt(0).toUpperCase() + method.slice(1).toLowerCase();
  return {
    action: `http:${verb}`,
    resource: `arn:rolegate:http:::${host}${path}`,
    source: 'default',
    tags: {},
  };
}
