/**
 * The single-process gRPC targets of issues 17 and 29, recorded into the
 * shared Targets block (targets.ts) from the side-by-side results of
 * bench/grpc.ts: warm-cache calls/s ratio, rolegate's GC pause p99, its RSS
 * after load against the no-op server's, and the fresh-token calls/s ratio
 * against the same no-op floor, per signature algorithm.
 */
import type { GrpcBenchResult, SideSummary } from '../grpc.js';
import { record } from './targets.js';

/** Warm token cache, audit and metrics on: rolegate / no-op grpc-js calls/s. */
export const WARM_RATIO_TARGET = 0.8;
/**
 * A token verified on every call (issue 29): rolegate / no-op grpc-js
 * calls/s, for each algorithm in {@link FRESH_TOKEN_ALGORITHMS}.
 */
export const FRESH_RATIO_TARGET = 0.3;
/** The signature algorithms the fresh-token rows are measured with. */
export const FRESH_TOKEN_ALGORITHMS = ['ES256', 'RS256'] as const;
/** p99 GC pause in the rolegate child under the warm-cache load, ms. */
export const GC_P99_TARGET_MS = 2;
/** rolegate RSS after the warm-cache load / the no-op server's. */
export const RSS_RATIO_TARGET = 1.2;

const roundRatios = (b: SideSummary, a: SideSummary): number[] =>
  b.rounds.map((rb, i) => rb.callsPerSec / (a.rounds[i]?.callsPerSec ?? NaN));

const perRound = (b: SideSummary, a: SideSummary): string =>
  roundRatios(b, a)
    .map((x) => x.toFixed(2))
    .join(', ');

/**
 * The median of the per-round ratios: each round pairs (a) and (b) measured
 * back to back, so a burst of load from elsewhere on the machine spoils one
 * pair, not the median (the ratio of median rounds mixes rounds).
 */
function pairedRatio(b: SideSummary, a: SideSummary): number {
  const sorted = roundRatios(b, a).sort((x, y) => x - y);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
}

const cpu = (s: SideSummary): string =>
  `${s.cpuUsPerCallRounds.map((x) => x.toFixed(0)).join('/')} µs/call`;

export const recordGrpcTargets = {
  /** Records the warm-cache ratio, GC p99 and RSS ratio of a warm-cache run. */
  warm(result: GrpcBenchResult): void {
    const { a, b } = result;
    if (b === undefined) return;
    const ratio = pairedRatio(b, a);
    record(
      'warm token cache: rolegate / no-op calls/s',
      ratio.toFixed(2),
      `>= ${WARM_RATIO_TARGET}`,
      ratio >= WARM_RATIO_TARGET,
      `median of per-round ratios ${perRound(b, a)}; server CPU rolegate ${cpu(b)} vs no-op ${cpu(a)} ` +
        `(CPU ratio ${(a.cpuUsPerCall / b.cpuUsPerCall).toFixed(2)})`,
    );
    record(
      'GC pause p99 in rolegate under load',
      `${b.gc.p99Ms.toFixed(2)} ms`,
      `<= ${GC_P99_TARGET_MS} ms`,
      b.gc.p99Ms <= GC_P99_TARGET_MS,
      `${b.gc.count} pauses (${b.gc.major} major), p50 ${b.gc.p50Ms.toFixed(2)} ms, ` +
        `max ${b.gc.maxMs.toFixed(2)} ms, ${(b.gc.share * 100).toFixed(1)}% of wall time; ` +
        `no-op server: p50 ${a.gc.p50Ms.toFixed(2)} ms, p99 ${a.gc.p99Ms.toFixed(2)} ms`,
    );
    const rss = b.rssAfter / a.rssAfter;
    record(
      'RSS after load: rolegate / no-op',
      rss.toFixed(2),
      `<= ${RSS_RATIO_TARGET}`,
      rss <= RSS_RATIO_TARGET,
      `rolegate ${mb(b.rssAfter)}, no-op ${mb(a.rssAfter)}`,
    );
  },
  /** Records the fresh-token ratio against the no-op floor, for one algorithm. */
  fresh(result: GrpcBenchResult, alg: (typeof FRESH_TOKEN_ALGORITHMS)[number]): void {
    const { a, b } = result;
    if (b === undefined) return;
    const ratio = pairedRatio(b, a);
    record(
      `fresh ${alg} token per call: rolegate / no-op calls/s`,
      ratio.toFixed(2),
      `>= ${FRESH_RATIO_TARGET}`,
      ratio >= FRESH_RATIO_TARGET,
      `median of per-round ratios ${perRound(b, a)}; server CPU rolegate ${cpu(b)} vs no-op ${cpu(a)} ` +
        `(CPU ratio ${(a.cpuUsPerCall / b.cpuUsPerCall).toFixed(2)})`,
    );
  },
};

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(0)} MB`;
}
