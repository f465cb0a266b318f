/**
 * Per-call metric updates of a Check without prom-client's per-call label
 * handling (a label object, validation and a sorted-key hash per update):
 * the hot path adds to plain numbers held per label value, and the
 * prom-client metrics take the sums in their `collect()` hook, which every
 * read of a metric (a scrape, `getMetricsAsJSON` for the cluster
 * aggregation) runs first. The exposition is the same as with per-call
 * updates (test/unit/observe/check-recorder.test.ts compares them).
 */
import { Histogram, type Counter } from 'prom-client';
import type { Determining } from '../policy/types.js';

/** Calls and summed seconds of one `decision` series since the last fold, by bucket. */
interface PendingDurations {
  count: number;
  sum: number;
  /** Per bucket bound (same order as the histogram's buckets): observations that fell in it. */
  readonly buckets: number[];
}

/** A count not yet folded into its prom-client series. */
interface Pending {
  n: number;
}

/** prom-client's per-series histogram record (lib/histogram.js `createBaseValues`). */
interface HistogramEntry {
  labels: Record<string, string>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/** Records one decided Check into the three per-call metrics. */
export type CheckRecorder = (
  decision: 'allow' | 'deny',
  reason: string,
  seconds: number,
  determining: readonly Determining[],
  determiningRoles: readonly string[],
) => void;

const entriesOf = (h: Histogram<'decision'>): HistogramEntry[] =>
  Object.values((h as unknown as { hashMap: Record<string, HistogramEntry> }).hashMap);

/**
 * True when prom-client's histogram keeps its series the way the fold
 * writes them; checked once on a throwaway histogram, so a prom-client
 * whose internals differ makes the recorder observe per call instead.
 */
function histogramFoldable(buckets: readonly number[]): boolean {
  try {
    const probe = new Histogram({
      name: 'probe',
      help: 'probe',
      labelNames: ['decision'] as const,
      buckets: [...buckets],
      registers: [],
    });
    const value = (buckets[0] ?? 1) / 2;
    probe.observe({ decision: 'allow' }, value);
    const [entry, ...rest] = entriesOf(probe);
    return (
      rest.length === 0 &&
      entry !== undefined &&
      entry.labels['decision'] === 'allow' &&
      entry.count === 1 &&
      entry.sum === value &&
      buckets.every((b, i) => entry.bucketValues[b] === (i === 0 ? 1 : 0))
    );
  } catch {
    return false;
  }
}

/**
 * The recorder for `checks` (`{decision,reason}`), `checkDuration`
 * (`{decision}`, bucket bounds `buckets`) and `statementMatches`
 * (`{role,policy,statement}`); installs the folding `collect()` hooks on
 * them, so they must have none of their own. Direct updates of the metrics
 * (e.g. `checks.inc`) still work and add up with the recorder's.
 */
export function createCheckRecorder(
  checks: Counter<'decision' | 'reason'>,
  checkDuration: Histogram<'decision'>,
  statementMatches: Counter<'role' | 'policy' | 'statement'>,
  buckets: readonly number[],
): CheckRecorder {
  // Pending counts live in small objects found once per call; `order` keeps them in the
  // order their series first appeared, and folding in that order creates the
  // prom-client series in the same order per-call updates would have.
  const reasons = { allow: new Map<string, Pending>(), deny: new Map<string, Pending>() };
  const reasonOrder: {
    readonly decision: 'allow' | 'deny';
    readonly reason: string;
    readonly p: Pending;
  }[] = [];
  // Role name -> determining statement -> count. Statements are the policy set's own
  // (frozen, one per statement), so the keys are few; folded entries are dropped.
  const matches = new Map<string, Map<Determining, Pending>>();
  let matchOrder: { readonly role: string; readonly d: Determining; readonly p: Pending }[] = [];
  const durations: Record<'allow' | 'deny', PendingDurations> = {
    allow: { count: 0, sum: 0, buckets: buckets.map(() => 0) },
    deny: { count: 0, sum: 0, buckets: buckets.map(() => 0) },
  };
  const durationOrder: ('allow' | 'deny')[] = [];
  const foldable = histogramFoldable(buckets);

  (checks as unknown as { collect: () => void }).collect = function (this: typeof checks) {
    for (const { decision, reason, p } of reasonOrder) {
      if (p.n === 0) continue;
      this.inc({ decision, reason }, p.n);
      p.n = 0;
    }
  };
  (statementMatches as unknown as { collect: () => void }).collect = function (
    this: typeof statementMatches,
  ) {
    const folded = matchOrder;
    matches.clear();
    matchOrder = [];
    for (const { role, d, p } of folded) {
      this.inc({ role, policy: d.policy ?? '', statement: d.statement ?? '' }, p.n);
    }
  };
  if (foldable) {
    (checkDuration as unknown as { collect: () => void }).collect = function (
      this: typeof checkDuration,
    ) {
      for (const decision of durationOrder) {
        const p = durations[decision];
        if (p.count === 0) continue;
        let entry = entriesOf(this).find((e) => e.labels['decision'] === decision);
        if (entry === undefined) {
          this.zero({ decision });
          entry = entriesOf(this).find((e) => e.labels['decision'] === decision);
        }
        if (entry === undefined) continue;
        entry.count += p.count;
        entry.sum += p.sum;
        for (let i = 0; i < buckets.length; i++) {
          const n = p.buckets[i] ?? 0;
          if (n === 0) continue;
          entry.bucketValues[buckets[i] as number] =
            (entry.bucketValues[buckets[i] as number] ?? 0) + n;
          p.buckets[i] = 0;
        }
        p.count = 0;
        p.sum = 0;
      }
    };
  }

  return (decision, reason, seconds, determining, determiningRoles) => {
    const byReason = reasons[decision];
    let pending = byReason.get(reason);
    if (pending === undefined) {
      byReason.set(reason, (pending = { n: 0 }));
      reasonOrder.push({ decision, reason, p: pending });
    }
    pending.n++;
    if (foldable && Number.isFinite(seconds)) {
      const p = durations[decision];
      if (p.count === 0 && !durationOrder.includes(decision)) durationOrder.push(decision);
      p.count++;
      p.sum += seconds;
      // As prom-client: the first bound at or above the value; past the last, only the count.
      for (let i = 0; i < buckets.length; i++) {
        if (seconds <= (buckets[i] as number)) {
          (p.buckets[i] as number)++;
          break;
        }
      }
    } else {
      checkDuration.observe({ decision }, seconds);
    }
    for (let i = 0; i < determining.length; i++) {
      const d = determining[i] as Determining;
      if (d.policy === undefined || d.statement === undefined) continue;
      const role = determiningRoles[i] ?? '';
      let byStatement = matches.get(role);
      if (byStatement === undefined) matches.set(role, (byStatement = new Map()));
      let match = byStatement.get(d);
      if (match === undefined) {
        byStatement.set(d, (match = { n: 0 }));
        matchOrder.push({ role, d, p: match });
      }
      match.n++;
    }
  };
}
