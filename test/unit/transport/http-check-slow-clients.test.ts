/**
 * Slow and hostile clients on the HTTP check listener: a client that never
 * finishes its request head is cut at `requestTimeoutMs` (plus the sweep,
 * {@link slowClientSweepMs}), not at Node's 30 s default sweep; connections
 * past `maxConnections` are closed at accept; and while hundreds of slow
 * clients hang on, checks from a proxy are still answered.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { connect, type Socket } from 'node:net';
import { httpCheckSchema } from '../../../src/transport/options.js';
import {
  slowClientSweepMs,
  startHttpCheckServer,
  type HttpCheckServer,
} from '../../../src/transport/http/check-server.js';
import { rawRequest } from '../../support/raw-http.js';

const REQUEST_TIMEOUT_MS = 400;
/** The latest a slow client may still hold its connection: its bound, one sweep, and scheduling slack. */
const CUT_BY_MS = REQUEST_TIMEOUT_MS + slowClientSweepMs(REQUEST_TIMEOUT_MS) + 1000;

let server: HttpCheckServer | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await server?.close();
  server = undefined;
});

async function start(extra: Record<string, unknown> = {}): Promise<HttpCheckServer> {
  const options = httpCheckSchema.parse({
    enabled: true,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    ...extra,
  });
  server = await startHttpCheckServer({
    host: '127.0.0.1',
    port: 0,
    options: () => options,
    handle: () => Promise.resolve({ status: 200, headers: {}, body: '' }),
    onError: () => ({ status: 403, headers: {}, body: 'denied' }),
  });
  return server;
}

type Slowness = 'silent' | 'partial head' | 'trickled head';

/** A client that never completes its head; resolves with how long the server let it stay. */
function slowClient(
  port: number,
  how: Slowness,
): { closed: Promise<number>; accepted: Promise<boolean> } {
  const started = Date.now();
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => undefined);
  socket.resume();
  let timer: NodeJS.Timeout | undefined;
  const accepted = new Promise<boolean>((resolve) => {
    socket.once('connect', () => {
      if (how !== 'silent') socket.write('GET /nginx HTTP/1.1\r\nHost: rolegate\r\n');
      if (how === 'trickled head') {
        timer = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 50);
      }
      resolve(true);
    });
  });
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve(Date.now() - started);
    }),
  );
  return { closed, accepted };
}

describe('the HTTP check listener and slow clients', () => {
  it('sweeps unfinished requests within a quarter of requestTimeoutMs, between 50 ms and 1 s', () => {
    expect([100, 400, 5000, 600_000].map(slowClientSweepMs)).toEqual([50, 100, 1000, 1000]);
  });

  it.each<Slowness>(['silent', 'partial head', 'trickled head'])(
    'cuts a %s client at requestTimeoutMs, not after Node’s 30 s sweep',
    async (how) => {
      const { port } = await start();
      const held = await slowClient(port, how).closed;
      expect(held).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
      expect(held).toBeLessThan(CUT_BY_MS);
    },
  );

  it('answers checks while 300 slow clients hang on, and cuts every one of them in time', async () => {
    const { port } = await start();
    const kinds: Slowness[] = ['silent', 'partial head', 'trickled head'];
    const slow = Array.from({ length: 300 }, (_, i) => slowClient(port, kinds[i % 3] as Slowness));
    await Promise.all(slow.map((s) => s.accepted));
    for (let i = 0; i < 5; i++) {
      const res = await rawRequest(port, 'GET', '/nginx', { host: 'rolegate' });
      expect(res.status).toBe(200);
    }
    const held = await Promise.all(slow.map((s) => s.closed));
    expect(Math.max(...held)).toBeLessThan(CUT_BY_MS);
  });

  it('closes connections past maxConnections at accept, and serves again once the slow ones are cut', async () => {
    const { port } = await start({ maxConnections: 20 });
    const slow = Array.from({ length: 20 }, () => slowClient(port, 'partial head'));
    await Promise.all(slow.map((s) => s.accepted));
    // Give the server a moment to accept all 20 before the 21st arrives.
    await new Promise((r) => setTimeout(r, 100));
    const extra = slowClient(port, 'silent');
    expect(await extra.closed).toBeLessThan(REQUEST_TIMEOUT_MS - 50);
    await Promise.all(slow.map((s) => s.closed));
    expect((await rawRequest(port, 'GET', '/nginx', { host: 'rolegate' })).status).toBe(200);
  });
});
