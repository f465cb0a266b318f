/**
 * gRPC load benchmark: h2load drives Check at fixed concurrency against
 * (a) a baseline server (default: the no-op grpc-js server, same protos) and
 * (b) rolegate (a child entry the caller names), side by side in one run:
 * servers pinned to core 0, h2load to core 1, rounds alternating a, b, a, b…
 * so that machine noise hits both sides alike. Prints calls/s, p50, p99 and
 * the ratio b/a of median calls/s. h2load ignores grpc-status, so allows and
 * denies are read from the servers' own counters (bench/lib/README.md).
 *
 * Direct use (after `npm run build`):
 *   node dist/bench/grpc.js                  # (a) only
 *   node dist/bench/grpc.js --aa             # (a) vs a second no-op: ratio ≈ 1
 *   node dist/bench/grpc.js <entry.js> [args…]  # (a) vs that entry
 */
import { fileURLToPath } from 'node:url';

import type { ChildStats, DecisionCounts } from './lib/child-protocol.js';
import { defaultPinning } from './lib/cpu.js';
import type { H2loadResult } from './lib/h2load.js';
import { h2loadVersion, percentile, runH2load } from './lib/h2load.js';
import { benchCheckRequest, grpcFrame } from './lib/request.js';
import type { ServerProcess } from './lib/server-process.js';
import { startServerProcess } from './lib/server-process.js';

export const NOOP_SERVER_ENTRY = fileURLToPath(new URL('./noop-server.js', import.meta.url));

export interface GrpcBenchOptions {
  /** Child entry for (b), e.g. dist/bench/rolegate-server.js. Omitted: (a) only. */
  readonly rolegateEntry?: string;
  readonly rolegateArgs?: readonly string[];
  /**
   * Node options for (b) only, e.g. `--cpu-prof`; the CLI takes them from
   * the environment variable BENCH_NODE_ARGS (space-separated). Default none.
   */
  readonly rolegateNodeArgs?: readonly string[];
  /** Child entry for (a); defaults to the no-op server. */
  readonly baselineEntry?: string;
  readonly baselineArgs?: readonly string[];
  /** Node flags for (a), e.g. when (a) is another rolegate build; default none. */
  readonly baselineNodeArgs?: readonly string[];
  /** Names printed for the two sides. */
  readonly baselineLabel?: string;
  readonly rolegateLabel?: string;
  /** Heading for this scenario (e.g. 'warm token cache'). */
  readonly title?: string;
  /** Pass when ratio b/a ≥ this; printed only. Default 0.9. */
  readonly targetRatio?: number;
  readonly clients?: number;
  readonly streams?: number;
  readonly rounds?: number;
  readonly durationSec?: number;
  readonly warmupSec?: number;
  /**
   * `http`: both sides are HTTP check servers driven over HTTP/1.1 (`h2load
   * --h1`), one request in flight per connection and `clients x streams`
   * connections, so as many checks are in flight as in gRPC mode; the
   * children announce the path and headers. Default `grpc`.
   */
  readonly mode?: 'grpc' | 'http';
}

export interface SideSummary {
  readonly label: string;
  readonly callsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly allow: number;
  readonly deny: number;
  readonly failed: number;
  readonly rounds: readonly H2loadResult[];
  /** Server CPU (user + system) per decided call, µs, median round; and per round. */
  readonly cpuUsPerCall: number;
  readonly cpuUsPerCallRounds: readonly number[];
  /** GC pauses in the server over all measured rounds. */
  readonly gc: GcSummary;
  /** Server RSS after the last measured round, bytes. */
  readonly rssAfter: number;
}

/** GC pauses of one side (PerformanceObserver 'gc' entries in the child). */
export interface GcSummary {
  readonly count: number;
  readonly major: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Sum of pauses / measured wall time. */
  readonly share: number;
}

export interface GrpcBenchResult {
  readonly a: SideSummary;
  readonly b?: SideSummary;
  /** b.callsPerSec / a.callsPerSec (medians). */
  readonly ratio?: number;
}

interface Side {
  readonly label: string;
  readonly server: ServerProcess;
  readonly body: Buffer;
  readonly http1?: { readonly path: string; readonly headers: Readonly<Record<string, string>> };
  readonly results: H2loadResult[];
  readonly cpuPerCall: number[];
  readonly gcPausesUs: number[];
  gcMajor: number;
  rssAfter: number;
  allow: number;
  deny: number;
}

export async function runGrpcBench(
  print: (line: string) => void,
  opts: GrpcBenchOptions,
): Promise<GrpcBenchResult> {
  const http = opts.mode === 'http';
  const clients = (opts.clients ?? 4) * (http ? (opts.streams ?? 8) : 1);
  const streams = http ? 1 : (opts.streams ?? 8);
  const rounds = opts.rounds ?? 3;
  const durationSec = opts.durationSec ?? 5;
  const warmupSec = opts.warmupSec ?? 2;
  const target = opts.targetRatio ?? 0.9;
  const pin = defaultPinning();

  const version = await h2loadVersion();
  print(`${http ? 'HTTP' : 'gRPC'} Check${opts.title ? ` — ${opts.title}` : ''}`);
  print(
    `  ${version}, ${clients} connections x ${streams} streams, ${rounds} rounds x ${durationSec}s ` +
      `(+${warmupSec}s warm-up) per side, ` +
      (pin.note ?? `server on core ${pin.server}, h2load on core ${pin.loadgen}`),
  );

  const sides: Side[] = [];
  try {
    sides.push(
      await startSide(opts.baselineLabel ?? 'a: no-op grpc-js', {
        entry: opts.baselineEntry ?? NOOP_SERVER_ENTRY,
        args: opts.baselineArgs ?? [],
        nodeArgs: opts.baselineNodeArgs ?? [],
        core: pin.server,
        http,
      }),
    );
    if (opts.rolegateEntry !== undefined) {
      sides.push(
        await startSide(opts.rolegateLabel ?? 'b: rolegate', {
          entry: opts.rolegateEntry,
          args: opts.rolegateArgs ?? [],
          nodeArgs: opts.rolegateNodeArgs ?? [],
          core: pin.server,
          http,
        }),
      );
    }

    // Warm every side once (JIT, token cache), then alternate measured rounds.
    for (const side of sides) {
      await runH2load({
        port: side.server.port,
        body: side.body,
        ...(side.http1 ? { http1: side.http1 } : {}),
        clients,
        streams,
        durationSec: warmupSec,
        ...(pin.loadgen !== undefined ? { core: pin.loadgen } : {}),
      });
    }
    for (let r = 0; r < rounds; r++) {
      for (const side of sides) {
        const before = await side.server.counts();
        const statsBefore = await side.server.stats();
        const res = await runH2load({
          port: side.server.port,
          body: side.body,
          ...(side.http1 ? { http1: side.http1 } : {}),
          clients,
          streams,
          durationSec,
          ...(pin.loadgen !== undefined ? { core: pin.loadgen } : {}),
        });
        const after = await side.server.counts();
        const statsAfter = await side.server.stats();
        side.results.push(res);
        const decided = after.allow - before.allow + (after.deny - before.deny);
        const cpu = cpuPerCall(statsBefore, statsAfter, decided);
        side.cpuPerCall.push(cpu);
        side.gcPausesUs.push(...statsAfter.gcPausesUs);
        side.gcMajor += statsAfter.gcMajor;
        side.rssAfter = statsAfter.rss;
        const gcRound = gcSummary(statsAfter.gcPausesUs, statsAfter.gcMajor, durationSec);
        side.allow += after.allow - before.allow;
        side.deny += after.deny - before.deny;
        // Calls still in flight when h2load stops may be decided but not "done".
        if (Math.abs(decided - res.done) > clients * streams) {
          print(`  WARNING ${side.label}: server decided ${decided} calls, h2load saw ${res.done}`);
        }
        print(
          `  round ${r + 1} ${side.label.padEnd(24)} ${fmtRate(res.callsPerSec)} calls/s  ` +
            `p50 ${fmtMs(res.p50Ms)}  p99 ${fmtMs(res.p99Ms)}  ` +
            `cpu ${cpu.toFixed(0).padStart(4)} µs/call  gc ${gcRound.count} p99 ${gcRound.p99Ms.toFixed(2)}ms ` +
            `max ${gcRound.maxMs.toFixed(2)}ms  rss ${fmtMb(statsAfter.rss)}` +
            (res.failed ? `  FAILED ${res.failed}` : ''),
        );
      }
    }
  } finally {
    await Promise.all(sides.map((s) => s.server.stop()));
  }

  const summaries = sides.map((side) => summarize(side, durationSec));
  const [a, b] = summaries;
  if (a === undefined) throw new Error('unreachable: no baseline side');
  print('');
  print(
    `  ${'server'.padEnd(26)} ${'calls/s'.padStart(9)} ${'p50'.padStart(9)} ${'p99'.padStart(9)} ` +
      `${'µs/call'.padStart(8)}  GC pauses (count, p50/p99/max, share)   ${'RSS'.padStart(8)}  allow/deny`,
  );
  for (const s of summaries) {
    print(
      `  ${s.label.padEnd(26)} ${fmtRate(s.callsPerSec)} ${fmtMs(s.p50Ms)} ${fmtMs(s.p99Ms)} ` +
        `${s.cpuUsPerCall.toFixed(1).padStart(8)}  ${fmtGc(s.gc).padEnd(38)} ${fmtMb(s.rssAfter).padStart(8)}  ` +
        `${s.allow}/${s.deny}${s.failed ? `  (${s.failed} failed streams)` : ''}`,
    );
  }
  if (b === undefined) return { a };
  const ratio = b.callsPerSec / a.callsPerSec;
  const perRound = b.rounds.map((rb, i) => rb.callsPerSec / (a.rounds[i]?.callsPerSec ?? NaN));
  print(
    `  ratio b/a = ${ratio.toFixed(2)} (target ≥ ${target}: ${ratio >= target ? 'PASS' : 'FAIL'}; ` +
      `per round ${perRound.map((x) => x.toFixed(2)).join(', ')})`,
  );
  return { a, b, ratio };
}

async function startSide(
  label: string,
  o: {
    entry: string;
    args: readonly string[];
    nodeArgs?: readonly string[];
    core: number | undefined;
    http: boolean;
  },
): Promise<Side> {
  const server = await startServerProcess({
    entry: o.entry,
    args: o.args,
    ...(o.nodeArgs ? { nodeArgs: o.nodeArgs } : {}),
    ...(o.core !== undefined ? { core: o.core } : {}),
  });
  const body = grpcFrame(
    benchCheckRequest({
      headers: server.headers,
      ...(server.path !== undefined ? { path: server.path } : {}),
      ...(server.method !== undefined ? { method: server.method } : {}),
    }),
  );
  const http1 = o.http ? { path: server.path ?? '/', headers: server.headers } : undefined;
  return {
    label,
    server,
    body,
    ...(http1 ? { http1 } : {}),
    results: [],
    cpuPerCall: [],
    gcPausesUs: [],
    gcMajor: 0,
    rssAfter: NaN,
    allow: 0,
    deny: 0,
  };
}

/** Median round by calls/s; its p50/p99 are reported with it. */
function summarize(side: Side, durationSec: number): SideSummary {
  const sorted = [...side.results].sort((x, y) => x.callsPerSec - y.callsPerSec);
  const mid = sorted[Math.floor((sorted.length - 1) / 2)];
  if (mid === undefined) throw new Error('no rounds measured');
  const counts: DecisionCounts = { allow: side.allow, deny: side.deny };
  return {
    label: side.label,
    callsPerSec: mid.callsPerSec,
    p50Ms: mid.p50Ms,
    p99Ms: mid.p99Ms,
    ...counts,
    failed: side.results.reduce((n, r) => n + r.failed, 0),
    rounds: side.results,
    cpuUsPerCall: median(side.cpuPerCall),
    cpuUsPerCallRounds: side.cpuPerCall,
    gc: gcSummary(side.gcPausesUs, side.gcMajor, side.results.length * durationSec),
    rssAfter: side.rssAfter,
  };
}

/** Server CPU µs per decided call between two stats readings. */
function cpuPerCall(before: ChildStats, after: ChildStats, decided: number): number {
  return decided > 0 ? (after.cpuUs - before.cpuUs) / decided : NaN;
}

/** Count, percentiles and wall-time share of a list of GC pauses (µs). */
export function gcSummary(pausesUs: readonly number[], major: number, seconds: number): GcSummary {
  const sorted = Float64Array.from(pausesUs).sort();
  const total = pausesUs.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    major,
    p50Ms: sorted.length ? percentile(sorted, 0.5) / 1000 : 0,
    p99Ms: sorted.length ? percentile(sorted, 0.99) / 1000 : 0,
    maxMs: sorted.length ? (sorted[sorted.length - 1] ?? 0) / 1000 : 0,
    share: seconds > 0 ? total / 1e6 / seconds : NaN,
  };
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
}

function fmtGc(g: GcSummary): string {
  return (
    `${g.count}${g.major ? ` (${g.major} major)` : ''}, ${g.p50Ms.toFixed(2)}/${g.p99Ms.toFixed(2)}/` +
    `${g.maxMs.toFixed(2)}ms, ${(g.share * 100).toFixed(1)}%`
  );
}

function fmtMb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(0)} MB`;
}

function fmtRate(x: number): string {
  return x.toFixed(0).padStart(9);
}

function fmtMs(ms: number): string {
  return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)}ms`.padStart(9);
}

// CLI: node dist/bench/grpc.js [--aa | <entry.js> [args…]]
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [first, ...rest] = process.argv.slice(2);
  const opts: GrpcBenchOptions =
    first === undefined
      ? {}
      : first === '--aa'
        ? { rolegateEntry: NOOP_SERVER_ENTRY, rolegateLabel: 'b: no-op grpc-js (A/A)' }
        : {
            rolegateEntry: first,
            rolegateArgs: rest,
            rolegateNodeArgs: (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean),
          };
  runGrpcBench((line) => console.log(line), opts).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
