/**
 * rolegate's own stalls during a soak, apart from the bed's: the longest
 * event-loop delay rolegate itself saw in each window
 * (`rolegate_nodejs_eventloop_lag_max_seconds`, which prom-client measures
 * with `monitorEventLoopDelay` and resets at each scrape). A client-side
 * p99 far above it was spent outside rolegate (Envoy, the load generator,
 * the core they share), not in a pause of rolegate's.
 */

const LAG_MAX = /^rolegate_nodejs_eventloop_lag_max_seconds (\S+)$/m;

/** Scrapes rolegate's `/metrics` at `adminPort`: the window's max event-loop delay in ms, or undefined. */
export async function scrapeMaxLagMs(adminPort: number): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`, {
      signal: AbortSignal.timeout(2000),
    });
    const m = LAG_MAX.exec(await res.text());
    return m?.[1] === undefined ? undefined : Number(m[1]) * 1000;
  } catch {
    return undefined;
  }
}

/** The per-window maxima a soak collected, summarised. */
export interface StallSummary {
  readonly windows: number;
  readonly medianMs: number;
  readonly maxMs: number;
  /** Windows in which rolegate's event loop stalled longer than 25 ms. */
  readonly over25: number;
}

/** Summary of per-window max event-loop delays (ms); windows without a scrape are left out. */
export function summariseStalls(maxLagMs: readonly (number | undefined)[]): StallSummary {
  const v = maxLagMs.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  return {
    windows: v.length,
    medianMs: v.length === 0 ? 0 : (v[Math.floor((v.length - 1) / 2)] ?? 0),
    maxMs: v.at(-1) ?? 0,
    over25: v.filter((x) => x > 25).length,
  };
}
