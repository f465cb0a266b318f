/**
 * `npm run bench soak-heap` (or `node dist/bench/soak/heap.js [--rate R]
 * [--calls N] [--tokens N]`): the soak tail's heap evidence, independent
 * of how busy the machine is. Each server child runs pinned to one core
 * with the production Node flags and takes a fixed rate of gRPC Checks
 * with distinct tokens; after a warm-up that fills the token cache, the
 * child measures a stretch of calls and reports bytes promoted to the old
 * generation per 10,000 Checks, collections, and the allocation sites of
 * what survived a scavenge. Side by side in one run: (a) rolegate's gRPC
 * transport answering at once with finished streams keeping their
 * listeners, as before the change; (b) the same transport as it is now;
 * (c) rolegate deciding every call. In flight at most 8 calls (see
 * grpc-load.ts), so a busy machine changes the figures little.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { defaultPinning, taskset } from '../lib/cpu.js';
import { ROLEGATE_NODE_FLAGS } from '../lib/node-flags.js';
import { GrpcLoad } from './grpc-load.js';
import type { HeapWindowReport } from './heap-stats.js';
import { percentile } from './stats.js';
import { startSoakIssuer } from './tokens.js';

/** Options of {@link runSoakHeapBench}. */
export interface SoakHeapOptions {
  /** Calls per second (default 1,500). */
  readonly rate?: number;
  /** Measured calls per side (default 20,000), after as many again of warm-up. */
  readonly calls?: number;
  /** Distinct tokens sent round robin (default 100,000). */
  readonly tokens?: number;
  /** Token cache entries of the rolegate side (default 10,000, the soak's). */
  readonly cacheEntries?: number;
}

/** One side's result. */
export interface SoakHeapSide {
  readonly label: string;
  readonly report: HeapWindowReport;
  readonly failures: number;
  /** Client-side latency of the measured calls (preliminary on a busy machine). */
  readonly p50Ms: number;
  readonly p99Ms: number;
}

interface HeapChild {
  readonly port: number;
  command(line: 'begin' | 'end'): Promise<string>;
  stop(): Promise<void>;
}

async function startHeapChild(args: readonly string[], core?: number): Promise<HeapChild> {
  const entry = fileURLToPath(new URL('./heap-child.js', import.meta.url));
  const [cmd, argv] = taskset(core, process.execPath, [...ROLEGATE_NODE_FLAGS, entry, ...args]);
  const child: ChildProcessWithoutNullStreams = spawn(cmd, argv, { stdio: 'pipe' });
  child.stderr.pipe(process.stderr);
  const waiters: ((line: string) => void)[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    void exited.then(() => reject(new Error('soak-heap: child exited before PORT')));
    lines.on('line', (line) => {
      if (line.startsWith('PORT ')) resolve(Number(line.slice(5)));
      else waiters.shift()?.(line);
    });
  });
  return {
    port,
    command: (line) =>
      new Promise((resolve) => {
        waiters.push(resolve);
        child.stdin.write(`${line}\n`);
      }),
    stop: async () => {
      child.stdin.end();
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(kill);
    },
  };
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`;

/** Runs both sides one after the other and prints the comparison. */
export async function runSoakHeapBench(
  print: (line: string) => void,
  options: SoakHeapOptions = {},
): Promise<SoakHeapSide[]> {
  const rate = options.rate ?? 1500;
  const calls = options.calls ?? 20_000;
  const pin = defaultPinning();
  if (pin.loadgen !== undefined)
    spawnSync('taskset', ['-a', '-p', '-c', String(pin.loadgen), String(process.pid)], {
      stdio: 'ignore',
    });
  const issuer = await startSoakIssuer();
  const tokens = issuer.mint(options.tokens ?? 100_000).good;
  const sides = [
    {
      label: 'a: transport answering at once, finished streams keep their listeners (before)',
      args: ['--transport-only', '--keep-listeners'],
    },
    { label: 'b: transport answering at once (now)', args: ['--transport-only'] },
    {
      label: 'c: rolegate deciding every call (now)',
      args: ['--issuer', issuer.url, '--cache', String(options.cacheEntries ?? 10_000)],
    },
  ];
  print(
    `Soak heap evidence: ${calls} measured calls per side at ${rate}/s after ${calls} of warm-up, ` +
      `${tokens.length} distinct tokens, server flags ${ROLEGATE_NODE_FLAGS.join(' ') || '(none)'}` +
      (pin.note ? ` (${pin.note})` : `, server on core ${pin.server}`),
  );
  const results: SoakHeapSide[] = [];
  try {
    for (const side of sides) {
      const child = await startHeapChild(side.args, pin.server);
      const load = new GrpcLoad({ port: child.port, tokens, maxInFlight: 8 });
      try {
        await load.run(rate, calls);
        load.takeLatencies();
        await child.command('begin');
        const failures0 = load.failures;
        await load.run(rate, calls);
        const report = JSON.parse(
          (await child.command('end')).slice('REPORT '.length),
        ) as HeapWindowReport;
        const lat = load.takeLatencies();
        results.push({
          label: side.label,
          report,
          failures: load.failures - failures0,
          p50Ms: percentile(lat, 50),
          p99Ms: percentile(lat, 99),
        });
      } finally {
        load.close();
        await child.stop();
      }
    }
  } finally {
    await issuer.close();
  }
  for (const { label, report: r, failures, p50Ms, p99Ms } of results) {
    const per10k = (v: number) => (v * 10_000) / Math.max(1, r.calls);
    print(
      `  ${label}: ${r.calls} calls${failures ? ` (${failures} not OK)` : ''}, ` +
        `client latency p50 ${p50Ms.toFixed(2)} ms p99 ${p99Ms.toFixed(2)} ms`,
    );
    print(
      `    per 10,000 Checks: promoted ${kb(per10k(r.promotedBytes))} ` +
        `(${(r.promotedBytes / Math.max(1, r.calls)).toFixed(0)} B/call), ` +
        `old-space direct ${kb(per10k(r.directOldBytes))}, ` +
        `${per10k(r.scavenges).toFixed(0)} scavenges (${per10k(r.scavengeMs).toFixed(1)} ms), ` +
        `${per10k(r.majors).toFixed(2)} major GCs (${per10k(r.majorMs).toFixed(1)} ms)`,
    );
    const m = r.memory;
    if (m !== undefined)
      print(
        `    memory at the end: RSS ${mb(m.rss)} = file-backed ${mb(m.rssFile)} (node binary, libraries) ` +
          `+ anonymous ${mb(m.rssAnon)}: V8 heap committed ${mb(m.heapCommitted)} (live ${mb(m.heapUsed)}` +
          (m.tokenCacheBytes === undefined ? '' : `, token cache ~${mb(m.tokenCacheBytes)}`) +
          `), external ${mb(m.external)}, the rest native ${mb(Math.max(0, m.rssAnon - m.heapCommitted - m.external))} ` +
          `(malloc: OpenSSL, nghttp2, libuv; thread stacks)`,
      );
    const tc = r.tokenCache;
    if (tc !== undefined)
      print(
        `    token cache: ${tc.hits} hits, ${tc.misses} misses, ${tc.evictions} evictions, ` +
          `${tc.refused} kept out by the doorkeeper`,
      );
    print('    survived a scavenge (sampled bytes per 10,000 Checks, allocation site):');
    for (const s of r.sites) print(`      ${kb(per10k(s.bytes)).padStart(9)}  ${s.site}`);
  }
  return results;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const num = (name: string): number | undefined => {
    const i = process.argv.indexOf(`--${name}`);
    return i < 0 ? undefined : Number(process.argv[i + 1]);
  };
  const opts: { -readonly [K in keyof SoakHeapOptions]: SoakHeapOptions[K] } = {};
  const rate = num('rate');
  const calls = num('calls');
  const tokens = num('tokens');
  const cache = num('cache');
  if (rate !== undefined) opts.rate = rate;
  if (calls !== undefined) opts.calls = calls;
  if (tokens !== undefined) opts.tokens = tokens;
  if (cache !== undefined) opts.cacheEntries = cache;
  await runSoakHeapBench((l) => console.log(l), opts);
}
