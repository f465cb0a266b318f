import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import {
  loadPackageDefinition,
  type GrpcObject,
  type ServiceClientConstructor,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';

const require = createRequire(import.meta.url);
const depsDir = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');

/** Include dirs for Envoy's upstream protos as shipped by @grpc/grpc-js-xds. */
export const ENVOY_PROTO_INCLUDE_DIRS = [
  join(depsDir, 'envoy-api'),
  join(depsDir, 'xds'),
  join(depsDir, 'googleapis'),
  join(depsDir, 'protoc-gen-validate'),
];

export const EXT_AUTHZ_PROTO = 'envoy/service/auth/v3/external_auth.proto';

/** Loader options: snake_case fields as on the wire, defaults filled, oneofs named. */
export const EXT_AUTHZ_LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: ENVOY_PROTO_INCLUDE_DIRS,
};

let cached: { service: ServiceDefinition; client: ServiceClientConstructor } | undefined;

/**
 * envoy.service.auth.v3.Authorization from Envoy's own protos: `service` for
 * `server.addService(service, { Check })`, `client` to call a server directly.
 */
export function extAuthzService(): {
  service: ServiceDefinition;
  client: ServiceClientConstructor;
} {
  if (cached !== undefined) return cached;
  const pkg = loadPackageDefinition(loadSync(EXT_AUTHZ_PROTO, EXT_AUTHZ_LOADER_OPTIONS));
  const v3 = ((pkg['envoy'] as GrpcObject)['service'] as GrpcObject)['auth'] as GrpcObject;
  const ctor = (v3['v3'] as GrpcObject)['Authorization'] as ServiceClientConstructor;
  cached = { service: ctor.service, client: ctor };
  return cached;
}
