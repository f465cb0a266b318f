import { describe, expect, it, jest } from '@jest/globals';
import { settledWithin } from '../../src/settled-within.js';

describe('settledWithin', () => {
  it('is true for work that fulfils or rejects in time, and never rejects itself', async () => {
    expect(await settledWithin(Promise.resolve('x'), 1000)).toBe(true);
    expect(await settledWithin(Promise.reject(new Error('no')), 1000)).toBe(true);
  });

  it('is false once the time is up, and leaves no timer behind', async () => {
    jest.useFakeTimers();
    try {
      const waiting = settledWithin(new Promise(() => undefined), 5000);
      await jest.advanceTimersByTimeAsync(4999);
      expect(jest.getTimerCount()).toBe(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(await waiting).toBe(false);
      expect(jest.getTimerCount()).toBe(0);
      await settledWithin(Promise.resolve(), 5000);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
