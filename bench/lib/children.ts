/**
 * Peers a bench starts that would outlive it: Envoy and OPA-Envoy do not
 * notice their parent is gone (bench server children do: their stdin
 * closes). A bench stopped by SIGINT or SIGTERM kills every one still
 * running, then exits as the signal would have (130 or 143).
 */
import type { ChildProcess } from 'node:child_process';

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
