import { describe, expect, it } from '@jest/globals';
import { summariseStalls } from '../../../bench/soak/stall-probe.js';

describe('soak stall probe', () => {
  it('summarises per-window max delays, leaving out windows without a scrape', () => {
    expect(summariseStalls([12, undefined, 90, 14, 30, 11])).toEqual({
      windows: 5,
      medianMs: 14,
      maxMs: 90,
      over25: 2,
    });
  });

  it('is all zero without any scrape', () => {
    expect(summariseStalls([undefined])).toEqual({ windows: 0, medianMs: 0, maxMs: 0, over25: 0 });
  });
});
