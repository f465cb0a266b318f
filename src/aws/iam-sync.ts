/**
 * Periodic IAM sync. Loads on an interval stretched by random jitter (so a
 * fleet of rolegates does not call IAM in lockstep); after a failure that
 * is worth retrying soon (throttling, 5xx, network) it retries with
 * exponential backoff. A failed load never replaces the last good set.
 */
import type { IamSnapshot } from './iam-source.js';

export interface IamSyncOptions {
  /** One full read of IAM. */
  readonly load: () => Promise<IamSnapshot>;
  /** Called with each successfully loaded set. */
  readonly onUpdate: (snapshot: IamSnapshot) => void;
  /** Called after each failed load, with the delay before the next attempt. */
  readonly onError: (err: unknown, retryInMs: number) => void;
  /** Normal interval in ms. */
  readonly intervalMs: number;
  /** Each wait is stretched by up to this fraction. Default 0.1. */
  readonly jitter?: number;
  /** First retry delay in ms, doubled per failure. Default 1000. */
  readonly backoffBaseMs?: number;
  /** Longest retry delay in ms. Default: `intervalMs`. */
  readonly backoffMaxMs?: number;
  /** Clock in epoch ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Random in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

export interface IamSync {
  /** Loads now (and reschedules). Resolves true on success; never rejects. */
  syncNow(): Promise<boolean>;
  /** Epoch ms of the last successful load, or undefined. */
  lastSuccess(): number | undefined;
  /** The last good set, or undefined before the first success. */
  current(): IamSnapshot | undefined;
  /** Failures since the last success. */
  consecutiveFailures(): number;
  stop(): void;
}

/**
 * True for failures worth retrying soon: throttling, server errors and
 * network errors. Others (AccessDenied, validation) wait for the next
 * regular sync, since retrying them quickly only adds load.
 */
export function isRetryableAwsError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as {
    name?: unknown;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    $fault?: unknown;
  };
  if (e.$retryable !== undefined) return true;
  const name = typeof e.name === 'string' ? e.name : '';
  if (/throttl|toomanyrequests|requestlimitexceeded|slowdown/i.test(name)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number') return status >= 500 || status === 429;
  if (e.$fault === 'server') return true;
  // No HTTP status at all: the request never got an answer (connection refused, reset, timeout).
  return e.$metadata === undefined;
}

/** Starts nothing by itself: call `syncNow()` for the first load; it schedules the rest. */
export function createIamSync(options: IamSyncOptions): IamSync {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const jitter = options.jitter ?? 0.1;
  const base = options.backoffBaseMs ?? 1000;
  const max = options.backoffMaxMs ?? options.intervalMs;
  let last: IamSnapshot | undefined;
  let lastOk: number | undefined;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<boolean> | undefined;

  const stretch = (ms: number) => Math.round(ms * (1 + jitter * random()));
  const schedule = (ms: number) => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void syncNow(), ms);
    timer.unref();
  };

  const run = async (): Promise<boolean> => {
    try {
      const snapshot = await options.load();
      if (stopped) return false;
      last = snapshot;
      lastOk = now();
      failures = 0;
      options.onUpdate(snapshot);
      schedule(stretch(options.intervalMs));
      return true;
    } catch (err) {
      if (stopped) return false;
      failures++;
      const delay = isRetryableAwsError(err)
        ? stretch(Math.min(max, base * 2 ** (failures - 1)))
        : stretch(options.intervalMs);
      options.onError(err, delay);
      schedule(delay);
      return false;
    }
  };

  // One load at a time: a manual sync during a scheduled one joins it.
  const syncNow = (): Promise<boolean> => {
    if (stopped) return Promise.resolve(false);
    running ??= run().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    syncNow,
    lastSuccess: () => lastOk,
    current: () => last,
    consecutiveFailures: () => failures,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
