/**
 * Peers a bench starts that would outlive it: Envoy and OPA-Envoy do not
 * notice their parent is gone (bench server children do: their stdin
 * closes). A bench stopped by SIGINT or SIGTERM kills every one still
 * running, then exits as the signal would have (130 or 143).
 */
import { spawn, type ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();
let installed = false;

/** Kills `child` if the bench is stopped by a signal before it exits. */
export function stopWithBench(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const c of running) c.kill('SIGKILL');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/** A peer process started by {@link startPeer}. */
export interface Peer {
  readonly pid: number;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it exited. */
  stop(): Promise<void>;
}

/**
 * Starts `cmd` (stderr kept, its last 4,000 characters), killed with the
 * bench on a signal, and polls `ready` every 100 ms for up to 30 s. Rejects
 * with the stderr tail if the process exits first or never gets ready.
 */
export async function startPeer(
  name: string,
  cmd: string,
  args: readonly string[],
  ready: () => Promise<boolean>,
): Promise<Peer> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  stopWithBench(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`${name} exited early:\n${stderr}`);
    if (await ready().catch(() => false)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} not ready within 30 s:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid ?? -1,
    stop: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(t);
    },
  };
}
