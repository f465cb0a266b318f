import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import { httpCheckSchema } from '../../../src/transport/options.js';
import {
  startHttpCheckServer,
  type HttpCheckServer,
} from '../../../src/transport/http/check-server.js';
import type { HttpCheckAnswer } from '../../../src/wire/http-check.js';

let server: HttpCheckServer;
let next: HttpCheckAnswer = { status: 200, headers: {}, body: '' };

beforeAll(async () => {
  const options = httpCheckSchema.parse({ enabled: true, maxBodyBytes: 16 });
  server = await startHttpCheckServer({
    host: '127.0.0.1',
    port: 0,
    options: () => options,
    handle: () => Promise.resolve(next),
    onError: () => ({ status: 403, headers: {}, body: 'denied' }),
  });
});

afterAll(() => server.close());

/** Writes raw bytes, resolves with what came back once the server closes or 1 s passed. */
function exchange(text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(server.port, '127.0.0.1');
    let out = '';
    socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
    socket.on('close', () => resolve(out));
    socket.on('error', () => undefined);
    socket.write(text);
    setTimeout(() => socket.destroy(), 1000).unref();
  });
}

describe('the HTTP check answer on the wire', () => {
  it('frames an allow by content-length, not chunked, with the answer headers once', async () => {
    next = { status: 200, headers: { 'x-rolegate-principal': 'p' }, body: '' };
    const out = await exchange('GET /nginx HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n');
    const [head, body] = out.split('\r\n\r\n');
    const lines = (head ?? '').toLowerCase().split('\r\n');
    expect(lines[0]).toBe('http/1.1 200 ok');
    expect(lines).toContain('x-rolegate-principal: p');
    expect(lines).toContain('cache-control: no-store');
    expect(lines).toContain('content-length: 0');
    expect(lines.some((l) => l.startsWith('transfer-encoding'))).toBe(false);
    expect(body).toBe('');
  });

  it('counts a deny body in bytes, and sends one no-store whatever the answer holds', async () => {
    next = {
      status: 403,
      headers: { 'content-type': 'text/plain', 'cache-control': 'public', 'content-length': '1' },
      body: 'refusé',
    };
    const out = await exchange('GET /forward HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n');
    const [head, body] = out.split('\r\n\r\n');
    const lines = (head ?? '').toLowerCase().split('\r\n');
    expect(lines[0]).toBe('http/1.1 403 forbidden');
    expect(lines.filter((l) => l.startsWith('cache-control'))).toEqual(['cache-control: no-store']);
    expect(lines.filter((l) => l.startsWith('content-length'))).toEqual(['content-length: 7']);
    expect(Buffer.from(body ?? '', 'latin1').toString('utf8')).toBe('refusé');
  });

  it('still drains a chunked body and closes the connection once it passes maxBodyBytes', async () => {
    next = { status: 200, headers: {}, body: '' };
    const chunk = 'x'.repeat(4096);
    const out = await exchange(
      'POST /nginx HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n' +
        `1000\r\n${chunk}\r\n`.repeat(4) +
        '0\r\n\r\nGET /nginx HTTP/1.1\r\nhost: a\r\n\r\n',
    );
    // One answer at most, then the server closed: the pipelined request was never read.
    expect(out.match(/HTTP\/1\.1 /g)?.length ?? 0).toBeLessThanOrEqual(1);
  });

  it('answers a request without a body and keeps the connection for the next one', async () => {
    next = { status: 200, headers: {}, body: '' };
    const out = await exchange(
      'GET /nginx HTTP/1.1\r\nhost: a\r\n\r\nGET /nginx HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n',
    );
    expect(out.match(/HTTP\/1\.1 200 /g)?.length).toBe(2);
  });
});
