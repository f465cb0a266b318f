/**
 * Loads rolegate's own Envoy ext_authz v3 protos (see proto/README.md) with
 * @grpc/proto-loader.
 *
 * Loader options, and why:
 * - keepCase: true — decoded objects use the .proto field names (snake_case:
 *   `context_extensions`, `header_map`, `raw_value`, `append_action`), i.e. the
 *   names in Envoy's docs and its JSON/YAML config, so nothing has to be
 *   translated in one's head. The same names are required when encoding a
 *   response (src/wire/ext-authz.ts types both directions).
 * - longs: String — int64 fields (`size`, Timestamp `seconds`) decode to
 *   decimal strings; no `long` objects leak into the code.
 * - enums: String — enums decode to their names ('OVERWRITE_IF_EXISTS_OR_ADD',
 *   'Forbidden'); encoding accepts names or numbers.
 * - defaults: true — absent scalars/repeated/maps decode to '', 0, [], {};
 *   absent sub-messages decode to null.
 * - oneofs: true — a virtual property names the member that is set
 *   (e.g. CheckResponse.http_response === 'ok_response').
 * - bytes stay Buffers (proto-loader's default).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as protoLoader from '@grpc/proto-loader';

import type { CheckRequest, CheckRequestInit, CheckResponse } from '../../wire/ext-authz.js';

export const PROTO_LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
} as const satisfies protoLoader.Options;

/** Fully qualified name of the service Envoy calls. */
export const AUTHORIZATION_SERVICE_NAME = 'envoy.service.auth.v3.Authorization';
/** HTTP/2 :path of the Check RPC. */
export const CHECK_METHOD_PATH = `/${AUTHORIZATION_SERVICE_NAME}/Check`;
/** Entry .proto file, relative to the proto directory. */
export const EXTERNAL_AUTH_PROTO = 'envoy/service/auth/v3/external_auth.proto';

const PACKAGE_NAME = 'rolegate';

let cachedRoot: string | undefined;

/**
 * Directory holding this package's package.json (name "rolegate"), found by
 * walking up from this module: works from src/ (jest, tsx) and dist/src/.
 */
export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    let name: unknown;
    try {
      name = (JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown }).name;
    } catch {
      name = undefined;
    }
    if (name === PACKAGE_NAME) {
      cachedRoot = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`protos: no package.json named "${PACKAGE_NAME}" above ${import.meta.url}`);
    }
    dir = parent;
  }
}

/** Absolute path of the proto/ directory shipped with the package. */
export function protoDir(): string {
  return join(packageRoot(), 'proto');
}

let cachedPackage: protoLoader.PackageDefinition | undefined;

/** The loaded package definition (parsed once, then cached). */
export function loadPackageDefinition(): protoLoader.PackageDefinition {
  cachedPackage ??= protoLoader.loadSync(EXTERNAL_AUTH_PROTO, {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [protoDir()],
  });
  return cachedPackage;
}

/** Method definitions of the Authorization service, typed with our messages. */
export interface AuthorizationServiceDefinition {
  readonly Check: protoLoader.MethodDefinition<CheckRequest, CheckResponse>;
}

/** The Authorization service's definition: its path and the generic (protobufjs) codecs. */
export function loadAuthorizationService(): AuthorizationServiceDefinition {
  const def = loadPackageDefinition()[AUTHORIZATION_SERVICE_NAME];
  if (def === undefined || !('Check' in def)) {
    throw new Error(`protos: ${AUTHORIZATION_SERVICE_NAME} not found in ${EXTERNAL_AUTH_PROTO}`);
  }
  return def as unknown as AuthorizationServiceDefinition;
}

/** Protobuf bytes of a CheckRequest (no gRPC framing), as a client would send. */
export function encodeCheckRequest(request: CheckRequestInit): Buffer {
  return loadAuthorizationService().Check.requestSerialize(request as CheckRequest);
}
