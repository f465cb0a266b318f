/**
 * Parent side of the bench server protocol (see bench/lib/README.md): start
 * a bench server entry in a child Node process, pinned to one core, wait for
 * its PORT line, ask it for decision counters, stop it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

import type { ChildStats, DecisionCounts } from './child-protocol.js';
import { taskset } from './cpu.js';

export interface ServerProcessOptions {
  /** Absolute path of the ESM child entry (e.g. dist/bench/noop-server.js). */
  readonly entry: string;
  readonly args?: readonly string[];
  /** Core to pin the child to; undefined = no pinning. */
  readonly core?: number;
  readonly startTimeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Node options before the entry (e.g. `--cpu-prof`, `--trace-gc`), for profiling. */
  readonly nodeArgs?: readonly string[];
}

export interface ServerProcess {
  readonly pid: number;
  readonly port: number;
  /** Request headers the child asked the load generator to send. */
  readonly headers: Readonly<Record<string, string>>;
  readonly path?: string;
  readonly method?: string;
  counts(): Promise<DecisionCounts>;
  /** CPU, RSS and the GC pauses since the previous call (see child-protocol.ts). */
  stats(): Promise<ChildStats>;
  stop(): Promise<void>;
}

export async function startServerProcess(opts: ServerProcessOptions): Promise<ServerProcess> {
  const nodeArgs = [...(opts.nodeArgs ?? []), opts.entry, ...(opts.args ?? [])];
  const [cmd, args] = taskset(opts.core, process.execPath, nodeArgs);
  const child: ChildProcessWithoutNullStreams = spawn(cmd, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
  });
  const stderrTail: string[] = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    process.stderr.write(chunk);
    stderrTail.push(chunk);
    if (stderrTail.length > 20) stderrTail.shift();
  });
  // Keep the parent alive only while we are talking to the child.
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });

  const headers: Record<string, string> = {};
  let path: string | undefined;
  let method: string | undefined;
  const countWaiters: ((c: DecisionCounts) => void)[] = [];
  const statsWaiters: ((s: ChildStats) => void)[] = [];
  const lines = createInterface({ input: child.stdout });

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`bench server ${opts.entry} did not print PORT in time`)),
      opts.startTimeoutMs ?? 30_000,
    );
    void exitPromise.then(() => {
      clearTimeout(timer);
      reject(new Error(`bench server ${opts.entry} exited early:\n${stderrTail.join('')}`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    lines.on('line', (line) => {
      const sp = line.indexOf(' ');
      const word = sp < 0 ? line : line.slice(0, sp);
      const rest = sp < 0 ? '' : line.slice(sp + 1);
      switch (word) {
        case 'HEADER': {
          const colon = rest.indexOf(':');
          if (colon > 0)
            headers[rest.slice(0, colon).trim().toLowerCase()] = rest.slice(colon + 1).trim();
          break;
        }
        case 'PATH':
          path = rest;
          break;
        case 'METHOD':
          method = rest;
          break;
        case 'PORT':
          clearTimeout(timer);
          resolve(Number(rest));
          break;
        case 'COUNTS': {
          const [a, d] = rest.split(' ').map(Number);
          countWaiters.shift()?.({ allow: a ?? NaN, deny: d ?? NaN });
          break;
        }
        case 'STATS':
          statsWaiters.shift()?.(JSON.parse(rest) as ChildStats);
          break;
        default:
          // Stray stdout output: show it, it is not part of the protocol.
          process.stderr.write(`[bench child stdout] ${line}\n`);
      }
    });
  });
  if (!Number.isInteger(port) || port <= 0) throw new Error(`bench server printed bad port`);

  return {
    pid: child.pid ?? -1,
    port,
    headers,
    ...(path !== undefined ? { path } : {}),
    ...(method !== undefined ? { method } : {}),
    counts: () =>
      new Promise<DecisionCounts>((resolve, reject) => {
        if (exited) {
          reject(new Error('bench server has exited'));
          return;
        }
        const timer = setTimeout(() => reject(new Error('no COUNTS reply')), 10_000);
        countWaiters.push((c) => {
          clearTimeout(timer);
          resolve(c);
        });
        child.stdin.write('counts\n');
      }),
    stats: () =>
      new Promise<ChildStats>((resolve, reject) => {
        if (exited) {
          reject(new Error('bench server has exited'));
          return;
        }
        const timer = setTimeout(() => reject(new Error('no STATS reply')), 10_000);
        statsWaiters.push((s) => {
          clearTimeout(timer);
          resolve(s);
        });
        child.stdin.write('stats\n');
      }),
    stop: async () => {
      if (exited) return;
      child.stdin.end();
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exitPromise;
      clearTimeout(killTimer);
      lines.close();
    },
  };
}
