/**
 * Bench child entry: a grpc-js server with rolegate's ext_authz protos whose
 * Check allows immediately. It pays the same framing and protobuf
 * decode/encode as rolegate, nothing else: the "(a)" side of bench/grpc.ts.
 * Speaks the protocol in bench/lib/README.md.
 */
import * as grpc from '@grpc/grpc-js';

import type { CheckRequest, CheckResponse } from '../src/wire/ext-authz.js';
import { RpcCode } from '../src/wire/ext-authz.js';
import { grpcJsAuthorizationService } from '../test/support/authorization-client.js';
import { announceToParent } from './lib/child-protocol.js';

const OK: CheckResponse = { status: { code: RpcCode.OK }, ok_response: {} };

let allow = 0;
const server = new grpc.Server();
server.addService(grpcJsAuthorizationService(), {
  Check: (
    _call: grpc.ServerUnaryCall<CheckRequest, CheckResponse>,
    callback: grpc.sendUnaryData<CheckResponse>,
  ) => {
    allow++;
    callback(null, OK);
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error('noop-server: bind failed:', err);
    process.exit(1);
  }
  announceToParent({
    port,
    counts: () => ({ allow, deny: 0 }),
    shutdown: () => server.forceShutdown(),
  });
});
