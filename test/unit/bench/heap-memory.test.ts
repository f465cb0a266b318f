import { describe, expect, it } from '@jest/globals';

import { memoryBreakdown } from '../../../bench/soak/heap-stats.js';

const STATUS = [
  'Name:\tnode',
  'VmRSS:\t  204800 kB',
  'RssAnon:\t  153600 kB',
  'RssFile:\t   51200 kB',
  'RssShmem:\t       0 kB',
].join('\n');

describe('memoryBreakdown', () => {
  it('reads the anonymous and file-backed parts of RSS from /proc/self/status', () => {
    const m = memoryBreakdown(() => STATUS, 1234);
    expect([m.rssAnon, m.rssFile]).toEqual([153600 * 1024, 51200 * 1024]);
    expect(m.tokenCacheBytes).toBe(1234);
    expect(m.heapCommitted).toBeGreaterThanOrEqual(m.heapUsed);
  });

  it('gives zeros for the /proc parts where there is no such file', () => {
    const m = memoryBreakdown(() => {
      throw new Error('ENOENT');
    });
    expect([m.rssAnon, m.rssFile, m.tokenCacheBytes]).toEqual([0, 0, undefined]);
    expect(m.rss).toBeGreaterThan(0);
  });
});
