/**
 * Envoy's full upstream ext_authz definitions (shipped by
 * @grpc/grpc-js-xds under deps/), loaded with protobufjs, for the tests
 * that prove our wire compatibility.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { packageRoot } from '../../src/transport/grpc/protos.js';

const DEPS = join(packageRoot(), 'node_modules', '@grpc', 'grpc-js-xds', 'deps');
export const UPSTREAM_INCLUDE_DIRS = [
  join(DEPS, 'envoy-api'),
  join(DEPS, 'xds'),
  join(DEPS, 'googleapis'),
  join(DEPS, 'protoc-gen-validate'),
];

/** toObject options equivalent to our proto-loader options. */
export const TO_OBJECT: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
  arrays: true,
  objects: true,
};

export function loadRoot(includeDirs: readonly string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string => {
    for (const dir of includeDirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    // google/protobuf/* are bundled with protobufjs and resolved by name.
    return target;
  };
  root.loadSync('envoy/service/auth/v3/external_auth.proto', { keepCase: true });
  root.resolveAll();
  return root;
}
