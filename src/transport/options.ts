/**
 * The transport's options: the `server` section (listeners and shutdown).
 * Each default is written once, in the schema. `ROLEGATE_LISTEN_HOST`
 * replaces the host of both listeners (see `src/config/listen-host.ts`).
 */
import type { z } from 'zod';
import { fields, int, section, text } from '../options/fields.js';

const listen = (host: string, port: number) =>
  fields({
    host: text().default(host),
    port: int(0, 65_535).default(port),
  }).prefault({});

/** The `server` section. */
export const serverSchema = section({
  grpc: listen('127.0.0.1', 9001).describe('gRPC ext_authz listener.'),
  admin: listen('127.0.0.1', 9002).describe('Admin HTTP listener (/healthz, /readyz, /metrics).'),
  drainSeconds: int(0, 300).default(10).describe('Seconds to drain in-flight calls on SIGTERM.'),
  shutdownDelaySeconds: int(0, 300)
    .default(3)
    .describe(
      "Seconds between turning health NOT_SERVING and refusing new calls on SIGTERM, while Checks are still answered, so Envoy's health checker moves traffic away first.",
    ),
});

/** `server` options; defaults in {@link serverSchema}. */
export type ServerConfig = z.output<typeof serverSchema>;

/** One listener (`server.grpc`, `server.admin`). */
export type ListenConfig = ServerConfig['grpc'];
