/**
 * The CheckRequest the bench sends, shaped like what Envoy's ext_authz
 * filter sends for a typical API call, and its gRPC framing.
 */
import type { CheckRequestInit } from '../../src/wire/ext-authz.js';
import { encodeCheckRequest } from '../../src/transport/grpc/protos.js';

export interface BenchRequestOverrides {
  readonly headers?: Readonly<Record<string, string>>;
  readonly path?: string;
  readonly method?: string;
}

/** A realistic request; `overrides` (from the server child) win. */
export function benchCheckRequest(overrides: BenchRequestOverrides = {}): CheckRequestInit {
  const method = overrides.method ?? 'GET';
  const path = overrides.path ?? '/orders/42?expand=items';
  const host = 'api.example.com';
  const headers: Record<string, string> = {
    ':authority': host,
    ':method': method,
    ':path': path,
    ':scheme': 'https',
    accept: 'application/json',
    'user-agent': 'curl/8.5.0',
    'x-forwarded-proto': 'https',
    'x-request-id': '4f2c1d7e-8a9b-4c3d-9e0f-1a2b3c4d5e6f',
    'x-envoy-expected-rq-timeout-ms': '15000',
    ...overrides.headers,
  };
  return {
    attributes: {
      source: {
        address: { socket_address: { address: '10.0.3.17', port_value: 53412 } },
      },
      destination: {
        address: { socket_address: { address: '10.0.1.5', port_value: 8080 } },
      },
      request: {
        time: { seconds: String(Math.floor(Date.now() / 1000)), nanos: 0 },
        http: {
          id: '4f2c1d7e-8a9b-4c3d-9e0f-1a2b3c4d5e6f',
          method,
          headers,
          path,
          host,
          scheme: 'https',
          protocol: 'HTTP/1.1',
          size: '0',
        },
      },
      context_extensions: { route: 'orders' },
    },
  };
}

/** Protobuf-encode with our protos and add the 5-byte gRPC message prefix. */
export function grpcFrame(request: CheckRequestInit): Buffer {
  const message = encodeCheckRequest(request);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(0, 0); // not compressed
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}
