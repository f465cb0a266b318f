/**
 * A bounded LRU whose entries each expire at their own time: verified
 * tokens (at the token's `exp`), STS credentials (five minutes before they
 * expire). It is bounded twice, by entries and by bytes: a few very large
 * values (a 170 KB token's claims) must not hold the heap any more than
 * many small ones. Lookups count hits and misses; evictions and refused
 * oversize entries are counted too.
 *
 * An entry's size is estimated once, when it is inserted (see
 * {@link estimateEntryBytes}), and never recomputed.
 */

import { Doorkeeper } from './doorkeeper.js';

/** Fixed bytes added to every entry's estimate: the Map slot, the entry record, the key's string header. */
export const ENTRY_OVERHEAD_BYTES = 128;

/**
 * The default size estimate of one entry: the UTF-8 length of the value's
 * JSON, plus the key's length, plus {@link ENTRY_OVERHEAD_BYTES}. The JSON
 * length of a parsed object is a proxy, not a measurement: V8 keeps a
 * decoded JWT payload in roughly one to two times its JSON length, so the
 * real heap held by a full cache is within a small factor of the bound.
 * Values that do not serialise (cycles, BigInt) count as the overhead only.
 */
export function estimateEntryBytes(key: string, value: unknown): number {
  let json = 0;
  try {
    json = Buffer.byteLength(JSON.stringify(value) ?? '');
  } catch {
    json = 0;
  }
  return json + key.length + ENTRY_OVERHEAD_BYTES;
}

/** Callbacks for metrics; each default does nothing. */
export interface CacheHooks {
  /** After every lookup. */
  readonly onLookup?: (hit: boolean) => void;
  /** For every live entry removed to stay within a bound. */
  readonly onEvict?: () => void;
  /** For every entry refused because it alone exceeds the byte bound. */
  readonly onOversize?: () => void;
  /** For every new key not let into a full cache by its doorkeeper. */
  readonly onRefuse?: () => void;
}

/** What a cache's size gauges read. */
export interface CacheStats {
  /** Entries held (expired ones count until a lookup or eviction drops them). */
  readonly size: number;
  /** Estimated bytes held, never above the byte bound. */
  readonly bytes: number;
  /** The entry bound this cache holds to (0: caching off). */
  readonly maxEntries: number;
  /** The byte bound this cache holds to (0: caching off). */
  readonly maxBytes: number;
}

export interface ExpiringLruOptions<T = unknown> extends CacheHooks {
  /** Bound on entries; 0 disables caching. */
  readonly maxEntries: number;
  /** Bound on the estimated bytes of all entries; 0 disables caching. */
  readonly maxBytes: number;
  /** Size estimate of one entry. Default {@link estimateEntryBytes}. */
  readonly sizeOf?: (key: string, value: unknown) => number;
  /**
   * Admission by {@link Doorkeeper} once the cache is full: a new key evicts
   * the least recently used entry only when it was already offered within
   * the last `maxEntries` new keys. Default false (every key is let in).
   */
  readonly doorkeeper?: boolean;
  /**
   * What the cache keeps of a value it lets in, made only then (so a value
   * refused costs no copy). Default: the value itself.
   */
  readonly held?: (value: T) => T;
}

interface Entry<T> {
  readonly value: T;
  readonly expiresAtMs: number;
  readonly bytes: number;
}

export class ExpiringLru<T> implements CacheStats {
  private readonly entries = new Map<string, Entry<T>>();
  readonly maxEntries: number;
  readonly maxBytes: number;
  private readonly sizeOf: (key: string, value: unknown) => number;
  private readonly hooks: CacheHooks;
  private heldBytes = 0;
  /** The key last inserted or re-inserted: the map's last entry while it is held. */
  private newest: string | undefined;
  hits = 0;
  misses = 0;
  /** Live entries removed to stay within a bound. */
  evictions = 0;
  /** Entries refused because each alone exceeded `maxBytes`. */
  oversize = 0;
  /** New keys the doorkeeper kept out of the full cache. */
  refused = 0;
  private readonly doorkeeper: Doorkeeper | undefined;
  private readonly held: ((value: T) => T) | undefined;

  constructor(options: ExpiringLruOptions<T>) {
    this.maxEntries = options.maxEntries;
    this.maxBytes = options.maxBytes;
    this.sizeOf = options.sizeOf ?? estimateEntryBytes;
    this.hooks = options;
    this.held = options.held;
    this.doorkeeper =
      options.doorkeeper === true && this.maxEntries > 0
        ? new Doorkeeper(this.maxEntries)
        : undefined;
  }

  get(key: string, nowMs: number): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.expiresAtMs <= nowMs) {
      if (entry !== undefined) this.remove(key, entry);
      this.misses++;
      this.hooks.onLookup?.(false);
      return undefined;
    }
    // Re-insert to mark as most recently used, unless it already is: a caller
    // repeating its token would otherwise churn the map's table on every call.
    if (key !== this.newest) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      this.newest = key;
    }
    this.hits++;
    this.hooks.onLookup?.(true);
    return entry.value;
  }

  set(key: string, value: T, expiresAtMs: number): void {
    if (this.maxEntries === 0 || this.maxBytes === 0) return;
    const previous = this.entries.get(key);
    if (previous !== undefined) this.remove(key, previous);
    // The entry bound is checked before the size estimate, which is the
    // costly part of an insert, so a refused key costs only the filter.
    else if (this.entries.size >= this.maxEntries && !this.admits(key)) return;
    const bytes = this.sizeOf(key, value);
    if (bytes > this.maxBytes) {
      this.oversize++;
      this.hooks.onOversize?.();
      return;
    }
    if (
      previous === undefined &&
      this.entries.size < this.maxEntries &&
      this.heldBytes + bytes > this.maxBytes &&
      !this.admits(key)
    )
      return;
    this.entries.set(key, { value: this.held ? this.held(value) : value, expiresAtMs, bytes });
    this.newest = key;
    this.heldBytes += bytes;
    while (this.entries.size > this.maxEntries || this.heldBytes > this.maxBytes) {
      const oldest = this.entries.entries().next();
      if (oldest.done) break;
      this.remove(oldest.value[0], oldest.value[1]);
      this.evictions++;
      this.hooks.onEvict?.();
    }
  }

  /** Whether the doorkeeper (if any) lets `key` into the full cache; counts a refusal. */
  private admits(key: string): boolean {
    if (this.doorkeeper === undefined || this.doorkeeper.seenBefore(key)) return true;
    this.refused++;
    this.hooks.onRefuse?.();
    return false;
  }

  private remove(key: string, entry: Entry<T>): void {
    this.entries.delete(key);
    if (key === this.newest) this.newest = undefined;
    this.heldBytes -= entry.bytes;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.heldBytes;
  }
}
