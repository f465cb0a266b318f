/**
 * Cache bounds for a process group. `server.workers` runs N processes that
 * share nothing (docs/workers.md); a configured cache bound is for the whole
 * `rolegate serve`, so each worker holds its part of it and the parts add up
 * to exactly the bound, whatever N is.
 */

/** Which part of every configured cache bound this process holds. */
export interface CacheShare {
  /** This worker's slot, 1..`of` (the `worker` metric label). */
  readonly slot: number;
  /** How many workers share the bound (`server.workers` at start). */
  readonly of: number;
}

/** A single process: it holds the whole bound. */
export const WHOLE_BOUND: CacheShare = { slot: 1, of: 1 };

/**
 * This worker's part of `bound`: `bound / of` rounded down, plus one for the
 * first `bound % of` slots, so the parts of slots 1..`of` sum to `bound`
 * exactly. A bound of 0 (caching off) stays 0 in every worker; a bound below
 * the worker count leaves the last slots 0, i.e. without that cache.
 */
export function shareOfBound(bound: number, share: CacheShare = WHOLE_BOUND): number {
  const of = Math.max(1, Math.floor(share.of));
  if (of === 1) return bound;
  const base = Math.floor(bound / of);
  return base + (share.slot >= 1 && share.slot <= bound % of ? 1 : 0);
}
