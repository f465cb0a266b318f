/**
 * The gRPC transport: Envoy's Authorization service plus grpc.health.v1.
 * It only converts messages; every decision comes from `handle`.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { CheckResponse } from './messages.js';
import { decodeCheckRequest, type CheckRequestFields } from './decode-check-request.js';
import { encodeCheckResponse } from './encode-check-response.js';
import { AUTHORIZATION_SERVICE_NAME, loadAuthorizationService } from './protos.js';

export interface GrpcServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /**
   * Decides one CheckRequest; must not throw (the pipeline fails closed
   * itself). `abandoned()` is true once the caller has cancelled the call or
   * its deadline has passed: the answer will not reach it.
   */
  readonly handle: (
    request: CheckRequestFields,
    abandoned: () => boolean,
  ) => Promise<CheckResponse>;
  /** Builds the response for a handler that threw anyway: always a deny. */
  readonly onHandlerError: (err: unknown) => CheckResponse;
}

export interface GrpcServer {
  readonly port: number;
  /** Marks the services SERVING (call once the config is loaded). */
  serving(): void;
  /** Marks the services NOT_SERVING; calls are still answered. */
  notServing(): void;
  /** NOT_SERVING, stop accepting, wait for in-flight calls up to `deadlineMs`, then force. */
  drain(deadlineMs: number): Promise<void>;
}

/**
 * Channel options: keepalive so dead Envoy connections are noticed; bounded
 * messages; channelz off (rolegate serves no channelz service, and its
 * per-call trackers cost closures and a Date per call).
 */
export const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 10_000,
  'grpc.max_receive_message_length': 4 * 1024 * 1024,
  'grpc.max_send_message_length': 1024 * 1024,
  'grpc.max_concurrent_streams': 1000,
  'grpc.enable_channelz': 0,
};

/**
 * True once the caller cancelled the call (Envoy resets the stream when its
 * ext_authz timeout fires) or the deadline it sent (`grpc-timeout`) passed.
 */
function callAbandoned(call: grpc.ServerUnaryCall<CheckRequestFields, CheckResponse>): boolean {
  if (call.cancelled) return true;
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) && Date.now() >= at;
}

/** Starts the server; the health status is NOT_SERVING until `serving()` is called. */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const server = new grpc.Server(SERVER_OPTIONS);
  const health = new HealthImplementation({
    '': 'NOT_SERVING',
    [AUTHORIZATION_SERVICE_NAME]: 'NOT_SERVING',
  });
  health.addToServer(server);
  const service = loadAuthorizationService();
  const generic = service.Check.responseSerialize;
  server.addService(
    {
      ...service,
      Check: {
        ...service.Check,
        // Reads only the fields the pipeline uses (decode-check-request.ts); refusals throw,
        // and grpc-js answers those with an error status, as for any undecodable frame.
        requestDeserialize: decodeCheckRequest,
        // The direct encoder for rolegate's own response shapes; anything else takes the generic path.
        responseSerialize: (response: CheckResponse) =>
          encodeCheckResponse(response) ?? generic(response),
      },
    },
    {
      Check: (
        call: grpc.ServerUnaryCall<CheckRequestFields, CheckResponse>,
        callback: grpc.sendUnaryData<CheckResponse>,
      ) => {
        options
          .handle(call.request, () => callAbandoned(call))
          .then(
            (response) => callback(null, response),
            (err: unknown) => callback(null, options.onHandlerError(err)),
          );
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`,
      grpc.ServerCredentials.createInsecure(),
      (err, bound) => (err ? reject(err) : resolve(bound)),
    );
  });
  const setAll = (status: 'SERVING' | 'NOT_SERVING') => {
    health.setStatus('', status);
    health.setStatus(AUTHORIZATION_SERVICE_NAME, status);
  };
  return {
    port,
    serving: () => setAll('SERVING'),
    notServing: () => setAll('NOT_SERVING'),
    async drain(deadlineMs) {
      setAll('NOT_SERVING');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, deadlineMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
