/**
 * The plumbing every child-process peer shares (nginx, Caddy, Traefik): start
 * a binary with its output kept (the tail, for error messages), wait until it
 * is ready or has exited, and stop it with a signal, then SIGKILL.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { connect } from 'node:net';

/** A started child: the process, the tail of what it printed, and why it exited (if it did). */
export interface RunningChild {
  readonly child: ChildProcess;
  /** The last 4000 characters of stdout and stderr. */
  output(): string;
  /** `undefined` while it runs, else how it exited. */
  exited(): string | undefined;
}

/** Spawns `bin` with stdout and stderr piped and kept. */
export function runChild(
  bin: string,
  args: readonly string[],
  options: SpawnOptions = {},
): RunningChild {
  const child = spawn(bin, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exited: string | undefined;
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('exit', (code, signal) => {
    exited = `exited (code ${String(code)}, signal ${String(signal)})`;
  });
  return { child, output: () => output, exited: () => exited };
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Polls `ready` every 50 ms until it holds (resolves `undefined`), the child
 * exits, or `timeoutMs` passes (resolves why it did not start).
 */
export async function waitReady(
  running: RunningChild,
  ready: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && running.exited() === undefined) {
    if (await ready()) return undefined;
    await new Promise((r) => setTimeout(r, 50));
  }
  return running.exited() ?? 'timed out';
}

/** Sends `signal` (default SIGTERM), then SIGKILL after 5 s; resolves once it has exited. */
export async function stopChild(
  child: ChildProcess | undefined,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolveStop) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.kill(signal);
  });
}
