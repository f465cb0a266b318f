import { describe, expect, it } from '@jest/globals';
import { ExpiringLru } from '../../../src/cache/expiring-lru.js';

describe('ExpiringLru', () => {
  it('returns entries until their own expiry', () => {
    const c = new ExpiringLru<string>(10);
    c.set('a', 'A', 1000);
    expect(c.get('a', 999)).toBe('A');
    expect(c.get('a', 1000)).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('evicts the least recently used entry beyond its bound', () => {
    const c = new ExpiringLru<number>(2);
    c.set('a', 1, 1e9);
    c.set('b', 2, 1e9);
    expect(c.get('a', 0)).toBe(1); // a is now the most recent
    c.set('c', 3, 1e9);
    expect(c.get('b', 0)).toBeUndefined();
    expect(c.get('a', 0)).toBe(1);
    expect(c.get('c', 0)).toBe(3);
  });

  it('counts hits and misses and reports each lookup', () => {
    const seen: boolean[] = [];
    const c = new ExpiringLru<number>(2, (hit) => seen.push(hit));
    c.set('a', 1, 1e9);
    c.get('a', 0);
    c.get('b', 0);
    expect([c.hits, c.misses]).toEqual([1, 1]);
    expect(seen).toEqual([true, false]);
  });

  it('keeps nothing with a bound of 0', () => {
    const c = new ExpiringLru<number>(0);
    c.set('a', 1, 1e9);
    expect(c.get('a', 0)).toBeUndefined();
  });
});
