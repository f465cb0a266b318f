/** Visible characters: grapheme clusters that show something (reason minimums count these). */
import { describe, expect, it } from '@jest/globals';
import { visibleLength } from '../../../src/access/visible.js';

describe('visibleLength', () => {
  it.each([
    ['', 0],
    ['fix OPS-42', 9],
    [' '.repeat(10), 0],
    ['\t\n\r\u00a0\u2003\u3000', 0],
    ['\u200b'.repeat(20), 0],
    ['\u200c\u200d\u2060\ufeff\u00ad\u034f\u180e', 0],
    ['\u202e\u202d\u2066\u2069', 0],
    ['\u3164\uffa0\u115f\u1160', 0],
    ['\u2800'.repeat(5), 0],
    ['\ufe0f\u{e0001}', 0],
    ['\u0301\u0301', 0],
    ['\u{e000}\u{10fffd}', 0],
    ['e\u0301', 1],
    ['\u{1F468}\u200d\u{1F469}\u200d\u{1F467}', 1],
    ['\u{1F1EB}\u{1F1F7}', 1],
    ['日本語', 3],
    ['a\u200bb', 2],
    ['!?.', 3],
  ])('%j has %i visible characters', (s, n) => {
    expect(visibleLength(s)).toBe(n);
  });
});
