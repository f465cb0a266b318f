/**
 * A real Envoy running the config rolegate ships (envoy/envoy.template.yaml,
 * the source of envoy/envoy.yaml), with only its ports filled in: what a
 * user who copies the quickstart config gets, so a bench through it
 * measures the shipped connection settings, not the bench's own.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { ENVOY_BIN } from '../peers/envoy.js';
import { freePort } from '../peers/opa-envoy.js';
import { startPeer } from './children.js';
import { taskset } from './cpu.js';

/** The template the shipped envoy/envoy.yaml is rendered from (run from dist/bench/lib). */
export const ENVOY_TEMPLATE = fileURLToPath(
  new URL('../../../envoy/envoy.template.yaml', import.meta.url),
);

export interface ShippedEnvoyOptions {
  readonly name: string;
  readonly dir: string;
  readonly rolegatePort: number;
  readonly upstreamPort: number;
  /** Envoy worker threads (`--concurrency`). Default 1: one thread, the case where spreading is hardest. */
  readonly concurrency?: number;
  /**
   * Experiments only: replace the rolegate cluster's HTTP/2 options
   * (`http2_protocol_options`); default: as shipped.
   */
  readonly http2Options?: Readonly<Record<string, unknown>>;
  /** Core(s) to pin Envoy to, as taskset takes them; default unpinned. */
  readonly core?: number;
}

export interface ShippedEnvoy {
  readonly listenerPort: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/** The shipped template with every placeholder filled (health checks every 5 s, as shipped). */
export function renderShippedEnvoy(o: {
  adminPort: number;
  listenerPort: number;
  rolegatePort: number;
  upstreamPort: number;
}): string {
  const values: Record<string, string> = {
    ADMIN_PORT: String(o.adminPort),
    LISTENER_PORT: String(o.listenerPort),
    ROLEGATE_HOST: '127.0.0.1',
    ROLEGATE_PORT: String(o.rolegatePort),
    UPSTREAM_HOST: '127.0.0.1',
    UPSTREAM_PORT: String(o.upstreamPort),
    HEALTH_CHECK_INTERVAL: '5s',
  };
  return readFileSync(ENVOY_TEMPLATE, 'utf8').replace(/\$\{([A-Z_]+)\}/g, (_m, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`envoy template: unknown placeholder ${name}`);
    return value;
  });
}

type Json = Record<string, unknown>;

/** Only for experiments: the rolegate cluster's HTTP/2 options replaced. */
function withHttp2Options(text: string, options: Readonly<Record<string, unknown>>): string {
  const config = parse(text) as Json;
  const clusters = (config['static_resources'] as Json)['clusters'] as Json[];
  const rolegate = clusters.find((c) => c['name'] === 'rolegate');
  const protocol = (rolegate?.['typed_extension_protocol_options'] as Json | undefined)?.[
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions'
  ] as Json | undefined;
  const explicit = protocol?.['explicit_http_config'] as Json | undefined;
  if (explicit === undefined) throw new Error('envoy template: no rolegate HTTP/2 options');
  explicit['http2_protocol_options'] = options;
  return stringify(config);
}

/** Starts Envoy with the shipped config; resolves once its admin /ready says LIVE. */
export async function startShippedEnvoy(o: ShippedEnvoyOptions): Promise<ShippedEnvoy> {
  const adminPort = await freePort();
  const listenerPort = await freePort();
  let text = renderShippedEnvoy({
    adminPort,
    listenerPort,
    rolegatePort: o.rolegatePort,
    upstreamPort: o.upstreamPort,
  });
  if (o.http2Options !== undefined) text = withHttp2Options(text, o.http2Options);
  const file = join(o.dir, `envoy-${o.name}.yaml`);
  writeFileSync(file, text);
  const [cmd, args] = taskset(o.core, ENVOY_BIN, [
    ...['-c', file, '--concurrency', String(o.concurrency ?? 1), '--disable-hot-restart'],
    // The shipped access log writes a line per request to stdout: kept (it is shipped), discarded.
    ...['--log-level', 'error', '--drain-time-s', '0'],
  ]);
  const peer = await startPeer(`envoy (${o.name})`, cmd, args, async () => {
    const res = await fetch(`http://127.0.0.1:${adminPort}/ready`);
    return res.ok && (await res.text()).trim() === 'LIVE';
  });
  return { listenerPort, pid: peer.pid, stop: () => peer.stop() };
}
