import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type {
  CheckRequest,
  CheckResponse,
  DecodedCheckResponse,
} from '../../../src/wire/ext-authz.js';
import { RpcCode } from '../../../src/wire/ext-authz.js';
import {
  loadAuthorizationClient,
  grpcJsAuthorizationService,
  type AuthorizationClient,
} from '../../support/authorization-client.js';
import { loadPackageDefinition, packageRoot } from '../../../src/transport/grpc/protos.js';

describe('protos', () => {
  it('finds the rolegate package root', () => {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
      name: string;
    };
    expect(pkg.name).toBe('rolegate');
  });

  it('caches the package definition', () => {
    expect(loadPackageDefinition()).toBe(loadPackageDefinition());
  });
});

describe('grpc-js round trip through our service definition', () => {
  const server = new grpc.Server();
  let client: AuthorizationClient;
  const seen: CheckRequest[] = [];

  beforeAll(async () => {
    server.addService(grpcJsAuthorizationService(), {
      Check: (
        call: grpc.ServerUnaryCall<CheckRequest, CheckResponse>,
        callback: grpc.sendUnaryData<CheckResponse>,
      ) => {
        seen.push(call.request);
        const auth = call.request.attributes?.request?.http?.headers['authorization'];
        if (auth === 'Bearer good') {
          callback(null, {
            status: { code: RpcCode.OK },
            ok_response: {
              headers: [
                {
                  header: { key: 'x-user', value: 'u1' },
                  append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
                },
              ],
              headers_to_remove: ['authorization'],
            },
            dynamic_metadata: { fields: { user: { stringValue: 'u1' } } },
          });
        } else {
          callback(null, {
            status: { code: RpcCode.UNAUTHENTICATED, message: 'no token' },
            denied_response: { status: { code: 'Unauthorized' }, body: 'unauthorized' },
          });
        }
      },
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      );
    });
    const Client = loadAuthorizationClient();
    client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  const check = (headers: Record<string, string>): Promise<DecodedCheckResponse | undefined> =>
    new Promise((resolve, reject) => {
      client.Check(
        { attributes: { request: { http: { method: 'GET', path: '/a?b=c', headers } } } },
        (err, res) => (err ? reject(err) : resolve(res)),
      );
    });

  it('allows with headers and dynamic metadata', async () => {
    const res = await check({ authorization: 'Bearer good' });
    expect(res?.status?.code).toBe(0);
    expect(res?.http_response).toBe('ok_response');
    expect(res?.ok_response?.headers[0]?.header?.key).toBe('x-user');
    expect(res?.ok_response?.headers[0]?.append_action).toBe('OVERWRITE_IF_EXISTS_OR_ADD');
    expect(res?.ok_response?.headers_to_remove).toEqual(['authorization']);
    expect(res?.dynamic_metadata?.fields['user']).toEqual({
      kind: 'stringValue',
      stringValue: 'u1',
    });
    expect(seen.at(-1)?.attributes?.request?.http?.path).toBe('/a?b=c');
  });

  it('denies with an HTTP status name', async () => {
    const res = await check({});
    expect(res?.status).toEqual({ code: 16, message: 'no token', details: [] });
    expect(res?.http_response).toBe('denied_response');
    expect(res?.denied_response?.status?.code).toBe('Unauthorized');
    expect(res?.denied_response?.body).toBe('unauthorized');
  });
});
