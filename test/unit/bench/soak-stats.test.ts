import { describe, expect, it } from '@jest/globals';

import { BAD_KINDS, expectedStatus, kindOf, pathFor } from '../../../bench/soak/mix.js';
import {
  Histogram,
  judgeWindows,
  median,
  percentile,
  thirds,
  type Window,
} from '../../../bench/soak/stats.js';

const win = (i: number, over: Partial<Window> = {}): Window => ({
  atS: (i + 1) * 5,
  requests: 1000,
  errors: 0,
  p50Ms: 2,
  p99Ms: 10,
  rssBytes: 100 * 1_048_576,
  fds: 30,
  cpu: 0.5,
  ...over,
});
const series = (n: number, f: (i: number) => Partial<Window> = () => ({})) =>
  Array.from({ length: n }, (_, i) => win(i, f(i)));

describe('percentile and median', () => {
  it('uses the nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });
  it('takes the middle, ignoring NaN', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([NaN, 5])).toBe(5);
    expect(median([])).toBeNaN();
  });
});

describe('Histogram', () => {
  it('answers percentiles within its 2 % buckets', () => {
    const h = new Histogram();
    for (let i = 1; i <= 1000; i++) h.add(i / 10);
    expect(h.count).toBe(1000);
    expect(h.percentile(50)).toBeGreaterThanOrEqual(50);
    expect(h.percentile(50)).toBeLessThanOrEqual(51);
    expect(h.percentile(99)).toBeGreaterThanOrEqual(99);
    expect(h.percentile(99)).toBeLessThanOrEqual(101);
    expect(new Histogram().percentile(50)).toBeNaN();
  });
});

describe('thirds', () => {
  it('drops the warm-up, then takes the first and last third', () => {
    const t = thirds(series(10));
    expect(t.first.map((w) => w.atS)).toEqual([15, 20]);
    expect(t.last.map((w) => w.atS)).toEqual([45, 50]);
  });
  it('is empty with too few windows', () => {
    expect(thirds(series(2))).toEqual({ first: [], last: [] });
  });
});

describe('judgeWindows', () => {
  it('passes a flat run', () => {
    expect(judgeWindows(series(30)).every((v) => v.ok)).toBe(true);
  });
  it('fails a p99 that more than doubles (and more than +5 ms)', () => {
    const verdicts = judgeWindows(series(30, (i) => ({ p99Ms: i < 15 ? 10 : 30 })));
    expect(verdicts.find((v) => v.name === 'p99 stable')?.ok).toBe(false);
  });
  it('tolerates a small absolute p99 change on a tiny p99', () => {
    const verdicts = judgeWindows(series(30, (i) => ({ p99Ms: i < 15 ? 1 : 4 })));
    expect(verdicts.find((v) => v.name === 'p99 stable')?.ok).toBe(true);
  });
  it('fails RSS growing by more than 10 %, passes it shrinking', () => {
    const grow = judgeWindows(series(30, (i) => ({ rssBytes: 100e6 + i * 1e6 })));
    expect(grow.find((v) => v.name === 'RSS flat')?.ok).toBe(false);
    const shrink = judgeWindows(series(30, (i) => ({ rssBytes: 200e6 - i * 2e6 })));
    expect(shrink.find((v) => v.name === 'RSS flat')?.ok).toBe(true);
  });
  it('fails descriptors that keep climbing', () => {
    const verdicts = judgeWindows(series(30, (i) => ({ fds: 30 + i })));
    expect(verdicts.find((v) => v.name === 'fds flat')?.ok).toBe(false);
  });
  it('fails every trend when there are too few windows to compare', () => {
    expect(judgeWindows(series(2)).map((v) => v.ok)).toEqual([false, false, false]);
  });
});

describe('the request mix', () => {
  it('makes one request in badEvery bad, cycling through every bad kind', () => {
    const kinds = Array.from({ length: 600 }, (_, i) => kindOf(i, 100));
    expect(kinds.filter((k) => k !== 'good')).toEqual([...BAD_KINDS]);
    expect(kindOf(99, 0)).toBe('good');
  });
  it('wants 200 for good requests and a refusal for bad ones, never 200 or 5xx', () => {
    expect(expectedStatus('good', 200)).toBe(true);
    expect(expectedStatus('good', 403)).toBe(false);
    for (const kind of BAD_KINDS) {
      expect(expectedStatus(kind, 200)).toBe(false);
      expect(expectedStatus(kind, 503)).toBe(false);
      expect(expectedStatus(kind, 401)).toBe(true);
    }
  });
  it('spells hostile paths with encoded dot segments and slashes', () => {
    expect(pathFor('good', 7)).toBe('/inventory/7');
    expect(pathFor('dot-dot-encoded', 7)).toBe('/inventory/%2e%2e/orders/7');
    expect(pathFor('slash-encoded', 7)).toContain('%2F');
  });
});
