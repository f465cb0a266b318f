import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { IamSnapshot } from '../../../src/aws/iam-source.js';
import { createIamSync, isRetryableAwsError } from '../../../src/aws/iam-sync.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const snap = (n: number): IamSnapshot => ({ roles: [], errors: [], syncedAt: n });
const awsError = (name: string, status?: number) =>
  Object.assign(new Error(name), {
    name,
    ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
  });

beforeEach(() => {
  jest.useFakeTimers({ now: T0 });
});
afterEach(() => {
  jest.useRealTimers();
});

describe('isRetryableAwsError', () => {
  it('retries throttling, 5xx and network errors, not access errors', () => {
    expect(isRetryableAwsError(awsError('Throttling', 400))).toBe(true);
    expect(isRetryableAwsError(awsError('ServiceFailure', 500))).toBe(true);
    expect(isRetryableAwsError(awsError('ECONNREFUSED'))).toBe(true);
    expect(isRetryableAwsError(awsError('AccessDenied', 403))).toBe(false);
  });
});

describe('createIamSync', () => {
  it('syncs on an interval stretched by jitter, keeping the last good set on failure', async () => {
    const results: (IamSnapshot | Error)[] = [snap(1), awsError('ServiceFailure', 503), snap(2)];
    const updates: number[] = [];
    const errors: number[] = [];
    const sync = createIamSync({
      intervalMs: 60_000,
      jitter: 0.5,
      random: () => 0.5,
      backoffBaseMs: 1000,
      load: async () => {
        const next = results.shift() ?? snap(9);
        if (next instanceof Error) throw next;
        return next;
      },
      onUpdate: (s) => updates.push(s.syncedAt),
      onError: (_err, retry) => errors.push(retry),
    });
    expect(await sync.syncNow()).toBe(true);
    expect(sync.lastSuccess()).toBe(T0);
    // 60 s * (1 + 0.5 * 0.5) = 75 s.
    await jest.advanceTimersByTimeAsync(74_999);
    expect(errors).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    // The 5xx failed: last good set stays, retry after 1 s * 1.25.
    expect(errors).toEqual([1250]);
    expect(sync.current()?.syncedAt).toBe(1);
    expect(sync.lastSuccess()).toBe(T0);
    expect(sync.consecutiveFailures()).toBe(1);
    await jest.advanceTimersByTimeAsync(1250);
    expect(updates).toEqual([1, 2]);
    expect(sync.lastSuccess()).toBe(T0 + 75_000 + 1250);
    sync.stop();
  });

  it('backs off exponentially up to the cap, and waits a full interval for other errors', async () => {
    const errors: number[] = [];
    let fail: Error = awsError('Throttling', 400);
    const sync = createIamSync({
      intervalMs: 10_000,
      jitter: 0,
      backoffBaseMs: 1000,
      backoffMaxMs: 4000,
      load: () => Promise.reject(fail),
      onUpdate: () => undefined,
      onError: (_err, retry) => errors.push(retry),
    });
    await sync.syncNow();
    await jest.advanceTimersByTimeAsync(1000 + 2000 + 4000 + 4000);
    expect(errors).toEqual([1000, 2000, 4000, 4000, 4000]);
    fail = awsError('AccessDenied', 403);
    await jest.advanceTimersByTimeAsync(4000);
    expect(errors.at(-1)).toBe(10_000);
    expect(sync.lastSuccess()).toBeUndefined();
    sync.stop();
  });

  it('joins a manual sync to one already running, and stops', async () => {
    let calls = 0;
    let release: () => void = () => undefined;
    const sync = createIamSync({
      intervalMs: 10_000,
      load: () => {
        calls++;
        return new Promise<IamSnapshot>((r) => {
          release = () => r(snap(calls));
        });
      },
      onUpdate: () => undefined,
      onError: () => undefined,
    });
    const a = sync.syncNow();
    const b = sync.syncNow();
    release();
    expect(await Promise.all([a, b])).toEqual([true, true]);
    expect(calls).toBe(1);
    sync.stop();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(1);
    expect(await sync.syncNow()).toBe(false);
  });
});
