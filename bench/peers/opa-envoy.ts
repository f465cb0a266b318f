/**
 * OPA-Envoy (opa-envoy-plugin, built by bench/peers/build-opa-envoy.sh) as a
 * child process pinned to one core: its ext_authz gRPC server on a free
 * loopback port, evaluating the generated Rego (bench/peers/rego.ts) with
 * decision logs off and the io_jwt verification cache sized like rolegate's
 * token cache (OPA disables that cache by default).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

import { taskset } from '../lib/cpu.js';
import { REGO_DECISION_PATH } from './rego.js';
import { startPeer } from '../lib/children.js';

/** Where build-opa-envoy.sh puts the binaries (.tools/peers/ in the checkout). */
export const PEERS_BIN_DIR = fileURLToPath(new URL('../../../.tools/peers/', import.meta.url));
export const OPA_ENVOY_BIN = join(PEERS_BIN_DIR, 'opa-envoy-plugin');
export const LOADCLIENT_BIN = join(PEERS_BIN_DIR, 'loadclient');
/** The build script, for messages and `npm run bench:peers`. */
export const BUILD_SCRIPT = fileURLToPath(
  new URL('../../../bench/peers/build-opa-envoy.sh', import.meta.url),
);

/** True when both peer binaries are built. */
export function peersBuilt(): boolean {
  return existsSync(OPA_ENVOY_BIN) && existsSync(LOADCLIENT_BIN);
}

/** `opa-envoy-plugin version` lines of interest (Version, Go Version). */
export function opaEnvoyVersion(): string {
  const out = spawnSync(OPA_ENVOY_BIN, ['version'], { encoding: 'utf8' }).stdout ?? '';
  const get = (k: string) => new RegExp(`^${k}: *(.*)$`, 'm').exec(out)?.[1]?.trim() ?? '?';
  return `opa-envoy-plugin ${get('Version')} (built with ${get('Go Version')})`;
}

/** A free loopback TCP port (bound then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface OpaEnvoyProcess {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

/** Start OPA-Envoy on `core` with `regoFile`; resolves once its plugins report healthy. */
export async function startOpaEnvoy(opts: {
  regoFile: string;
  dir: string;
  core?: number;
  cacheEntries: number;
}): Promise<OpaEnvoyProcess> {
  const port = await freePort();
  const httpPort = await freePort();
  const configFile = join(opts.dir, 'opa.yaml');
  writeFileSync(
    configFile,
    stringify({
      plugins: {
        envoy_ext_authz_grpc: {
          addr: `127.0.0.1:${port}`,
          path: REGO_DECISION_PATH,
          'enable-reflection': false,
        },
      },
      decision_logs: { console: false },
      caching: {
        inter_query_builtin_value_cache: {
          named: { io_jwt: { max_num_entries: opts.cacheEntries } },
        },
      },
    }),
  );
  const [cmd, args] = taskset(opts.core, OPA_ENVOY_BIN, [
    'run',
    '--server',
    '--addr',
    `127.0.0.1:${httpPort}`,
    '--config-file',
    configFile,
    '--disable-telemetry',
    '--log-level',
    'error',
    opts.regoFile,
  ]);
  const peer = await startPeer(
    'opa-envoy-plugin',
    cmd,
    args,
    async () => (await fetch(`http://127.0.0.1:${httpPort}/health?plugins`)).ok,
  );
  return { pid: peer.pid, port, stop: () => peer.stop() };
}
