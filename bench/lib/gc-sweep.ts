/**
 * GC flag sweep (not part of `npm run bench`): one bench child per set of
 * Node flags under the same h2load load, printing server CPU µs/call, GC
 * pause p50/p99/max and RSS after load. Used to choose rolegate's default
 * V8 flags (docs/performance.md).
 *
 *   node dist/bench/lib/gc-sweep.js <entry.js> '<flags>' '<flags>' … [-- entry args]
 */
import { fileURLToPath } from 'node:url';
import { gcSummary } from '../grpc.js';
import { defaultPinning } from './cpu.js';
import { runH2load } from './h2load.js';
import { benchCheckRequest, grpcFrame } from './request.js';
import { startServerProcess } from './server-process.js';

async function sweep(entry: string, variants: readonly string[], args: readonly string[]) {
  const pin = defaultPinning();
  for (const flags of variants) {
    const server = await startServerProcess({
      entry,
      args,
      nodeArgs: flags.split(' ').filter(Boolean),
      ...(pin.server !== undefined ? { core: pin.server } : {}),
    });
    try {
      const body = grpcFrame(
        benchCheckRequest({
          headers: server.headers,
          ...(server.path !== undefined ? { path: server.path } : {}),
          ...(server.method !== undefined ? { method: server.method } : {}),
        }),
      );
      const load = { port: server.port, body, clients: 4, streams: 8 };
      const core = pin.loadgen !== undefined ? { core: pin.loadgen } : {};
      await runH2load({ ...load, durationSec: 2, ...core });
      const c0 = await server.counts();
      const s0 = await server.stats();
      const res = await runH2load({ ...load, durationSec: 8, ...core });
      const c1 = await server.counts();
      const s1 = await server.stats();
      const calls = c1.allow + c1.deny - c0.allow - c0.deny;
      const gc = gcSummary(s1.gcPausesUs, s1.gcMajor, 8);
      console.log(
        `${(flags || '(default)').padEnd(48)} ${res.callsPerSec.toFixed(0).padStart(6)} calls/s ` +
          `${((s1.cpuUs - s0.cpuUs) / calls).toFixed(1).padStart(6)} µs/call  gc ${gc.count} ` +
          `p50 ${gc.p50Ms.toFixed(2)} p99 ${gc.p99Ms.toFixed(2)} max ${gc.maxMs.toFixed(2)} ms ` +
          `(${(gc.share * 100).toFixed(1)}%)  rss ${(s1.rss / 1048576).toFixed(0)} MB ` +
          `heap ${(s1.heapUsed / 1048576).toFixed(0)} MB`,
      );
    } finally {
      await server.stop();
    }
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [entry, ...rest] = process.argv.slice(2);
  const dash = rest.indexOf('--');
  const variants = dash < 0 ? rest : rest.slice(0, dash);
  const args = dash < 0 ? [] : rest.slice(dash + 1);
  if (entry === undefined) throw new Error('usage: gc-sweep <entry.js> <flags>… [-- args]');
  await sweep(entry, variants.length ? variants : [''], args);
}
