/**
 * The in-memory grant cache every decision reads: decisions never wait on
 * the store. It is refreshed from the store every `refreshMs` (and at once
 * on a change notification or a local mutation). While refreshes fail, the
 * grants last loaded are honoured for at most `stalenessMs` after the last
 * successful refresh; after that no grant is honoured (fail closed for
 * grant-based access only: static roles never depend on this cache).
 * Expiry is checked on every lookup against the decision's own clock.
 */
import { performance } from 'node:perf_hooks';
import { grantActive, type Grant } from './model.js';
import type { AccessStore, GrantUse } from './store.js';

/** What a decision asks: the active grants of one caller, by role name. */
export interface GrantLookup {
  /** Active grants of `issuer`/`subject` at `nowMs`, keyed by role name (the latest-ending one per role). */
  grantsFor(issuer: string, subject: string, nowMs: number): ReadonlyMap<string, Grant>;
  /** A Check was allowed under `grant` at `atMs` (counted for reviews; never waits on the store). */
  used?(grant: Grant, atMs: number): void;
}

export interface GrantCacheOptions {
  readonly store: AccessStore;
  readonly now: () => number;
  /** Periodic refresh interval in ms (access.refreshMs, default 500). */
  readonly refreshMs: number;
  /** How long loaded grants stay usable without a successful refresh, ms (default 10 s). */
  readonly stalenessMs: number;
  /**
   * Monotonic clock in ms for the staleness window, so a wall-clock jump
   * never stales or freshens the cache. Default `performance.now`.
   */
  readonly monotonic?: () => number;
  /**
   * Longest wait for one load from the store, ms (default 5000). A load that
   * takes longer counts as failed and its late answer is dropped, so a hung
   * store never stops the next refresh from trying.
   */
  readonly loadTimeoutMs?: number;
  /** Told the outcome of each refresh (metrics, logs). */
  readonly onRefresh?: (ok: boolean, grants: readonly Grant[]) => void;
  /** How often counted uses are added to the store, ms (access.usageFlushSeconds). Default 10,000. */
  readonly usageFlushMs?: number;
}

export interface GrantCache extends GrantLookup {
  /** Reloads from the store now; resolves false when the store failed. */
  refresh(): Promise<boolean>;
  /** Epoch ms of the last successful refresh (0: never). */
  lastRefresh(): number;
  /** The grants currently held (active or not), for gauges and listings. */
  all(): readonly Grant[];
  /** Starts the periodic refresh (and listens for store notifications). */
  start(): void;
  /** Adds the uses counted since the last flush to the store; failures keep them for the next. */
  flushUses(): Promise<void>;
  stop(): void;
}

/** Distinct grants whose uses one process counts between two flushes; more are dropped (bounded). */
const MAX_COUNTED_GRANTS = 10_000;

const key = (issuer: string, subject: string) => `${issuer}\n${subject}`;

/** Creates the cache; call `refresh()` once before serving, then `start()`. */
export function createGrantCache(options: GrantCacheOptions): GrantCache {
  let byCaller = new Map<string, Grant[]>();
  let grants: readonly Grant[] = [];
  const monotonic = options.monotonic ?? (() => performance.now());
  let lastOk = 0;
  let lastOkMono = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<boolean> | undefined;

  const loadTimeoutMs = options.loadTimeoutMs ?? 5000;
  const bounded = async <T>(work: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('grant load timed out')), loadTimeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };

  const load = async (): Promise<boolean> => {
    try {
      const loaded = await bounded(options.store.activeGrants(options.now()));
      const next = new Map<string, Grant[]>();
      for (const g of loaded) {
        const k = key(g.issuer, g.subject);
        const list = next.get(k);
        if (list) list.push(g);
        else next.set(k, [g]);
      }
      byCaller = next;
      grants = loaded;
      lastOk = options.now();
      lastOkMono = monotonic();
      options.onRefresh?.(true, loaded);
      return true;
    } catch {
      options.onRefresh?.(false, grants);
      return false;
    }
  };
  // One load at a time; a refresh asked for while one runs waits for one more load,
  // which starts after it (so it reads everything committed before the ask).
  let queued: Promise<boolean> | undefined;
  const refresh = (): Promise<boolean> => {
    if (inFlight === undefined) {
      inFlight = load().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    }
    queued ??= inFlight.then(() => {
      queued = undefined;
      return refresh();
    });
    return queued;
  };

  // Uses counted since the last flush, by grant id: a Check only bumps a number here.
  let uses = new Map<string, GrantUse>();
  const flushUses = async (): Promise<void> => {
    if (uses.size === 0) return;
    const batch = uses;
    uses = new Map();
    try {
      await bounded(options.store.recordUses([...batch.values()]));
    } catch {
      // Not lost: merged back for the next flush.
      for (const u of batch.values()) count(u.grantId, u.count, u.lastUsedAt);
    }
  };
  const count = (grantId: string, n: number, at: number) => {
    const held = uses.get(grantId);
    if (held === undefined && uses.size >= MAX_COUNTED_GRANTS) return;
    uses.set(grantId, {
      grantId,
      count: (held?.count ?? 0) + n,
      lastUsedAt: Math.max(held?.lastUsedAt ?? 0, at),
    });
  };
  let flushTimer: NodeJS.Timeout | undefined;

  return {
    used: (grant, atMs) => count(grant.id, 1, atMs),
    flushUses,
    grantsFor(issuer, subject, nowMs) {
      const out = new Map<string, Grant>();
      // Past the staleness window nothing loaded can be trusted to be unrevoked: fail closed.
      if (monotonic() - lastOkMono > options.stalenessMs) return out;
      for (const g of byCaller.get(key(issuer, subject)) ?? []) {
        if (!grantActive(g, nowMs)) continue;
        const held = out.get(g.role);
        if (held === undefined || held.expiresAt < g.expiresAt) out.set(g.role, g);
      }
      return out;
    },
    refresh,
    lastRefresh: () => lastOk,
    all: () => grants,
    start() {
      options.store.onChange?.(() => void refresh());
      timer = setInterval(() => void refresh(), options.refreshMs);
      timer.unref();
      flushTimer = setInterval(() => void flushUses(), options.usageFlushMs ?? 10_000);
      flushTimer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      if (flushTimer) clearInterval(flushTimer);
      timer = undefined;
      flushTimer = undefined;
    },
  };
}
