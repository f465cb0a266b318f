import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import { httpCheckSchema } from '../../../src/transport/options.js';
import {
  startHttpCheckServer,
  type HttpCheckServer,
} from '../../../src/transport/http/check-server.js';
import type { HttpCheckCall } from '../../../src/wire/http-check.js';
import { rawRequest } from '../../support/raw-http.js';

const calls: { door: string; call: HttpCheckCall }[] = [];
let server: HttpCheckServer;
let failNext = false;

beforeAll(async () => {
  const options = httpCheckSchema.parse({ enabled: true, maxHeaders: 20, maxBodyBytes: 16 });
  server = await startHttpCheckServer({
    host: '127.0.0.1',
    port: 0,
    options: () => options,
    handle: (door, call) => {
      calls.push({ door, call });
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error('boom'));
      }
      return Promise.resolve({ status: 200, headers: { 'x-rolegate-principal': 'p' }, body: '' });
    },
    onError: () => ({ status: 403, headers: {}, body: 'denied' }),
  });
});

afterAll(() => server.close());

/**
 * Sends raw bytes; resolves with what came back and whether the server
 * closed the connection within 2 s (else the client gives up).
 */
function rawBytes(text: string): Promise<{ out: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(server.port, '127.0.0.1');
    let out = '';
    let closedByServer = true;
    socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
    socket.on('close', () => resolve({ out, closedByServer }));
    socket.on('error', () => undefined);
    socket.write(text);
    setTimeout(() => {
      closedByServer = false;
      socket.destroy();
    }, 2000).unref();
  });
}

describe('the HTTP check server', () => {
  it('routes /nginx, /forward and the Envoy prefix to their doors; anything else is 404', async () => {
    calls.length = 0;
    expect((await rawRequest(server.port, 'GET', '/nginx')).status).toBe(200);
    expect((await rawRequest(server.port, 'GET', '/forward')).status).toBe(200);
    expect((await rawRequest(server.port, 'DELETE', '/envoy/a/b?c=1')).status).toBe(200);
    expect((await rawRequest(server.port, 'GET', '/envoyish')).status).toBe(404);
    expect(calls.map((c) => [c.door, c.call.method, c.call.target])).toEqual([
      ['nginx', 'GET', '/nginx'],
      ['forward', 'GET', '/forward'],
      ['envoy', 'DELETE', '/envoy/a/b?c=1'],
    ]);
    expect(calls[0]?.call.peerIp).toBe('127.0.0.1');
  });

  it('answers no-store, and the fail-closed deny when the check throws', async () => {
    failNext = true;
    const res = await rawRequest(server.port, 'GET', '/nginx');
    expect(res.status).toBe(403);
    expect(res.body).toBe('denied');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('refuses more headers than maxHeaders (431) instead of dropping some', async () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 25; i++) headers[`x-h${i}`] = 'v';
    const res = await rawRequest(server.port, 'GET', '/nginx', headers);
    expect(res.status).toBe(431);
  });

  it('never reads a body, and closes a connection whose body passes maxBodyBytes', async () => {
    const big = 'x'.repeat(64 * 1024);
    const { closedByServer } = await rawBytes(
      `POST /nginx HTTP/1.1\r\nhost: a\r\ncontent-length: ${big.length}\r\n\r\n${big}`,
    );
    expect(closedByServer).toBe(true);
  });

  it('refuses a head larger than maxHeaderBytes (431)', async () => {
    const { out } = await rawBytes(
      `GET /nginx HTTP/1.1\r\nhost: a\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(out.startsWith('HTTP/1.1 431')).toBe(true);
  });
});

describe('a caller that hangs up', () => {
  it('is abandoned() for the handler once its connection is gone, and not before', async () => {
    const seen: boolean[] = [];
    let decided: () => void = () => undefined;
    const done = new Promise<void>((r) => (decided = r));
    const options = httpCheckSchema.parse({ enabled: true });
    const s = await startHttpCheckServer({
      host: '127.0.0.1',
      port: 0,
      options: () => options,
      handle: async (_door, _call, _options, abandoned) => {
        seen.push(abandoned());
        await new Promise((r) => setTimeout(r, 200));
        seen.push(abandoned());
        decided();
        return { status: 200, headers: {}, body: '' };
      },
      onError: () => ({ status: 403, headers: {}, body: 'denied' }),
    });
    try {
      const socket = connect(s.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write('GET /nginx HTTP/1.1\r\nhost: h\r\n\r\n');
      await new Promise((r) => setTimeout(r, 50));
      socket.destroy();
      await done;
      expect(seen).toEqual([false, true]);
    } finally {
      await s.close();
    }
  });
});

describe('a handler that throws before returning its promise', () => {
  it('is answered with the fail-closed deny, and the server keeps serving', async () => {
    const options = httpCheckSchema.parse({ enabled: true });
    let calls = 0;
    const s = await startHttpCheckServer({
      host: '127.0.0.1',
      port: 0,
      options: () => options,
      handle: () => {
        calls++;
        if (calls === 1) throw new Error('boom');
        return Promise.resolve({ status: 200, headers: {}, body: '' });
      },
      onError: () => ({ status: 403, headers: {}, body: 'denied' }),
    });
    try {
      expect((await rawRequest(s.port, 'GET', '/nginx')).status).toBe(403);
      expect((await rawRequest(s.port, 'GET', '/nginx')).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});
