/**
 * A real PostgreSQL server (Debian's `postgresql` package) as a test peer:
 * `initdb` into a temp dir, `postgres` on a free loopback port (no Unix
 * socket outside the temp dir), trust authentication for the `rolegate`
 * user. As root the server runs as the package's `postgres` user (the
 * server refuses to run as root). A missing binary is an error, in CI and
 * outside it: never a skip. `stop()` then `start()` again restarts it on
 * the same port and data (the replicas test stops the database under
 * running rolegates).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Peer } from './peer.js';
import { freePort } from './ports.js';

const HOW_TO_FIX =
  "Install Debian's PostgreSQL (`apt-get install -y postgresql`; .ci/run does it) or point " +
  'ROLEGATE_POSTGRES_BIN_DIR at a directory holding initdb and postgres.';

/** The directory holding `initdb` and `postgres`; throws with instructions when there is none. */
export function findPostgresBinDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['ROLEGATE_POSTGRES_BIN_DIR'];
  const candidates =
    explicit !== undefined && explicit !== ''
      ? [explicit]
      : existsSync('/usr/lib/postgresql')
        ? readdirSync('/usr/lib/postgresql')
            .sort((a, b) => Number(b) - Number(a))
            .map((v) => join('/usr/lib/postgresql', v, 'bin'))
        : [];
  const found = candidates.find(
    (d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'postgres')),
  );
  if (found === undefined) {
    throw new Error(
      `PostgreSQL test bed: no initdb/postgres found (CI=${env['CI'] ?? 'unset'}; looked at ${candidates.join(', ') || 'ROLEGATE_POSTGRES_BIN_DIR, /usr/lib/postgresql/*/bin'}). ${HOW_TO_FIX}`,
    );
  }
  return found;
}

/** Runs as the `postgres` user when we are root. */
function asServerUser(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0
    ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]]
    : [cmd, args];
}

export class PostgresPeer implements Peer {
  #dir: string | undefined;
  #port = 0;
  #child: ChildProcess | undefined;
  #output: string[] = [];

  async start(): Promise<void> {
    if (this.#child) return;
    const bin = findPostgresBinDir();
    if (this.#dir === undefined) {
      this.#dir = mkdtempSync(join(tmpdir(), 'rolegate-pg-'));
      if (process.getuid?.() === 0) {
        const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
        const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
        chownSync(this.#dir, uid, gid);
      }
      const [cmd, args] = asServerUser(join(bin, 'initdb'), [
        '-D',
        join(this.#dir, 'data'),
        '-U',
        'rolegate',
        '--auth=trust',
        '-E',
        'UTF8',
        '--no-sync',
      ]);
      execFileSync(cmd, args, { stdio: 'pipe' });
      this.#port = await freePort();
    }
    const [cmd, args] = asServerUser(join(bin, 'postgres'), [
      '-D',
      join(this.#dir, 'data'),
      '-p',
      String(this.#port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${this.#dir}`,
      '-c',
      'fsync=off',
    ]);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const keep = (b: Buffer) => this.#output.push(b.toString());
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const started = Date.now();
    for (;;) {
      if (child.exitCode !== null) {
        this.#child = undefined;
        throw new Error(
          `PostgreSQL exited (${child.exitCode}): ${this.#output.join('').slice(-2000)}`,
        );
      }
      const client = new pg.Client({ connectionString: this.url(), connectionTimeoutMillis: 1000 });
      try {
        await client.connect();
        await client.query('SELECT 1');
        await client.end();
        return;
      } catch {
        await client.end().catch(() => undefined);
      }
      if (Date.now() - started > 30_000) {
        throw new Error(
          `PostgreSQL did not answer within 30 s: ${this.#output.join('').slice(-2000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** `postgres://rolegate@127.0.0.1:PORT/postgres` (the path argument is ignored). */
  url(): string {
    return `postgres://rolegate@127.0.0.1:${this.#port}/postgres`;
  }

  /** Stops the server (fast shutdown: open connections are closed); the data stays for a restart. */
  async halt(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    // SIGINT is PostgreSQL's fast shutdown; sent to the postmaster itself (its pid file),
    // since under runuser our child is runuser.
    const pidFile = join(this.#dir as string, 'data', 'postmaster.pid');
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : NaN;
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGINT');
    else child.kill('SIGINT');
    await exited;
  }

  async stop(): Promise<void> {
    await this.halt();
    if (this.#dir !== undefined) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }
}
