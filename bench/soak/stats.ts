/**
 * Per-window statistics of a soak run and the end-of-run judgements on
 * them: latency stable, memory and descriptors flat.
 */

/** One sampling window (about 5 s) of the soak phase. */
export interface Window {
  /** Seconds since the soak phase started, at the window's end. */
  readonly atS: number;
  readonly requests: number;
  readonly errors: number;
  /** Latency percentiles of the window's completed requests, in ms (NaN when none). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** rolegate's resident set (VmRSS) in bytes at the window's end. */
  readonly rssBytes: number;
  /** rolegate's open file descriptors at the window's end. */
  readonly fds: number;
  /** rolegate's CPU use during the window, in cores (1 = one core busy). */
  readonly cpu: number;
}

/** Nearest-rank percentile `p` (0-100) of `sorted` (ascending); NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? NaN;
}

/** Median of `values` (NaN when empty). */
export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

/** The windows after warm-up, split into first and last third. */
export interface Thirds {
  readonly first: readonly Window[];
  readonly last: readonly Window[];
}

/**
 * Drops the first `warmupFraction` of windows (default 0.2: the JIT, caches
 * and heap settle), then returns the first and last third of the rest.
 * Fewer than 3 windows left: both thirds are empty.
 */
export function thirds(windows: readonly Window[], warmupFraction = 0.2): Thirds {
  const rest = windows.slice(Math.floor(windows.length * warmupFraction));
  const n = Math.floor(rest.length / 3);
  if (n === 0) return { first: [], last: [] };
  return { first: rest.slice(0, n), last: rest.slice(rest.length - n) };
}

/** One pass/fail judgement with the figures behind it. */
export interface Verdict {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Limits of the end-of-run judgements (defaults in {@link DEFAULT_LIMITS}). */
export interface Limits {
  /** Last third's median p99 at most this times the first third's... */
  readonly p99Factor: number;
  /** ...or at most this many ms above it, whichever is larger (absorbs noise on tiny p99s). */
  readonly p99SlackMs: number;
  /** Last third's median RSS at most this fraction above the first third's. */
  readonly rssGrowth: number;
  /** Last third's largest fd count at most this many above the first third's largest. */
  readonly fdSlack: number;
}

/** p99 within 2x (or +5 ms), RSS within +10 %, fds within +4. */
export const DEFAULT_LIMITS: Limits = { p99Factor: 2, p99SlackMs: 5, rssGrowth: 0.1, fdSlack: 4 };

const ms = (v: number) => `${v.toFixed(1)} ms`;
const mb = (v: number) => `${(v / 1_048_576).toFixed(1)} MB`;

/** p99 stable, RSS flat, fds flat: judged on the thirds of the windows. */
export function judgeWindows(
  windows: readonly Window[],
  limits: Limits = DEFAULT_LIMITS,
): Verdict[] {
  const { first, last } = thirds(windows);
  if (first.length === 0) {
    const detail = `only ${windows.length} windows: too few to compare`;
    return [
      { name: 'p99 stable', ok: false, detail },
      { name: 'RSS flat', ok: false, detail },
      { name: 'fds flat', ok: false, detail },
    ];
  }
  const p99a = median(first.map((w) => w.p99Ms));
  const p99b = median(last.map((w) => w.p99Ms));
  const p99Limit = Math.max(p99a * limits.p99Factor, p99a + limits.p99SlackMs);
  const rssA = median(first.map((w) => w.rssBytes));
  const rssB = median(last.map((w) => w.rssBytes));
  const growth = (rssB - rssA) / rssA;
  const fdA = Math.max(...first.map((w) => w.fds));
  const fdB = Math.max(...last.map((w) => w.fds));
  return [
    {
      name: 'p99 stable',
      ok: p99b <= p99Limit,
      detail: `median window p99 ${ms(p99a)} (first third) -> ${ms(p99b)} (last third); limit ${ms(p99Limit)}`,
    },
    {
      name: 'RSS flat',
      ok: growth <= limits.rssGrowth,
      detail: `median RSS ${mb(rssA)} -> ${mb(rssB)} (${(growth * 100).toFixed(1)} %); limit +${(limits.rssGrowth * 100).toFixed(0)} %`,
    },
    {
      name: 'fds flat',
      ok: fdB <= fdA + limits.fdSlack,
      detail: `most open fds ${fdA} -> ${fdB}; limit +${limits.fdSlack}`,
    },
  ];
}

/**
 * A latency histogram with logarithmic buckets (2 % wide, from 1 µs), so a
 * ten-minute run's percentiles need no list of a million samples.
 */
export class Histogram {
  private static readonly GROWTH = Math.log(1.02);
  private readonly counts = new Map<number, number>();
  private total = 0;

  add(ms: number): void {
    const bucket = ms <= 0.001 ? 0 : Math.ceil(Math.log(ms / 0.001) / Histogram.GROWTH);
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.total++;
  }

  get count(): number {
    return this.total;
  }

  /** Percentile `p` (0-100) in ms: the upper edge of the bucket holding that rank (NaN when empty). */
  percentile(p: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket) ?? 0;
      if (seen >= rank) return 0.001 * Math.exp(bucket * Histogram.GROWTH);
    }
    return NaN;
  }
}
