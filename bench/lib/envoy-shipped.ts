/**
 * A real Envoy running the config rolegate ships (envoy/envoy.template.yaml,
 * the source of envoy/envoy.yaml), with only its ports filled in: what a
 * user who copies the quickstart config gets, so a bench through it
 * measures the shipped connection settings, not the bench's own.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cluster, renderEnvoyYaml, type JsonObject } from '../../test/harness/envoy-config.js';
import { ENVOY_BIN } from '../peers/envoy.js';
import { freePort } from '../peers/opa-envoy.js';
import { startPeer } from './children.js';
import { taskset } from './cpu.js';

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

/**
 * The shipped template with every placeholder filled (health checks every
 * 5 s, as shipped), by the test bed's own renderer; `http2Options`, for
 * experiments only, replaces the rolegate cluster's HTTP/2 options.
 */
export function renderShippedEnvoy(o: {
  adminPort: number;
  listenerPort: number;
  rolegatePort: number;
  upstreamPort: number;
  http2Options?: Readonly<Record<string, unknown>> | undefined;
}): string {
  const { http2Options } = o;
  return renderEnvoyYaml({
    adminPort: o.adminPort,
    listenerPort: o.listenerPort,
    rolegatePort: o.rolegatePort,
    upstreamPort: o.upstreamPort,
    healthCheckInterval: '5s',
    ...(http2Options === undefined
      ? {}
      : {
          mutate: (config: JsonObject) => {
            const protocol = (
              cluster(config, 'rolegate')['typed_extension_protocol_options'] as
                JsonObject | undefined
            )?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'] as JsonObject | undefined;
            const explicit = protocol?.['explicit_http_config'] as JsonObject | undefined;
            if (explicit === undefined)
              throw new Error('envoy template: no rolegate HTTP/2 options');
            explicit['http2_protocol_options'] = http2Options;
          },
        }),
  });
}

/** Starts Envoy with the shipped config; resolves once its admin /ready says LIVE. */
export async function startShippedEnvoy(o: ShippedEnvoyOptions): Promise<ShippedEnvoy> {
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const text = renderShippedEnvoy({
    adminPort,
    listenerPort,
    rolegatePort: o.rolegatePort,
    upstreamPort: o.upstreamPort,
    http2Options: o.http2Options,
  });
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
