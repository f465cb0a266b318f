import { afterEach, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { startGrpcServer, type GrpcServer } from '../../../src/transport/grpc/server.js';
import { loadAuthorizationClient } from '../../../src/transport/grpc/protos.js';
import { RpcCode, type CheckResponse } from '../../../src/transport/grpc/messages.js';
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
