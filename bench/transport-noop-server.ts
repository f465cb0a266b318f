/**
 * Bench child entry: rolegate's own gRPC transport (src/transport/grpc/
 * server.ts on node:http2, with its direct request decoder) whose handler
 * allows at once. Next to bench/noop-server.ts (the same empty answer from
 * grpc-js) it shows what the transport itself costs per call; it is not
 * part of `npm run bench`:
 *
 *   node dist/bench/lib/gc-sweep.js dist/bench/transport-noop-server.js "--max-semi-space-size=2"
 *
 * Speaks the protocol in bench/lib/README.md.
 */
import type { CheckResponse } from '../src/wire/ext-authz.js';
import { RpcCode } from '../src/wire/ext-authz.js';
import { startGrpcServer } from '../src/transport/grpc/server.js';
import { announceToParent } from './lib/child-protocol.js';

const OK: CheckResponse = { status: { code: RpcCode.OK }, ok_response: {} };

let allow = 0;
const server = await startGrpcServer({
  host: '127.0.0.1',
  port: 0,
  handle: () => {
    allow++;
    return Promise.resolve(OK);
  },
  onHandlerError: () => OK,
});
server.serving();
announceToParent({
  port: server.port,
  counts: () => ({ allow, deny: 0 }),
  shutdown: () => server.drain(100),
});
