/**
 * rolegate as a separate OS process (`node bin/rolegate.js serve`), for tests
 * that signal or kill it: SIGTERM drains, SIGKILL drops everything, and a
 * restart binds the same ports again. The CLI runs from dist/, which
 * {@link ensureBuilt} compiles once per test process.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runChild, stopChild, waitReady, type RunningChild } from '../harness/child.js';
import { freePort } from '../harness/ports.js';
import { REPO } from './quickstart.js';
import { writeTempConfig } from './rolegate.js';

let built = false;

/** Compiles src/ to dist/ (tsc, like `npm run build`) once per test process; throws with tsc's output on failure. */
export function ensureBuilt(): void {
  if (built) return;
  const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (result.status !== 0) {
    throw new Error(
      `rolegate build (tsc -p tsconfig.build.json) failed (${String(result.status ?? result.signal)}): ${result.stdout}${result.stderr}`,
    );
  }
  built = true;
}

/** How a rolegate process ended. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * One rolegate process on loopback ports picked free at run time (once, then
 * kept across restarts so an Envoy endpoint list stays valid). `config` is
 * the rolegate config without listener ports: this class sets
 * `server.grpc`, `server.admin` and `server.http.port` always, and
 * `access.listen` when the config has an `access` section, so an enabled
 * HTTP check or access API never binds its default port (9003 / 9004), which
 * a developer's `npm start` holds.
 */
export class RolegateProcess {
  private running: RunningChild | undefined;
  private exit: Promise<ProcessExit> | undefined;
  private grpc = 0;
  private adminPort_ = 0;
  private httpPort_ = 0;
  private accessPort_ = 0;
  private configFile = '';

  constructor(
    private readonly config: Record<string, unknown>,
    /** Name for error messages, e.g. `replica-1`. */
    readonly name = 'rolegate',
    /** Extra environment for the process; default ROLEGATE_LOG_LEVEL=warn. */
    private readonly env: Readonly<Record<string, string>> = {},
  ) {}

  /** The gRPC (ext_authz + health) port; fixed after the first start(). */
  get grpcPort(): number {
    if (this.grpc === 0) throw new Error(`${this.name}: not started`);
    return this.grpc;
  }

  get adminPort(): number {
    if (this.adminPort_ === 0) throw new Error(`${this.name}: not started`);
    return this.adminPort_;
  }

  /** The HTTP check port (bound only when `server.http.enabled`); fixed after the first start(). */
  get httpPort(): number {
    if (this.httpPort_ === 0) throw new Error(`${this.name}: not started`);
    return this.httpPort_;
  }

  /** The access API port; only when the config has an `access` section. */
  get accessPort(): number {
    if (this.accessPort_ === 0) throw new Error(`${this.name}: no access section, or not started`);
    return this.accessPort_;
  }

  /** The OS process id while it runs. */
  get pid(): number | undefined {
    return this.running?.child.pid;
  }

  /** Picks the ports (first time only) without starting; lets an Envoy config name them first. */
  async reservePorts(): Promise<void> {
    if (this.grpc !== 0) return;
    this.grpc = await freePort();
    this.adminPort_ = await freePort();
    this.httpPort_ = await freePort();
    const server = (this.config['server'] ?? {}) as Record<string, unknown>;
    const http = (server['http'] ?? {}) as Record<string, unknown>;
    const access = this.config['access'] as Record<string, unknown> | undefined;
    if (access !== undefined) this.accessPort_ = await freePort();
    this.configFile = writeTempConfig({
      ...this.config,
      server: {
        ...server,
        grpc: { host: '127.0.0.1', port: this.grpc },
        admin: { host: '127.0.0.1', port: this.adminPort_ },
        http: { ...http, host: '127.0.0.1', port: this.httpPort_ },
      },
      ...(access === undefined
        ? {}
        : { access: { ...access, listen: { host: '127.0.0.1', port: this.accessPort_ } } }),
    });
  }

  /** Starts the process and resolves once `/readyz` answers 200 (default timeout 30 s). */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.running !== undefined && this.running.exited() === undefined) {
      throw new Error(`${this.name}: already running`);
    }
    ensureBuilt();
    await this.reservePorts();
    const running = runChild(
      process.execPath,
      [join(REPO, 'bin', 'rolegate.js'), 'serve', '--config', this.configFile],
      { cwd: REPO, env: { ...process.env, ROLEGATE_LOG_LEVEL: 'warn', ...this.env } },
    );
    this.running = running;
    this.exit = new Promise((resolve) => {
      running.child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const why = await waitReady(running, () => this.ready(), timeoutMs);
    if (why !== undefined) {
      const output = running.output();
      await stopChild(running.child, 'SIGKILL');
      throw new Error(`${this.name} did not become ready: ${why}\n${output}`);
    }
  }

  private async ready(): Promise<boolean> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.adminPort_}/readyz`);
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** Sends `signal` and returns how the process exited (throws if it takes longer than `timeoutMs`, default 30 s). */
  async signal(signal: NodeJS.Signals, timeoutMs = 30_000): Promise<ProcessExit> {
    const running = this.running;
    const exit = this.exit;
    if (running === undefined || exit === undefined) throw new Error(`${this.name}: not started`);
    if (running.exited() === undefined) running.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `${this.name} still running ${timeoutMs} ms after ${signal}\n${this.output()}`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([exit, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The tail of what the process printed (stdout + stderr). */
  output(): string {
    return this.running?.output() ?? '';
  }

  /** Stops it if it runs (SIGTERM, SIGKILL after 5 s). Safe to call twice. */
  async stop(): Promise<void> {
    await stopChild(this.running?.child);
  }
}
