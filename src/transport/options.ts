/**
 * The transport's options: the `server` section (listeners and shutdown).
 * Each default is written once, in the schema. `ROLEGATE_LISTEN_HOST`
 * replaces the host of both listeners (see `src/config/listen-host.ts`).
 */
import type { z } from 'zod';
import { parseCidr } from '../policy/address.js';
import {
  always,
  bool,
  fields,
  int,
  problem,
  section,
  stringList,
  text,
} from '../options/fields.js';

const listen = (host: string, port: number) =>
  fields({
    host: text().default(host),
    port: int(0, 65_535).default(port),
  }).prefault({});

/** A CIDR (`10.0.0.0/8`, `::1/128`) or a bare address (one host), read as policies read them. */
function isCidr(text: string): boolean {
  return parseCidr(text) !== undefined;
}

const HEADER = /^[a-z0-9-]+$/;
const headerName = (fallback: string) =>
  text()
    .transform((s) => s.toLowerCase())
    .refine((s) => HEADER.test(s), { error: 'header names are letters, digits and -' })
    .default(fallback);

/**
 * `server.http`: the HTTP check endpoint for nginx `auth_request`,
 * forward-auth proxies (Traefik, Caddy) and Envoy's `http_service` mode.
 * Off by default.
 */
export const httpCheckSchema = fields({
  enabled: bool().default(false).describe('Serve the HTTP check endpoint. Default false.'),
  host: text().default('127.0.0.1'),
  port: int(0, 65_535).default(9003),
  trustedProxies: stringList()
    .superRefine((list, ctx) => {
      (Array.isArray(list) ? list : []).forEach((c: unknown, i) => {
        if (typeof c === 'string' && !isCidr(c)) problem(ctx, [i], 'must be an IP address or CIDR');
      });
    }, always)
    .default([])
    .describe(
      'Peers (CIDRs) believed for X-Forwarded-For (the right-most entry none of them holds is the client) and X-Forwarded-Proto. X-Real-IP and Forwarded are never read. Default none: the client is the TCP peer and the request is plain HTTP.',
    ),
  originalMethodHeader: headerName('x-original-method').describe(
    'nginx auth_request: header carrying the original method. Default x-original-method.',
  ),
  originalUriHeader: headerName('x-original-uri').describe(
    'nginx auth_request: header carrying the original request URI ($request_uri). Default x-original-uri.',
  ),
  originalHostHeader: headerName('x-original-host').describe(
    'nginx auth_request: header carrying the original host; Host is used when absent. Default x-original-host.',
  ),
  nginxAuthLocation: text()
    .refine((s) => /^\/[\x21-\x7e]*$/.test(s), { error: 'a path like /_rolegate' })
    .default('/_rolegate')
    .describe(
      'nginx: the location auth_request names. An original URI equal to it is refused (ERR_REQUEST_ORIGINAL_IS_CHECK): the config sends $uri, not $request_uri. Default /_rolegate.',
    ),
  envoyPrefix: text()
    .refine((s) => /^\/[a-z0-9/_-]*[a-z0-9_-]$/.test(s), {
      error: 'a path like /envoy (no trailing /)',
    })
    .default('/envoy')
    .describe(
      'Envoy http_service: the path_prefix configured in Envoy; the original path follows it. Default /envoy.',
    ),
  maxBodyBytes: int(0, 1_048_576)
    .default(8192)
    .describe('Request bodies are ignored; a larger one closes the connection. Default 8192.'),
  maxHeaderBytes: int(1024, 1_048_576)
    .default(16_384)
    .describe('Largest request head (all headers). Default 16384.'),
  maxHeaders: int(1, 1000).default(100).describe('Most request headers. Default 100.'),
  requestTimeoutMs: int(100, 600_000)
    .default(5000)
    .describe(
      'Time to receive a whole request, head included; a slower client is cut within a quarter of it (at most 1 s) after. Default 5000.',
    ),
  maxConnections: int(1, 1_000_000)
    .default(4096)
    .describe('Most open connections; more are closed at accept. Default 4096.'),
  keepAliveTimeoutMs: int(0, 600_000)
    .default(60_000)
    .describe('Idle keep-alive connection lifetime. Default 60000.'),
})
  .prefault({})
  .describe('HTTP check listener (nginx auth_request, forward-auth, Envoy http_service).');

/** `server.http` options; defaults in {@link httpCheckSchema}. */
export type HttpCheckConfig = z.output<typeof httpCheckSchema>;

/** The `server` section. */
export const serverSchema = section({
  grpc: listen('127.0.0.1', 9001).describe('gRPC ext_authz listener.'),
  admin: listen('127.0.0.1', 9002).describe('Admin HTTP listener (/healthz, /readyz, /metrics).'),
  http: httpCheckSchema,
  drainSeconds: int(0, 300).default(10).describe('Seconds to drain in-flight calls on SIGTERM.'),
  shutdownDelaySeconds: int(0, 300)
    .default(3)
    .describe(
      "Seconds between turning health NOT_SERVING and refusing new calls on SIGTERM, while Checks are still answered, so Envoy's health checker moves traffic away first.",
    ),
  workers: int(1, 256)
    .optional()
    .describe(
      '`rolegate serve` worker processes sharing the gRPC and HTTP check listeners (docs/workers.md). Default: the CPUs the process may use (affinity and cgroup quota); 1 = one process, no cluster. ROLEGATE_WORKERS overrides.',
    ),
});

/** `server` options; defaults in {@link serverSchema}. */
export type ServerConfig = z.output<typeof serverSchema>;

/** One listener (`server.grpc`, `server.admin`). */
export type ListenConfig = ServerConfig['grpc'];
