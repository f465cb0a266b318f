/**
 * A real Caddy (Debian's `caddy` package) as a child process on loopback,
 * running a Caddyfile the test gives it (`examples/caddy/Caddyfile`, ports
 * substituted), with its data and config directories in a temp dir.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { findBinary } from './binary.js';
import { listening, runChild, stopChild, waitReady, type RunningChild } from './child.js';
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

/** Caddy as a child process (`caddy run`, admin API off) with its state in a temp dir. */
export class CaddyPeer implements Peer {
  private running: RunningChild | undefined;
  private dir: string | undefined;

  constructor(private readonly options: { caddyfile: string; port: number }) {}

  async start(): Promise<void> {
    if (this.running !== undefined) return;
    const bin = findCaddy();
    const dir = mkdtempSync(join(tmpdir(), 'rolegate-caddy-'));
    this.dir = dir;
    const file = join(dir, 'Caddyfile');
    writeFileSync(file, this.options.caddyfile);
    const running = runChild(bin, ['run', '--config', file, '--adapter', 'caddyfile'], {
      env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    });
    this.running = running;
    const why = await waitReady(running, () => listening(this.options.port), 15_000);
    if (why === undefined) return;
    await this.stop();
    throw new Error(`caddy: ${bin} did not start (${why}). ${HOW_TO_FIX}\n${running.output()}`);
  }

  url(path = '/'): string {
    return joinUrl(`http://127.0.0.1:${this.options.port}`, path);
  }

  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await stopChild(running?.child);
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
