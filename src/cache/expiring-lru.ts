/**
 * A bounded LRU whose entries each expire at their own time: verified
 * tokens (at the token's `exp`), STS credentials (five minutes before they
 * expire). Lookups count hits and misses.
 */
export class ExpiringLru<T> {
  private readonly entries = new Map<string, { value: T; expiresAtMs: number }>();
  private readonly maxEntries: number;
  private readonly onLookup: (hit: boolean) => void;
  hits = 0;
  misses = 0;

  /**
   * @param maxEntries bound on entries; 0 disables caching.
   * @param onLookup called after every lookup (metrics); default does nothing.
   */
  constructor(maxEntries: number, onLookup: (hit: boolean) => void = () => {}) {
    this.maxEntries = maxEntries;
    this.onLookup = onLookup;
  }

  get(key: string, nowMs: number): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.expiresAtMs <= nowMs) {
      if (entry !== undefined) this.entries.delete(key);
      this.misses++;
      this.onLookup(false);
      return undefined;
    }
    // Re-insert to mark as most recently used.
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.hits++;
    this.onLookup(true);
    return entry.value;
  }

  set(key: string, value: T, expiresAtMs: number): void {
    if (this.maxEntries === 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAtMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
