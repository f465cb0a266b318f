import { createHash } from 'node:crypto';

import { describe, expect, it } from '@jest/globals';

import { Doorkeeper } from '../../../src/cache/doorkeeper.js';

/** Keys shaped like the token cache's: base64url SHA-256 digests. */
const key = (i: number) => createHash('sha256').update(`token-${i}`).digest('base64url');

describe('Doorkeeper', () => {
  it('says a key is new the first time and seen the second, within a window', () => {
    const d = new Doorkeeper(100);
    expect(d.seenBefore(key(1))).toBe(false);
    expect(d.seenBefore(key(1))).toBe(true);
    expect(d.seenBefore(key(1))).toBe(true);
    expect(d.seenBefore(key(2))).toBe(false);
  });

  it('forgets everything after a window of new keys', () => {
    const d = new Doorkeeper(10);
    expect(d.seenBefore(key(0))).toBe(false);
    for (let i = 1; i < 10; i++) d.seenBefore(key(i)); // the 10th new key ends the window
    expect(d.seenBefore(key(0))).toBe(false);
    expect(d.seenBefore(key(0))).toBe(true);
  });

  it('keeps false positives under the design rate of 3 % with the window nearly full', () => {
    const window = 10_000;
    const probes = 2000;
    const d = new Doorkeeper(window);
    // Probes are new keys and count towards the window too: the filter holds
    // between 8,000 and 9,999 keys while they are made, and is never cleared.
    for (let i = 0; i < window - probes - 1; i++) d.seenBefore(key(i));
    let falsePositives = 0;
    for (let i = 0; i < probes; i++) if (d.seenBefore(key(window + i))) falsePositives++;
    expect(falsePositives / probes).toBeLessThan(0.03);
    expect(d.seenBefore(key(0))).toBe(true); // still this window
  });

  it('treats a window below 1 as 1', () => {
    const d = new Doorkeeper(0);
    expect(d.window).toBe(1);
    expect(d.seenBefore('a')).toBe(false);
    expect(d.seenBefore('a')).toBe(false); // the window of one key ended at once
  });
});
