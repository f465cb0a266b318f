/**
 * One setting for the host both listeners bind: `ROLEGATE_LISTEN_HOST`
 * overrides the host part of `server.grpc`, `server.admin` and
 * `access.listen`, so a
 * container or Kubernetes pod binds `0.0.0.0` (or `::`) with one variable
 * while the file keeps its loopback default.
 */
import { isIP } from 'node:net';
import type { RolegateConfig } from './schema.js';

/** The environment variable naming the listen host of both servers. */
export const LISTEN_HOST_ENV = 'ROLEGATE_LISTEN_HOST';

/**
 * The host `ROLEGATE_LISTEN_HOST` asks for: `undefined` when unset or
 * blank (the config's hosts stay, default `127.0.0.1`); the value when it
 * is an IPv4 or IPv6 literal (brackets around IPv6 are removed); a string
 * `problem` otherwise (host names are refused: they may resolve to several
 * addresses or to none).
 */
export function listenHostFromEnv(env: Readonly<Record<string, string | undefined>>): {
  host?: string;
  problem?: string;
} {
  const raw = env['ROLEGATE_LISTEN_HOST']?.trim();
  if (raw === undefined || raw === '') return {};
  const host = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  if (isIP(host) === 0) {
    return {
      problem: `${LISTEN_HOST_ENV}=${JSON.stringify(raw)} is not an IP address; use an IPv4 or IPv6 literal such as 0.0.0.0, 127.0.0.1 or ::`,
    };
  }
  return { host };
}

/** `config` with every listener (gRPC, admin, HTTP check, access API) bound to `host` (ports unchanged). */
export function withListenHost(config: RolegateConfig, host: string): RolegateConfig {
  const { grpc, admin, http } = config.server;
  return {
    ...config,
    server: {
      ...config.server,
      grpc: { ...grpc, host },
      admin: { ...admin, host },
      http: { ...http, host },
    },
    access: { ...config.access, listen: { ...config.access.listen, host } },
  };
}
