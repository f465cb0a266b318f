import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { parse, stringify } from 'yaml';

/**
 * Path of the template the test bed renders (placeholders `${NAME}`): two
 * levels up from this file in the checkout, three when the benches run it
 * compiled from dist/test/harness.
 */
export const ENVOY_TEMPLATE_PATH = [
  '../../envoy/envoy.template.yaml',
  '../../../envoy/envoy.template.yaml',
]
  .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
  .find((path) => existsSync(path)) as string;
/** Path of the human-readable example (the template rendered with the quickstart's ports). */
export const ENVOY_EXAMPLE_PATH = fileURLToPath(new URL('../../envoy/envoy.yaml', import.meta.url));

export type JsonObject = Record<string, unknown>;

/** A route for `EnvoyConfigOptions.routes`; see `route()`. */
export interface RouteSpec {
  /** Match on path prefix (default '/'), or an exact `path`. */
  prefix?: string;
  path?: string;
  /** `check_settings.context_extensions` sent to rolegate for this route. */
  contextExtensions?: Record<string, string>;
  /** Turn ext_authz off for this route (`disabled: true`). */
  disableExtAuthz?: boolean;
  /** Target cluster (default 'upstream'). */
  cluster?: string;
  /** Extra header matchers (Envoy HeaderMatcher objects), e.g. `{ name: ':method', string_match: { exact: 'GET' } }`. */
  headers?: JsonObject[];
}

const PER_ROUTE_TYPE =
  'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute';

/** Build one Envoy route object (RouteConfiguration.virtual_hosts[].routes[]). */
export function route(spec: RouteSpec): JsonObject {
  const match: JsonObject =
    spec.path !== undefined ? { path: spec.path } : { prefix: spec.prefix ?? '/' };
  if (spec.headers !== undefined) match['headers'] = spec.headers;
  const r: JsonObject = { match, route: { cluster: spec.cluster ?? 'upstream' } };
  if (spec.disableExtAuthz === true) {
    r['typed_per_filter_config'] = {
      'envoy.filters.http.ext_authz': { '@type': PER_ROUTE_TYPE, disabled: true },
    };
  } else if (spec.contextExtensions !== undefined) {
    r['typed_per_filter_config'] = {
      'envoy.filters.http.ext_authz': {
        '@type': PER_ROUTE_TYPE,
        check_settings: { context_extensions: spec.contextExtensions },
      },
    };
  }
  return r;
}

export interface EnvoyConfigOptions {
  adminPort: number;
  listenerPort: number;
  /** rolegate's gRPC port (ext_authz + grpc.health.v1). */
  rolegatePort: number;
  rolegateHost?: string;
  /** The protected API (e.g. EchoUpstream.port). */
  upstreamPort: number;
  upstreamHost?: string;
  /** Active gRPC health-check interval for the rolegate cluster (default '0.5s'). */
  healthCheckInterval?: string;
  /** Extra routes, matched before the template's `/ctx/` and `/` routes (first match wins). */
  routes?: JsonObject[];
  /** Fields merged (shallowly) into the ext_authz filter's typed_config, e.g. `{ failure_mode_allow: true }`. */
  extAuthz?: JsonObject;
  /** Last word: change the parsed config object in place. */
  mutate?: (config: JsonObject) => void;
}

function obj(value: unknown, what: string): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`envoy config: expected an object at ${what}`);
  }
  return value as JsonObject;
}

function arr(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`envoy config: expected a list at ${what}`);
  return value;
}

/** The HttpConnectionManager typed_config of the (single) listener. */
export function httpConnectionManager(config: JsonObject): JsonObject {
  const listeners = arr(
    obj(config['static_resources'], 'static_resources')['listeners'],
    'listeners',
  );
  const chains = arr(obj(listeners[0], 'listeners[0]')['filter_chains'], 'filter_chains');
  const filters = arr(obj(chains[0], 'filter_chains[0]')['filters'], 'filters');
  return obj(obj(filters[0], 'filters[0]')['typed_config'], 'hcm typed_config');
}

/** The routes list of the single virtual host (mutable). */
export function routes(config: JsonObject): unknown[] {
  const rc = obj(httpConnectionManager(config)['route_config'], 'route_config');
  const vhosts = arr(rc['virtual_hosts'], 'virtual_hosts');
  return arr(obj(vhosts[0], 'virtual_hosts[0]')['routes'], 'routes');
}

/** The ext_authz filter's typed_config (mutable). */
export function extAuthzFilter(config: JsonObject): JsonObject {
  const filters = arr(httpConnectionManager(config)['http_filters'], 'http_filters');
  const f = filters.find((x) => obj(x, 'http_filter')['name'] === 'envoy.filters.http.ext_authz');
  return obj(obj(f, 'ext_authz filter')['typed_config'], 'ext_authz typed_config');
}

/** A cluster by name (mutable). */
export function cluster(config: JsonObject, name: string): JsonObject {
  const clusters = arr(obj(config['static_resources'], 'static_resources')['clusters'], 'clusters');
  return obj(
    clusters.find((c) => obj(c, 'cluster')['name'] === name),
    `cluster ${name}`,
  );
}

/** Fill the template's placeholders and return the config text (YAML). */
export function fillTemplate(values: Record<string, string | number>, template?: string): string {
  const text = template ?? readFileSync(ENVOY_TEMPLATE_PATH, 'utf8');
  const filled = text.replace(/\$\{([A-Z_]+)\}/g, (whole, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`envoy template: no value for ${whole}`);
    return String(v);
  });
  return filled;
}

/** Render the Envoy config as an object. */
export function renderEnvoyConfig(options: EnvoyConfigOptions): JsonObject {
  const text = fillTemplate({
    ADMIN_PORT: options.adminPort,
    LISTENER_PORT: options.listenerPort,
    ROLEGATE_HOST: options.rolegateHost ?? '127.0.0.1',
    ROLEGATE_PORT: options.rolegatePort,
    UPSTREAM_HOST: options.upstreamHost ?? '127.0.0.1',
    UPSTREAM_PORT: options.upstreamPort,
    HEALTH_CHECK_INTERVAL: options.healthCheckInterval ?? '0.5s',
  });
  const config = obj(parse(text), 'root');
  if (options.routes !== undefined && options.routes.length > 0) {
    routes(config).unshift(...options.routes);
  }
  if (options.extAuthz !== undefined) Object.assign(extAuthzFilter(config), options.extAuthz);
  options.mutate?.(config);
  return config;
}

/** Render the Envoy config as YAML text. */
export function renderEnvoyYaml(options: EnvoyConfigOptions): string {
  return stringify(renderEnvoyConfig(options), { lineWidth: 0 });
}
