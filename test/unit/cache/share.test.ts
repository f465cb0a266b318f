import { describe, expect, it } from '@jest/globals';
import { shareOfBound, WHOLE_BOUND } from '../../../src/cache/share.js';
import { ExpiringLru } from '../../../src/cache/expiring-lru.js';

const parts = (bound: number, of: number) =>
  Array.from({ length: of }, (_, i) => shareOfBound(bound, { slot: i + 1, of }));

describe('shareOfBound', () => {
  it('gives a single process the whole bound', () => {
    expect(shareOfBound(67_108_864)).toBe(67_108_864);
    expect(shareOfBound(10_000, WHOLE_BOUND)).toBe(10_000);
  });

  it.each([
    [67_108_864, 2],
    [10_000, 3],
    [10_001, 4],
    [7, 7],
    [5, 8],
    [1, 2],
    [2 ** 40, 256],
  ])('splits %d between %d workers into parts that sum to exactly the bound', (bound, of) => {
    const got = parts(bound, of);
    expect(got.reduce((a, b) => a + b, 0)).toBe(bound);
    // No part is more than one above another: the bound / N, rounded down or up.
    expect(Math.max(...got) - Math.min(...got)).toBeLessThanOrEqual(1);
    expect(Math.min(...got)).toBe(Math.floor(bound / of));
  });

  it('gives the remainder to the first slots', () => {
    expect(parts(10, 4)).toEqual([3, 3, 2, 2]);
    expect(parts(1, 2)).toEqual([1, 0]);
  });

  it('keeps a disabled cache disabled in every worker', () => {
    expect(parts(0, 4)).toEqual([0, 0, 0, 0]);
  });

  it('bounds a worker cache built from its share to that share', () => {
    const maxBytes = shareOfBound(10_000, { slot: 2, of: 2 });
    const cache = new ExpiringLru<string>({ maxEntries: 100, maxBytes, sizeOf: () => 1_000 });
    for (let i = 0; i < 20; i++) cache.set(`k${i}`, 'v', 1e12);
    expect(cache.maxBytes).toBe(5_000);
    expect(cache.bytes).toBe(5_000);
    expect(cache.size).toBe(5);
  });
});
