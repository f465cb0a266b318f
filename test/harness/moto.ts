import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { findBinary } from './binary.js';
import { joinUrl, type Peer } from './peer.js';
import { freePort } from './ports.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const HOW_TO_FIX =
  "Install moto's server into the project venv (`.tools/venv/bin/pip install 'moto[server]'`; " +
  '`bash .ci/run` does it), put moto_server on PATH, or set ROLEGATE_MOTO_SERVER to its path.';

/** The account moto puts every resource in unless told otherwise. */
export const MOTO_ACCOUNT = '123456789012';

/**
 * The `moto_server` to run: env `ROLEGATE_MOTO_SERVER`, then `PATH`, then
 * `<repo>/.tools/venv/bin/moto_server`. Throws (never skips) when none exists.
 */
export function findMotoServer(env: NodeJS.ProcessEnv = process.env): string {
  return findBinary(
    {
      peer: 'moto',
      name: 'moto_server',
      envVar: 'ROLEGATE_MOTO_SERVER',
      fallbacks: [join(REPO, '.tools', 'venv', 'bin', 'moto_server')],
      howToFix: HOW_TO_FIX,
    },
    env,
  );
}

/**
 * A real moto_server (AWS API emulator from PyPI) as a child process on a
 * free loopback port. One server emulates every service (IAM, STS, ...) on
 * the same endpoint.
 */
export class MotoServer implements Peer {
  private child: ChildProcess | undefined;
  private port_ = 0;
  private output = '';
  private readonly startupTimeoutMs: number;
  private readonly fixedPort: number | undefined;
  private readonly awsManagedPolicies: boolean;

  /**
   * `port`: listen there (default: a free port per start). Outage tests fix
   * it, so a stopped moto comes back at the same endpoint (with no state:
   * moto keeps its resources in memory). `awsManagedPolicies`: moto also
   * serves AWS's own managed policies (`arn:aws:iam::aws:policy/...`);
   * default false, as moto's own default, since loading them is slow.
   */
  constructor(
    options: { startupTimeoutMs?: number; port?: number; awsManagedPolicies?: boolean } = {},
  ) {
    this.startupTimeoutMs = options.startupTimeoutMs ?? 30_000;
    this.fixedPort = options.port;
    this.awsManagedPolicies = options.awsManagedPolicies ?? false;
  }

  async start(): Promise<void> {
    if (this.child !== undefined) return;
    const bin = findMotoServer();
    this.port_ = this.fixedPort ?? (await freePort());
    const child = spawn(bin, ['-H', '127.0.0.1', '-p', String(this.port_)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PYTHONUNBUFFERED: '1',
        MOTO_IAM_LOAD_MANAGED_POLICIES: String(this.awsManagedPolicies),
      },
    });
    this.child = child;
    // Keep the tail only: moto logs every request.
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let exited: string | undefined;
    child.once('exit', (code, signal) => {
      exited = `exited (code ${String(code)}, signal ${String(signal)})`;
    });
    const deadline = Date.now() + this.startupTimeoutMs;
    while (Date.now() < deadline) {
      if (exited !== undefined) break;
      try {
        // moto's own data endpoint, and our child still alive: another process
        // that grabbed the port between freePort() and spawn must not pass.
        const res = await fetch(this.url('/moto-api/data.json'), {
          signal: AbortSignal.timeout(1000),
        });
        const body = await res.text();
        if (res.ok && body.trimStart().startsWith('{') && exited === undefined) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.stop();
    throw new Error(
      `moto: ${bin} did not answer on port ${this.port_} (${exited ?? 'timed out'}). ${HOW_TO_FIX}\n${this.output}`,
    );
  }

  get port(): number {
    if (this.child === undefined) throw new Error('MotoServer: not started');
    return this.port_;
  }

  url(path = '/'): string {
    return joinUrl(`http://127.0.0.1:${this.port}`, path);
  }

  /**
   * Freezes the server (SIGSTOP): connections are still accepted, nothing is
   * answered (a hanging AWS endpoint), until {@link resume}.
   */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Lets a paused server go on (SIGCONT). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Forget every resource (moto's own reset endpoint). */
  async reset(): Promise<void> {
    const res = await fetch(this.url('/moto-api/reset'), { method: 'POST' });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`moto: reset answered ${res.status}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolveStop) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolveStop();
      });
      child.kill('SIGCONT');
      child.kill('SIGTERM');
    });
  }
}
