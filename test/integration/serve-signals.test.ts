/**
 * `rolegate serve` as its own process, signalled the way a terminal and a
 * supervisor do it together: Ctrl-C reaches the whole process group while a
 * wrapper (npm run demo, a process manager) forwards SIGTERM as well. The
 * first stop signal starts the drain; the repeats, and a SIGHUP, must not cut
 * it short. Node's default action for a signal without a handler is to die at
 * once, which orphaned the cluster's workers while they were still draining.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { alive, descendants } from '../support/processes.js';
import { RolegateProcess } from '../support/rolegate-process.js';

const SHUTDOWN_DELAY_SECONDS = 1;
let serve: RolegateProcess | undefined;

afterEach(async () => {
  await serve?.stop();
  serve = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each([
  { workers: 1, forked: 0 },
  { workers: 2, forked: 2 },
])('rolegate serve with server.workers: $workers', ({ workers, forked }) => {
  it('drains once on SIGTERM; a repeated SIGTERM or SIGINT and a SIGHUP during the drain change nothing', async () => {
    serve = new RolegateProcess(
      { server: { workers, shutdownDelaySeconds: SHUTDOWN_DELAY_SECONDS, drainSeconds: 1 } },
      `serve-${workers}`,
      { ROLEGATE_LOG_LEVEL: 'info', ROLEGATE_WORKERS: String(workers) },
    );
    await serve.start();
    const pid = serve.pid as number;
    const workerPids = [...descendants(pid).entries()]
      .filter(([, cmd]) => cmd.includes('cluster-worker.js'))
      .map(([p]) => p);
    expect(workerPids).toHaveLength(forked);

    const startedAt = Date.now();
    process.kill(pid, 'SIGTERM');
    await sleep(200);
    process.kill(pid, 'SIGINT');
    process.kill(pid, 'SIGHUP');
    const exit = await serve.signal('SIGTERM');
    const tookMs = Date.now() - startedAt;

    expect(exit).toEqual({ code: 0, signal: null });
    // It waited out the shutdown delay instead of dying at the second signal.
    expect(tookMs).toBeGreaterThanOrEqual(SHUTDOWN_DELAY_SECONDS * 1000);
    expect(serve.output()).toContain('already draining; the signal is ignored');
    // Every worker was gone before the primary exited.
    expect(workerPids.filter(alive)).toEqual([]);
  }, 60_000);
});
