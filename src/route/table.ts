/**
 * Route table: method + path template -> IAM action + resource template.
 * Templates are compiled once; matching a request walks the routes in the
 * order the config lists them (first match wins, as operators expect).
 */
import type { RouteConfig } from './options.js';
import { RolegateError } from '../errors.js';
import { PARAM, routeTemplateProblems } from './template.js';

export {
  routeTemplateProblems,
  templateParameters,
  type RouteTemplateProblem,
} from './template.js';

export type { RouteMatch } from '../decision/parties.js';
import type { RouteMatch } from '../decision/parties.js';

/** A template split once into literal text and parameter names (odd indexes). */
type Template = readonly string[];

export interface CompiledRoute {
  readonly method: string;
  readonly pattern: RegExp;
  readonly params: readonly string[];
  readonly action: Template;
  readonly resource: Template;
  readonly tags: Readonly<Record<string, string>>;
  /** The Backstage entity whose catalog tags the route takes (normalised ref). */
  readonly entity?: string;
  readonly credentials?: 'required' | 'optional';
  readonly index: number;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
}

/**
 * Compiles one route's path template; `{x}` is one segment, `{x+}` the rest of the path.
 * Throws ERR_CONFIG_INVALID when the action or resource names a parameter the
 * path does not have (config validation reports it first, with its location).
 */
export function compileRoute(route: RouteConfig, index: number): CompiledRoute {
  const [problem] = routeTemplateProblems(route);
  if (problem !== undefined) {
    throw new RolegateError(
      'ERR_CONFIG_INVALID',
      `${route.jsonPath}.${problem.field}: ${problem.message}`,
    );
  }
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
    action: splitTemplate(route.action),
    resource: splitTemplate(route.resource),
    tags: route.tags,
    ...(route.entity === undefined ? {} : { entity: route.entity }),
    ...(route.credentials === undefined ? {} : { credentials: route.credentials }),
    index,
  };
}

/** `a{x}b` -> ['a', 'x', 'b']: literals at even indexes, parameter names at odd ones. */
function splitTemplate(template: string): Template {
  const parts: string[] = [];
  let last = 0;
  for (const m of template.matchAll(PARAM)) {
    parts.push(template.slice(last, m.index), m[1] ?? '');
    last = m.index + m[0].length;
  }
  parts.push(template.slice(last));
  return parts;
}

function fillTemplate(
  template: Template,
  values: readonly string[],
  names: readonly string[],
): string {
  let out = template[0] ?? '';
  for (let i = 1; i < template.length; i += 2) {
    // compileRoute refused templates naming parameters the path lacks.
    out += values[names.indexOf(template[i] ?? '')] ?? '';
    out += template[i + 1] ?? '';
  }
  return out;
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
    const values = m.slice(1);
    return {
      action: fillTemplate(route.action, values, route.params),
      resource: fillTemplate(route.resource, values, route.params),
      source: `route[${route.index}]`,
      tags: route.tags,
      ...(route.entity === undefined ? {} : { entity: route.entity }),
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
