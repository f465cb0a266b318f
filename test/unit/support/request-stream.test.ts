import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  sendHttp,
  startRequestStream,
  statusCounts,
  statusesByKind,
  upstreamHeader,
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
    // A throw keeps its reason; an answer has none.
    expect(samples[2]?.error).toContain('refused');
    expect(samples[0]?.error).toBeUndefined();
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

describe('sendHttp', () => {
  // An echo upstream in miniature: 200 with the headers it received, 403 with a body for DELETE.
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.method === 'DELETE') {
        res.writeHead(403, { 'x-rolegate-decision-id': 'deny-1' }).end('{"error":"denied"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ headers: req.headers }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const asSample = (r: Awaited<ReturnType<typeof sendHttp>>): StreamSample => ({
    seq: 0,
    kind: 'k',
    startedAt: 0,
    endedAt: 1,
    ...r,
  });

  it('keeps the headers the upstream saw for a 200, and no body', async () => {
    const answer = await sendHttp(`${base}/a`, {
      headers: { 'x-rolegate-principal': 'alice', 'x-rolegate-decision-id': 'allow-1' },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toBeUndefined();
    expect(answer.decisionId).toBe('allow-1');
    expect(upstreamHeader(asSample(answer), 'x-rolegate-principal')).toBe('alice');
    expect(upstreamHeader(asSample(answer), 'x-absent')).toBeUndefined();
  });

  it('keeps the body and the decision id header of any other answer', async () => {
    const answer = await sendHttp(`${base}/a`, { method: 'DELETE' });
    expect(answer).toEqual({ status: 403, decisionId: 'deny-1', body: '{"error":"denied"}' });
  });
});
