/**
 * A grpc-js client for rolegate's Authorization service, for tests and
 * benchmarks: an independent gRPC implementation talking to the server.
 * Outbound it serializes a CheckRequest (the shape the server decodes);
 * inbound it decodes the CheckResponse with the protos' loader options.
 */
import * as grpc from '@grpc/grpc-js';
import type { CheckRequestInit, DecodedCheckResponse } from '../../src/wire/ext-authz.js';
import {
  AUTHORIZATION_SERVICE_NAME,
  loadAuthorizationService,
} from '../../src/transport/grpc/protos.js';

export interface AuthorizationClient extends grpc.Client {
  Check(
    request: CheckRequestInit,
    callback: (error: grpc.ServiceError | null, response?: DecodedCheckResponse) => void,
  ): grpc.ClientUnaryCall;
  Check(
    request: CheckRequestInit,
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: (error: grpc.ServiceError | null, response?: DecodedCheckResponse) => void,
  ): grpc.ClientUnaryCall;
}

export type AuthorizationClientConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => AuthorizationClient;

/** Client constructor: `new (loadAuthorizationClient())(addr, creds)`. */
export function loadAuthorizationClient(): AuthorizationClientConstructor {
  return grpc.makeClientConstructor(
    grpcJsAuthorizationService(),
    AUTHORIZATION_SERVICE_NAME,
  ) as unknown as AuthorizationClientConstructor;
}

/** The Authorization service as grpc-js's `Server#addService` takes it (the benches' baseline servers). */
export function grpcJsAuthorizationService(): grpc.ServiceDefinition {
  return loadAuthorizationService() as unknown as grpc.ServiceDefinition;
}
