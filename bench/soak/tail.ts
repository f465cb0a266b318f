/**
 * The soak tail target (issue 29): over the whole held load, p99 at most
 * 10 ms and no sampling window (5 s) with a p99 above 25 ms. The rows the
 * soak prints for it, for rolegate and for the peer run beside it.
 */
import type { Verdict, Window } from './stats.js';

/** The limits of the tail target. */
export interface TailTarget {
  /** Whole-run p99 at most this (ms). */
  readonly p99Ms: number;
  /** No window's p99 above this (ms). */
  readonly windowP99Ms: number;
}

/** p99 <= 10 ms over the run, no window's p99 > 25 ms. */
export const TAIL_TARGET: TailTarget = { p99Ms: 10, windowP99Ms: 25 };

/** The tail of one run. */
export interface TailRows {
  readonly p99Ms: number;
  readonly windows: number;
  /** Windows whose p99 is above the target's window limit. */
  readonly windowsOver: number;
  readonly maxWindowP99Ms: number;
  readonly pass: boolean;
}

/**
 * The tail of a run from its whole-run p99 and its windows. A window with
 * no completed request (NaN p99) counts as over the limit: nothing
 * answered for 5 s is the worst tail there is.
 */
export function tailRows(
  p99Ms: number,
  windows: readonly Window[],
  target = TAIL_TARGET,
): TailRows {
  let windowsOver = 0;
  let maxWindowP99Ms = 0;
  for (const w of windows) {
    const p99 = Number.isNaN(w.p99Ms) ? Infinity : w.p99Ms;
    if (p99 > target.windowP99Ms) windowsOver++;
    if (p99 > maxWindowP99Ms) maxWindowP99Ms = p99;
  }
  return {
    p99Ms,
    windows: windows.length,
    windowsOver,
    maxWindowP99Ms,
    pass: windows.length > 0 && !Number.isNaN(p99Ms) && p99Ms <= target.p99Ms && windowsOver === 0,
  };
}

const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : 'none answered');

/** The tail as a verdict of the run (`name` says whose). */
export function tailVerdict(rows: TailRows, target = TAIL_TARGET): Verdict {
  return {
    name: `tail: p99 <= ${target.p99Ms} ms, no window p99 > ${target.windowP99Ms} ms`,
    ok: rows.pass,
    detail:
      `whole-run p99 ${ms(rows.p99Ms)}; ${rows.windowsOver} of ${rows.windows} windows ` +
      `with p99 > ${target.windowP99Ms} ms; max window p99 ${ms(rows.maxWindowP99Ms)}`,
  };
}

/** Text lines setting two runs' tails side by side (rolegate first). */
export function renderTailComparison(
  sides: readonly { readonly label: string; readonly rate: number; readonly rows: TailRows }[],
  target = TAIL_TARGET,
): string[] {
  const head = ['', ...sides.map((s) => s.label)];
  const table: string[][] = [
    head,
    ['held rate (req/s)', ...sides.map((s) => s.rate.toFixed(0))],
    ['whole-run p99', ...sides.map((s) => ms(s.rows.p99Ms))],
    [
      `windows with p99 > ${target.windowP99Ms} ms`,
      ...sides.map((s) => `${s.rows.windowsOver} of ${s.rows.windows}`),
    ],
    ['max window p99', ...sides.map((s) => ms(s.rows.maxWindowP99Ms))],
    [
      `target (p99 <= ${target.p99Ms} ms, no window > ${target.windowP99Ms} ms)`,
      ...sides.map((s) => (s.rows.pass ? 'PASS' : 'FAIL')),
    ],
  ];
  const widths = head.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
  return table.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}
