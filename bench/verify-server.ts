/**
 * Bench child entry, the baseline for "fresh token on every call": a
 * grpc-js server with rolegate's protos that only takes the bearer token
 * out of the CheckRequest and verifies its ES256 signature and claims with
 * jose, nothing else. Speaks the protocol in bench/lib/child-protocol.ts.
 */
import * as grpc from '@grpc/grpc-js';
import { generateKeyPair, jwtVerify, SignJWT } from 'jose';
import type { CheckRequest, CheckResponse } from '../src/wire/ext-authz.js';
import { RpcCode } from '../src/wire/ext-authz.js';
import { grpcJsAuthorizationService } from '../test/support/authorization-client.js';
import { announceToParent } from './lib/child-protocol.js';

const ISSUER = 'https://bench.issuer';
const { publicKey, privateKey } = await generateKeyPair('ES256');
const OK: CheckResponse = { status: { code: RpcCode.OK }, ok_response: {} };
const DENY: CheckResponse = {
  status: { code: RpcCode.UNAUTHENTICATED },
  denied_response: { status: { code: 'Unauthorized' } },
};

let allow = 0;
let deny = 0;
const server = new grpc.Server();
server.addService(grpcJsAuthorizationService(), {
  Check: (
    call: grpc.ServerUnaryCall<CheckRequest, CheckResponse>,
    callback: grpc.sendUnaryData<CheckResponse>,
  ) => {
    const header = call.request.attributes?.request?.http?.headers['authorization'] ?? '';
    jwtVerify(header.slice('Bearer '.length), publicKey, {
      issuer: ISSUER,
      audience: 'bench-api',
    }).then(
      () => {
        allow++;
        callback(null, OK);
      },
      () => {
        deny++;
        callback(null, DENY);
      },
    );
  },
});

const token = await new SignJWT({ groups: ['inventory-team'], email: 'bench@example.com' })
  .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
  .setIssuer(ISSUER)
  .setAudience('bench-api')
  .setSubject('bench-user')
  .setIssuedAt()
  .setExpirationTime('2h')
  .sign(privateKey);

server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error('verify-server: bind failed:', err);
    process.exit(1);
  }
  announceToParent({
    port,
    counts: () => ({ allow, deny }),
    headers: { authorization: `Bearer ${token}` },
    path: '/inventory/42',
    method: 'GET',
    shutdown: () => server.forceShutdown(),
  });
});
