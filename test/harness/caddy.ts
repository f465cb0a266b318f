/**
 * A real Caddy (Debian's `caddy` package) as a child process on loopback,
 * running a Caddyfile the test gives it (`examples/caddy/Caddyfile`, ports
 * substituted), with its data and config directories in a temp dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { findBinary } from './binary.js';
import { joinUrl, type Peer } from './peer.js';

const HOW_TO_FIX =
  "Install Debian's caddy (`apt-get install caddy`; `bash .ci/run` does it), put caddy on PATH, or set ROLEGATE_CADDY_BIN to its path.";

/** The caddy to run: env `ROLEGATE_CADDY_BIN`, then `PATH`, then `/usr/bin/caddy`. Throws (never skips) when none exists. */
export function findCaddy(env: NodeJS.ProcessEnv = process.env): string {
  return findBinary(
    {
      peer: 'caddy',
      name: 'caddy',
      envVar: 'ROLEGATE_CADDY_BIN',
      fallbacks: ['/usr/bin/caddy'],
      howToFix: HOW_TO_FIX,
    },
    env,
  );
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Caddy as a child process (`caddy run`, admin API off) with its state in a temp dir. */
export class CaddyPeer implements Peer {
  private child: ChildProcess | undefined;
  private dir: string | undefined;
  private output = '';

  constructor(private readonly options: { caddyfile: string; port: number }) {}

  async start(): Promise<void> {
    if (this.child !== undefined) return;
    const bin = findCaddy();
    const dir = mkdtempSync(join(tmpdir(), 'rolegate-caddy-'));
    this.dir = dir;
    const file = join(dir, 'Caddyfile');
    writeFileSync(file, this.options.caddyfile);
    const child = spawn(bin, ['run', '--config', file, '--adapter', 'caddyfile'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    });
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let exited: string | undefined;
    child.once('exit', (code, signal) => {
      exited = `exited (code ${String(code)}, signal ${String(signal)})`;
    });
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && exited === undefined) {
      if (await listening(this.options.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    const why = exited ?? 'timed out';
    await this.stop();
    throw new Error(`caddy: ${bin} did not start (${why}). ${HOW_TO_FIX}\n${this.output}`);
  }

  url(path = '/'): string {
    return joinUrl(`http://127.0.0.1:${this.options.port}`, path);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolveStop) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolveStop();
        });
        child.kill('SIGTERM');
      });
    }
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
