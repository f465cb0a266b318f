/**
 * A real nginx (Debian's `nginx-light` or `nginx`) as a child process on a
 * free loopback port, running a server block the test gives it (the
 * `examples/nginx/` file, ports substituted) inside a minimal main config
 * (`daemon off`, pid, logs and temp paths in a temp prefix).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { findBinary } from './binary.js';
import { runChild, stopChild, waitReady, type RunningChild } from './child.js';
import { joinUrl, type Peer } from './peer.js';

const HOW_TO_FIX =
  "Install Debian's nginx (`apt-get install nginx-light`; `bash .ci/run` does it), put nginx on PATH, or set ROLEGATE_NGINX_BIN to its path.";

/**
 * The nginx to run: env `ROLEGATE_NGINX_BIN`, then `PATH`, then
 * `/usr/sbin/nginx`. Throws (never skips, under CI or not) when none exists.
 */
export function findNginx(env: NodeJS.ProcessEnv = process.env): string {
  return findBinary(
    {
      peer: 'nginx',
      name: 'nginx',
      envVar: 'ROLEGATE_NGINX_BIN',
      fallbacks: ['/usr/sbin/nginx'],
      howToFix: HOW_TO_FIX,
    },
    env,
  );
}

/**
 * Replaces the port of each `127.0.0.1:<from>` in `text` with `to`; throws
 * when one is missing, so an example that changed shape fails the test.
 */
export function substitutePorts(text: string, ports: Readonly<Record<number, number>>): string {
  let out = text;
  for (const [from, to] of Object.entries(ports)) {
    const needle = `127.0.0.1:${from}`;
    if (!out.includes(needle)) throw new Error(`nginx config: ${needle} not found`);
    out = out.split(needle).join(`127.0.0.1:${to}`);
  }
  return out;
}

/** What {@link NginxPeer} runs. */
export interface NginxOptions {
  /** A `server {}` (and `upstream {}`) block for the http context. */
  readonly serverConfig: string;
  /** The port `serverConfig` listens on (127.0.0.1). */
  readonly port: number;
  /** How long start() waits for the workers. Default 15000. */
  readonly startupTimeoutMs?: number;
}

/** nginx as a child process (`daemon off`, master and one worker) in a temp prefix. */
export class NginxPeer implements Peer {
  private running: RunningChild | undefined;
  private prefix: string | undefined;

  constructor(private readonly options: NginxOptions) {}

  async start(): Promise<void> {
    if (this.running !== undefined) return;
    const bin = findNginx();
    const prefix = mkdtempSync(join(tmpdir(), 'rolegate-nginx-'));
    this.prefix = prefix;
    writeFileSync(join(prefix, 'server.conf'), this.options.serverConfig);
    const root = process.getuid?.() === 0 ? 'user root;\n' : '';
    writeFileSync(
      join(prefix, 'nginx.conf'),
      `${root}daemon off;
worker_processes 1;
pid ${join(prefix, 'nginx.pid')};
error_log stderr notice;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path ${join(prefix, 'body')};
    proxy_temp_path ${join(prefix, 'proxy')};
    fastcgi_temp_path ${join(prefix, 'fastcgi')};
    uwsgi_temp_path ${join(prefix, 'uwsgi')};
    scgi_temp_path ${join(prefix, 'scgi')};
    include ${join(prefix, 'server.conf')};
}
`,
    );
    const running = runChild(bin, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', 'stderr']);
    this.running = running;
    // nginx logs this once its workers run: the port is then bound.
    const why = await waitReady(
      running,
      () => running.output().includes('start worker process'),
      this.options.startupTimeoutMs ?? 15_000,
    );
    if (why === undefined) return;
    await this.stop();
    throw new Error(`nginx: ${bin} did not start (${why}). ${HOW_TO_FIX}\n${running.output()}`);
  }

  /** nginx's error log so far (its tail). */
  get log(): string {
    return this.running?.output() ?? '';
  }

  url(path = '/'): string {
    return joinUrl(`http://127.0.0.1:${this.options.port}`, path);
  }

  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    // SIGQUIT: graceful; the workers go with the master.
    await stopChild(running?.child, 'SIGQUIT');
    if (this.prefix !== undefined) rmSync(this.prefix, { recursive: true, force: true });
    this.prefix = undefined;
  }
}
