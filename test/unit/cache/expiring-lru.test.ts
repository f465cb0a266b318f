import { describe, expect, it } from '@jest/globals';
import {
  ENTRY_OVERHEAD_BYTES,
  estimateEntryBytes,
  ExpiringLru,
} from '../../../src/cache/expiring-lru.js';

const BIG = 1e12; // entries that never expire in these tests
const lru = <T>(maxEntries: number, maxBytes = 1 << 30) =>
  new ExpiringLru<T>({ maxEntries, maxBytes });

describe('ExpiringLru', () => {
  it('returns entries until their own expiry', () => {
    const c = lru<string>(10);
    c.set('a', 'A', 1000);
    expect(c.get('a', 999)).toBe('A');
    expect(c.get('a', 1000)).toBeUndefined();
    expect(c.size).toBe(0);
    expect(c.bytes).toBe(0);
  });

  it('evicts the least recently used entry beyond its bound', () => {
    const c = lru<number>(2);
    c.set('a', 1, BIG);
    c.set('b', 2, BIG);
    expect(c.get('a', 0)).toBe(1); // a is now the most recent
    c.set('c', 3, BIG);
    expect(c.get('b', 0)).toBeUndefined();
    expect(c.get('a', 0)).toBe(1);
    expect(c.get('c', 0)).toBe(3);
    expect(c.evictions).toBe(1);
  });

  it('counts hits and misses and reports each lookup', () => {
    const seen: boolean[] = [];
    const c = new ExpiringLru<number>({
      maxEntries: 2,
      maxBytes: 1 << 20,
      onLookup: (hit) => seen.push(hit),
    });
    c.set('a', 1, BIG);
    c.get('a', 0);
    c.get('b', 0);
    expect([c.hits, c.misses]).toEqual([1, 1]);
    expect(seen).toEqual([true, false]);
  });

  it('keeps nothing with a bound of 0 (entries or bytes)', () => {
    for (const c of [lru<number>(0), lru<number>(10, 0)]) {
      c.set('a', 1, BIG);
      expect(c.get('a', 0)).toBeUndefined();
      expect(c.size).toBe(0);
    }
  });

  it('estimates an entry as its JSON length, the key and a fixed overhead', () => {
    expect(estimateEntryBytes('k', { a: 'é' })).toBe(
      Buffer.byteLength('{"a":"é"}') + 1 + ENTRY_OVERHEAD_BYTES,
    );
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(estimateEntryBytes('k', cyclic)).toBe(1 + ENTRY_OVERHEAD_BYTES);
  });

  it('never holds more than its byte bound however many large entries arrive', () => {
    const maxBytes = 1_000_000;
    const evicted: number[] = [];
    const c = new ExpiringLru<{ claims: { pad: string } }>({
      maxEntries: 100_000,
      maxBytes,
      onEvict: () => evicted.push(1),
    });
    const entry = (i: number) => ({ claims: { pad: String(i).padEnd(100_000, 'x') } });
    const size = estimateEntryBytes('key-0000', entry(0));
    let peak = 0;
    for (let i = 0; i < 500; i++) {
      c.set(`key-${String(i).padStart(4, '0')}`, entry(i), BIG);
      peak = Math.max(peak, c.bytes);
    }
    expect(peak).toBeLessThanOrEqual(maxBytes);
    expect(c.size).toBe(Math.floor(maxBytes / size)); // 9 entries of ~100 KB
    expect(c.bytes).toBe(c.size * size);
    expect(c.evictions).toBe(500 - c.size);
    expect(evicted).toHaveLength(500 - c.size);
    // The most recent entries stayed; the oldest went first.
    expect(c.get('key-0499', 0)?.claims.pad.startsWith('499x')).toBe(true);
    expect(c.get('key-0000', 0)).toBeUndefined();
  });

  it('evicts least recently used entries until under both bounds', () => {
    const c = new ExpiringLru<string>({ maxEntries: 10, maxBytes: 1000, sizeOf: () => 300 });
    c.set('a', 'A', BIG);
    c.set('b', 'B', BIG);
    c.set('c', 'C', BIG);
    c.get('a', 0); // b is now the least recently used
    c.set('d', 'D', BIG);
    expect(c.get('b', 0)).toBeUndefined();
    expect([c.size, c.bytes, c.evictions]).toEqual([3, 900, 1]);
  });

  it('refuses an entry larger than the byte bound, keeping what it holds', () => {
    const oversize: number[] = [];
    const c = new ExpiringLru<string>({
      maxEntries: 10,
      maxBytes: 1000,
      onOversize: () => oversize.push(1),
    });
    c.set('small', 'x', BIG);
    c.set('huge', 'x'.repeat(2000), BIG);
    expect(c.get('huge', 0)).toBeUndefined();
    expect(c.get('small', 0)).toBe('x');
    expect([c.oversize, oversize.length, c.evictions]).toEqual([1, 1, 0]);
  });

  it('accounts bytes when an entry is replaced or expires', () => {
    const c = new ExpiringLru<string>({ maxEntries: 10, maxBytes: 10_000 });
    c.set('a', 'x'.repeat(100), BIG);
    const one = c.bytes;
    c.set('a', 'x'.repeat(100), BIG);
    expect(c.bytes).toBe(one);
    c.set('b', 'y', 50);
    c.get('b', 60); // expired: dropped on lookup
    expect([c.size, c.bytes]).toEqual([1, one]);
  });

  it('evicts exactly as a reference LRU over 20,000 random gets and sets', () => {
    let seed = 0x5eed;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      // The high bits: an LCG's low bits repeat with short periods.
      return (seed >>> 16) % n;
    };
    const cache = new ExpiringLru<number>({ maxEntries: 4, maxBytes: 1e9, sizeOf: () => 1 });
    // Reference: keys from least to most recently used.
    let order: string[] = [];
    const values = new Map<string, number>();
    const got: (number | undefined)[] = [];
    const want: (number | undefined)[] = [];
    const sizes: [number, number][] = [];
    for (let i = 0; i < 20_000; i++) {
      // Few keys and runs of the same key: the newest-entry shortcut is exercised.
      const key = `k${rnd(3) === 0 ? rnd(7) : (order[order.length - 1] ?? 'k0').slice(1)}`;
      if (rnd(3) === 0) {
        cache.set(key, i, Infinity);
        order = [...order.filter((k) => k !== key), key];
        values.set(key, i);
        while (order.length > 4) values.delete(order.shift() as string);
      } else {
        const expected = order.includes(key) ? values.get(key) : undefined;
        got.push(cache.get(key, 0));
        want.push(expected);
        if (expected !== undefined) order = [...order.filter((k) => k !== key), key];
      }
      sizes.push([cache.size, order.length]);
    }
    expect(got).toEqual(want);
    expect(sizes.every(([a, b]) => a === b)).toBe(true);
  });
});

describe('ExpiringLru with a doorkeeper', () => {
  const guarded = (maxEntries: number, maxBytes = 1 << 30, onRefuse?: () => void) =>
    new ExpiringLru<number>({
      maxEntries,
      maxBytes,
      sizeOf: () => 10,
      doorkeeper: true,
      ...(onRefuse ? { onRefuse } : {}),
    });

  it('lets every key in while there is room', () => {
    const c = guarded(3);
    for (const k of ['a', 'b', 'c']) c.set(k, 1, BIG);
    expect([c.size, c.refused]).toEqual([3, 0]);
  });

  it('keeps a key seen once out of a full cache and lets it in the second time', () => {
    const refusals: number[] = [];
    const c = guarded(2, 1 << 30, () => refusals.push(1));
    c.set('a', 1, BIG);
    c.set('b', 2, BIG);
    c.set('c', 3, BIG);
    expect(c.get('c', 0)).toBeUndefined();
    expect([c.get('a', 0), c.get('b', 0)]).toEqual([1, 2]);
    expect([c.refused, refusals.length, c.evictions]).toEqual([1, 1, 0]);
    c.set('c', 3, BIG); // offered again: let in, the least recently used (a) goes
    expect(c.get('c', 0)).toBe(3);
    expect(c.get('a', 0)).toBeUndefined();
    expect([c.refused, c.evictions]).toEqual([1, 1]);
  });

  it('applies to the byte bound too', () => {
    const c = guarded(100, 25); // two entries of 10 bytes fit
    c.set('a', 1, BIG);
    c.set('b', 2, BIG);
    c.set('c', 3, BIG);
    expect([c.size, c.refused]).toEqual([2, 1]);
    c.set('c', 3, BIG);
    expect([c.size, c.get('c', 0), c.get('a', 0)]).toEqual([2, 3, undefined]);
  });

  it('makes what it keeps only for a value it lets in', () => {
    const made: number[] = [];
    const c = new ExpiringLru<number>({
      maxEntries: 2,
      maxBytes: 1 << 30,
      sizeOf: () => 1,
      doorkeeper: true,
      held: (v) => {
        made.push(v);
        return v * 10;
      },
    });
    c.set('a', 1, BIG);
    c.set('c', 3, BIG);
    c.set('b', 2, BIG); // full, first sighting: refused, nothing made
    expect(made).toEqual([1, 3]);
    c.set('b', 2, BIG);
    expect(made).toEqual([1, 3, 2]);
    expect(c.get('b', 0)).toBe(20);
  });

  it('replaces a held key without asking the doorkeeper', () => {
    const c = guarded(1);
    c.set('a', 1, BIG);
    c.set('a', 2, BIG);
    expect([c.get('a', 0), c.refused]).toEqual([2, 0]);
  });

  it('stops the churn of more distinct keys than it holds, round robin', () => {
    // 10x more keys than entries, each offered in turn: without admission
    // every set evicts an entry that is never asked for again.
    const plain = new ExpiringLru<number>({ maxEntries: 100, maxBytes: 1 << 30, sizeOf: () => 1 });
    const c = guarded(100);
    for (let round = 0; round < 5; round++)
      for (let i = 0; i < 1000; i++) {
        const k = `k${i}`;
        for (const cache of [plain, c]) if (cache.get(k, 0) === undefined) cache.set(k, i, BIG);
      }
    expect(plain.evictions).toBe(4900);
    expect(plain.hits).toBe(0);
    // Only the filter's false positives get in (4 of 3,600 offers here).
    expect(c.evictions).toBeLessThan(4900 * 0.01);
    // The first 100 keys mostly stay and hit in every later round.
    expect(c.hits).toBeGreaterThan(4 * 100 * 0.95);
  });
});
