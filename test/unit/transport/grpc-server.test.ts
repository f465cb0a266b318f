import { afterEach, describe, expect, it } from '@jest/globals';
import http2 from 'node:http2';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { startGrpcServer, type GrpcServer } from '../../../src/transport/grpc/server.js';
import {
  CHECK_METHOD_PATH,
  encodeCheckRequest,
  loadAuthorizationService,
} from '../../../src/transport/grpc/protos.js';
import { loadAuthorizationClient } from '../../support/authorization-client.js';
import { RpcCode, type CheckResponse } from '../../../src/wire/ext-authz.js';
import { healthStatus } from '../../support/check-client.js';

const DENY: CheckResponse = {
  status: { code: RpcCode.PERMISSION_DENIED },
  denied_response: { status: { code: 'Forbidden' }, body: 'denied' },
};

describe('startGrpcServer', () => {
  let server: GrpcServer | undefined;
  afterEach(async () => {
    await server?.drain(100);
    server = undefined;
  });

  it('reports NOT_SERVING until serving() and again while draining', async () => {
    server = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      handle: async () => DENY,
      onHandlerError: () => DENY,
    });
    expect(await healthStatus(server.port)).toBe('NOT_SERVING');
    expect(await healthStatus(server.port, 'envoy.service.auth.v3.Authorization')).toBe(
      'NOT_SERVING',
    );
    server.serving();
    expect(await healthStatus(server.port)).toBe('SERVING');
  });

  it('turns a handler that throws into a deny, never an RPC error', async () => {
    server = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      handle: async () => {
        throw new Error('boom');
      },
      onHandlerError: () => DENY,
    });
    server.serving();
    const Client = loadAuthorizationClient();
    const client = new Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    const res = await new Promise<unknown>((resolve, reject) =>
      client.Check({}, (err, r) => (err ? reject(err) : resolve(r))),
    );
    client.close();
    expect(res).toMatchObject({
      status: { code: RpcCode.PERMISSION_DENIED },
      denied_response: { body: 'denied' },
    });
  });

  it('turns a handler that throws before returning its promise into a deny, and keeps serving', async () => {
    let calls = 0;
    server = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      handle: () => {
        calls++;
        if (calls === 1) throw new Error('boom');
        return Promise.resolve(DENY);
      },
      onHandlerError: () => DENY,
    });
    server.serving();
    const Client = loadAuthorizationClient();
    const client = new Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    const call = () =>
      new Promise<unknown>((resolve, reject) =>
        client.Check({}, (err, r) => (err ? reject(err) : resolve(r))),
      );
    await expect(call()).resolves.toMatchObject({ status: { code: RpcCode.PERMISSION_DENIED } });
    await expect(call()).resolves.toMatchObject({ status: { code: RpcCode.PERMISSION_DENIED } });
    client.close();
    expect(calls).toBe(2);
  });

  it('finishes in-flight calls when draining', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    server = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      handle: async () => {
        await gate;
        return DENY;
      },
      onHandlerError: () => DENY,
    });
    server.serving();
    const Client = loadAuthorizationClient();
    const client = new Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    const inflight = new Promise<unknown>((resolve, reject) =>
      client.Check({}, (err, r) => (err ? reject(err) : resolve(r))),
    );
    await new Promise((r) => setTimeout(r, 100));
    const drained = server.drain(5000);
    release();
    await expect(inflight).resolves.toMatchObject({ status: { code: RpcCode.PERMISSION_DENIED } });
    await drained;
    client.close();
    server = undefined;
  });

  it('tells the handler when the caller gave up: its deadline passed or it cancelled', async () => {
    const seen: boolean[] = [];
    let answered: () => void = () => undefined;
    const done = new Promise<void>((r) => {
      answered = r;
    });
    server = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      handle: async (_request, abandoned) => {
        seen.push(abandoned());
        // Longer than the caller's deadline below.
        await new Promise((r) => setTimeout(r, 300));
        seen.push(abandoned());
        answered();
        return DENY;
      },
      onHandlerError: () => DENY,
    });
    server.serving();
    const Client = loadAuthorizationClient();
    const client = new Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    const call = new Promise<unknown>((resolve, reject) =>
      client.Check({}, new grpc.Metadata(), { deadline: Date.now() + 100 }, (err, r) =>
        err ? reject(err) : resolve(r),
      ),
    );
    await expect(call).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    await done;
    client.close();
    expect(seen).toEqual([false, true]);
  });
});

/** One call over a plain node:http2 client, so every byte and header is ours to choose. */
interface RawAnswer {
  readonly headers: http2.IncomingHttpHeaders;
  readonly trailers: http2.IncomingHttpHeaders;
  readonly data: Buffer;
}
function rawCall(
  port: number,
  init: {
    path?: string;
    method?: string;
    contentType?: string;
    headers?: Record<string, string>;
    body?: Buffer;
  },
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({
      ':method': init.method ?? 'POST',
      ':path': init.path ?? CHECK_METHOD_PATH,
      'content-type': init.contentType ?? 'application/grpc',
      te: 'trailers',
      ...init.headers,
    });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (headers = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('close', () => {
      session.close();
      resolve({ headers, trailers, data: Buffer.concat(chunks) });
    });
    if (init.method === 'GET') req.end();
    else req.end(init.body ?? Buffer.alloc(0));
  });
}

/** grpc-status of an answer: from the trailers, or from the headers of a trailers-only answer. */
function grpcStatus(a: RawAnswer): number | undefined {
  const value = a.trailers['grpc-status'] ?? a.headers['grpc-status'];
  return value === undefined ? undefined : Number(value);
}

function frame(message: Buffer, flag = 0): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = flag;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

const ALLOW: CheckResponse = { status: { code: RpcCode.OK }, ok_response: {} };

describe('the gRPC transport on the wire', () => {
  let server: GrpcServer | undefined;
  let calls = 0;
  afterEach(async () => {
    await server?.drain(100);
    server = undefined;
  });
  async function start(
    handle: (r: unknown, abandoned: () => boolean) => Promise<CheckResponse> = async () => ALLOW,
  ): Promise<GrpcServer> {
    calls = 0;
    server = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      handle: (r, a) => {
        calls++;
        return handle(r, a);
      },
      onHandlerError: () => DENY,
    });
    server.serving();
    return server;
  }
  const request = () => frame(encodeCheckRequest({}));

  it('answers a call with gRPC headers, one message and grpc-status 0', async () => {
    const { port } = await start();
    const a = await rawCall(port, { body: request() });
    expect(a.headers[':status']).toBe(200);
    expect(a.headers['content-type']).toBe('application/grpc+proto');
    expect(a.headers['date']).toBeUndefined();
    expect(a.trailers['grpc-status']).toBe('0');
    expect(a.data.readUInt32BE(1)).toBe(a.data.length - 5);
    const Service = loadAuthorizationService();
    expect(Service.Check.responseDeserialize(a.data.subarray(5))).toMatchObject({
      status: { code: 0 },
      ok_response: {},
    });
  });

  it.each([
    ['a GET', 405, { method: 'GET' }],
    ['a non-gRPC content type', 415, { contentType: 'application/json' }],
    ['no content type', 415, { contentType: '' }],
  ])('answers %s with HTTP %d and never calls the handler', async (_what, status, init) => {
    const { port } = await start();
    const a = await rawCall(port, { ...init, body: request() });
    expect(a.headers[':status']).toBe(status);
    expect(calls).toBe(0);
  });

  it('accepts application/grpc+proto', async () => {
    const { port } = await start();
    const a = await rawCall(port, { contentType: 'application/grpc+proto', body: request() });
    expect(grpcStatus(a)).toBe(0);
  });

  // Status codes: https://github.com/grpc/grpc/blob/master/doc/statuscodes.md
  it.each([
    ['an unknown method', 12, { path: '/envoy.service.auth.v3.Authorization/Other' }],
    ['an unknown service', 12, { path: '/x.Y/Check' }],
    ['no message', 13, { body: Buffer.alloc(0) }],
    ['a partial prefix', 13, { body: Buffer.from([0, 0, 0]) }],
    ['a truncated message', 13, { body: frame(Buffer.from('abcdef')).subarray(0, 8) }],
    ['two messages', 13, { body: Buffer.concat([frame(Buffer.alloc(0)), frame(Buffer.alloc(0))]) }],
    ['a compressed message', 12, { body: frame(Buffer.from([0x1f, 0x8b]), 1) }],
    ['a bad compressed flag', 13, { body: frame(Buffer.alloc(0), 2) }],
    ['an undecodable message', 13, { body: frame(Buffer.from([0x0a, 0xff])) }],
    ['a malformed grpc-timeout', 13, { headers: { 'grpc-timeout': '1.5S' } }],
  ])('answers %s with grpc-status %d and never calls the handler', async (_what, status, init) => {
    const { port } = await start();
    const a = await rawCall(port, { body: request(), ...init });
    expect(grpcStatus(a)).toBe(status);
    expect(a.headers[':status']).toBe(200);
    expect(calls).toBe(0);
  });

  it('refuses a message over 4 MiB from its prefix, RESOURCE_EXHAUSTED', async () => {
    const { port } = await start();
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(4 * 1024 * 1024 + 1, 1);
    const a = await rawCall(port, { body: Buffer.concat([prefix, Buffer.alloc(1024)]) });
    expect(grpcStatus(a)).toBe(8);
    expect(calls).toBe(0);
  });

  it('answers DEADLINE_EXCEEDED when the decision comes after grpc-timeout', async () => {
    const seen: boolean[] = [];
    const { port } = await start(async (_r, abandoned) => {
      seen.push(abandoned());
      await new Promise((r) => setTimeout(r, 150));
      seen.push(abandoned());
      return ALLOW;
    });
    const a = await rawCall(port, { body: request(), headers: { 'grpc-timeout': '50m' } });
    expect(grpcStatus(a)).toBe(4);
    expect(a.data.length).toBe(0);
    expect(seen).toEqual([false, true]);
  });

  it('tells the handler when the caller reset the stream, and survives the reset', async () => {
    let seen: boolean | undefined;
    let decided: () => void = () => undefined;
    const done = new Promise<void>((r) => (decided = r));
    const { port } = await start(async (_r, abandoned) => {
      await new Promise((r) => setTimeout(r, 150));
      seen = abandoned();
      decided();
      return ALLOW;
    });
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const req = session.request({
      ':method': 'POST',
      ':path': CHECK_METHOD_PATH,
      'content-type': 'application/grpc',
    });
    req.on('error', () => undefined);
    req.end(request());
    await new Promise((r) => setTimeout(r, 50));
    req.close(http2.constants.NGHTTP2_CANCEL);
    await done;
    session.close();
    expect(seen).toBe(true);
    expect(grpcStatus(await rawCall(port, { body: request() }))).toBe(0);
  });

  it('serves grpc.health.v1 Check, List and Watch through grpc-health-check', async () => {
    const s = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      handle: async () => ALLOW,
      onHandlerError: () => DENY,
    });
    server = s;
    expect(
      await healthStatus(s.port, 'no.such.Service').catch((e: { code: number }) => e.code),
    ).toBe(grpc.status.NOT_FOUND);
    const list = await rawCall(s.port, {
      path: '/grpc.health.v1.Health/List',
      body: frame(Buffer.alloc(0)),
    });
    expect(grpcStatus(list)).toBe(0);
    expect(healthService.List!.responseDeserialize(list.data.subarray(5))).toEqual({
      statuses: {
        '': { status: 'NOT_SERVING' },
        'envoy.service.auth.v3.Authorization': { status: 'NOT_SERVING' },
      },
    });

    const Health = grpc.makeGenericClientConstructor(healthService, 'grpc.health.v1.Health');
    const client = new Health(`127.0.0.1:${s.port}`, grpc.credentials.createInsecure());
    const watch = (
      client as unknown as { Watch(req: object): grpc.ClientReadableStream<{ status: string }> }
    ).Watch({
      service: '',
    });
    const statuses: string[] = [];
    const ended = new Promise<number>((resolve) => {
      watch.on('data', (m: { status: string }) => {
        statuses.push(m.status);
        if (statuses.length === 1) s.serving();
        if (statuses.length === 2) void s.drain(1000).then(() => (server = undefined));
      });
      watch.on('error', (e: grpc.ServiceError) => resolve(e.code));
    });
    expect(await ended).toBe(grpc.status.UNAVAILABLE);
    client.close();
    expect(statuses).toEqual(['NOT_SERVING', 'SERVING', 'NOT_SERVING']);
  });

  it('sends GOAWAY on drain: open connections finish, new calls are refused', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const s = await start(async () => {
      await gate;
      return ALLOW;
    });
    const inflight = rawCall(s.port, { body: request() });
    await new Promise((r) => setTimeout(r, 100));
    const drained = s.drain(5000);
    await new Promise((r) => setTimeout(r, 50));
    await expect(rawCall(s.port, { body: request() })).rejects.toThrow();
    release();
    expect(grpcStatus(await inflight)).toBe(0);
    await drained;
    server = undefined;
  });
});

describe('keepalive', () => {
  /** A bare HTTP/2 client: the connection preface and SETTINGS, then silence (no PING ack). */
  function silentClient(port: number): Promise<{ pingSeen: boolean; closedAfterMs: number }> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      let pingSeen = false;
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
        socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
      });
      let buffered = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 9) {
          const length = buffered.readUIntBE(0, 3);
          if (buffered.length < 9 + length) break;
          const type = buffered[3];
          const flags = buffered[4] ?? 0;
          if (type === 6 && (flags & 1) === 0) pingSeen = true;
          buffered = buffered.subarray(9 + length);
        }
      });
      socket.on('error', reject);
      socket.on('close', () => resolve({ pingSeen, closedAfterMs: Date.now() - started }));
    });
  }

  it('pings every connection and closes one that does not answer', async () => {
    const s = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      handle: async () => DENY,
      onHandlerError: () => DENY,
      keepalive: { timeMs: 200, timeoutMs: 200 },
    });
    try {
      const silent = await silentClient(s.port);
      expect(silent.pingSeen).toBe(true);
      expect(silent.closedAfterMs).toBeGreaterThanOrEqual(350);
      // A client that answers pings stays connected over several intervals.
      const session = http2.connect(`http://127.0.0.1:${s.port}`);
      let closed = false;
      session.on('close', () => (closed = true));
      session.on('error', () => undefined);
      await new Promise((r) => setTimeout(r, 1000));
      expect(closed).toBe(false);
      session.close();
    } finally {
      await s.drain(100);
    }
  });
});

describe('request bytes in flight', () => {
  it('refuses a call when the calls being read hold the budget, and gets the bytes back on a reset', async () => {
    const s = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      handle: async () => ALLOW,
      onHandlerError: () => DENY,
      maxBufferedRequestBytes: 1000,
    });
    try {
      s.serving();
      const session = http2.connect(`http://127.0.0.1:${s.port}`);
      session.on('error', () => undefined);
      // A: declares 900 bytes, sends 600 of them, then waits.
      const a = session.request({
        ':method': 'POST',
        ':path': CHECK_METHOD_PATH,
        'content-type': 'application/grpc',
      });
      a.on('error', () => undefined);
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(900, 1);
      a.write(Buffer.concat([prefix, Buffer.alloc(595)]));
      await new Promise((r) => setTimeout(r, 150));
      const big = frame(
        encodeCheckRequest({
          attributes: { request: { http: { headers: { x: 'a'.repeat(480) } } } },
        }),
      );
      expect(big.length).toBeGreaterThan(400);
      expect(grpcStatus(await rawCall(s.port, { body: big }))).toBe(8);
      a.close(http2.constants.NGHTTP2_CANCEL);
      await new Promise((r) => setTimeout(r, 150));
      expect(grpcStatus(await rawCall(s.port, { body: big }))).toBe(0);
      session.close();
    } finally {
      await s.drain(100);
    }
  });
});
