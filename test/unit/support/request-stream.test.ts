import { describe, expect, it } from '@jest/globals';
import {
  startRequestStream,
  statusCounts,
  statusesByKind,
  within,
  type StreamSample,
} from '../../support/request-stream.js';

describe('startRequestStream', () => {
  it('rotates kinds, records every answer (a throw as 0) and stops at the bound', async () => {
    let clock = 1000;
    const stream = startRequestStream({
      kinds: ['a', 'b', 'c'] as const,
      concurrency: 2,
      pauseMs: 0,
      maxRequests: 7,
      now: () => clock++,
      send: async (kind, seq) => {
        await Promise.resolve();
        if (kind === 'c') throw new Error('refused');
        return { status: kind === 'a' ? 200 : 401, decisionId: `d${seq}` };
      },
    });
    await stream.waitFor(7);
    const samples = await stream.stop();
    expect(samples.map((s) => [s.seq, s.kind, s.status])).toEqual([
      [0, 'a', 200],
      [1, 'b', 401],
      [2, 'c', 0],
      [3, 'a', 200],
      [4, 'b', 401],
      [5, 'c', 0],
      [6, 'a', 200],
    ]);
    for (const s of samples) expect(s.endedAt).toBeGreaterThan(s.startedAt);
    expect(samples[1]?.decisionId).toBe('d1');
  });

  it('stop() waits for the request in flight and sends no more', async () => {
    let release: () => void = () => undefined;
    let sent = 0;
    const stream = startRequestStream({
      kinds: ['x'],
      concurrency: 1,
      send: () => {
        sent++;
        return new Promise((r) => (release = () => r({ status: 204 })));
      },
    });
    const stopping = stream.stop();
    release();
    const samples = await stopping;
    expect(sent).toBe(1);
    expect(samples.map((s) => s.status)).toEqual([204]);
  });

  it('waitFor rejects when the answers do not come in time', async () => {
    const stream = startRequestStream({
      kinds: ['x'],
      concurrency: 1,
      send: () => new Promise(() => undefined),
    });
    await expect(stream.waitFor(1, 20)).rejects.toThrow(/not seen in 20 ms/);
  });
});

describe('stream sample helpers', () => {
  const sample = (seq: number, startedAt: number, endedAt: number, status: number, kind = 'k') =>
    ({ seq, kind, startedAt, endedAt, status }) as StreamSample;
  const samples = [
    sample(0, 0, 5, 200),
    sample(1, 4, 9, 200, 'j'),
    sample(2, 10, 12, 401),
    sample(3, 11, 20, 401, 'j'),
  ];

  it('within keeps samples sent at or after from and answered before to', () => {
    expect(within(samples, { from: 4 }).map((s) => s.seq)).toEqual([1, 2, 3]);
    expect(within(samples, { to: 12 }).map((s) => s.seq)).toEqual([0, 1]);
    expect(within(samples, { from: 4, to: 13 }).map((s) => s.seq)).toEqual([1, 2]);
  });

  it('counts statuses overall and by kind', () => {
    expect(statusCounts(samples)).toEqual({ 200: 2, 401: 2 });
    expect(statusesByKind(samples)).toEqual({ k: { 200: 1, 401: 1 }, j: { 200: 1, 401: 1 } });
  });
});
