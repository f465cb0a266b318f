/**
 * The admin HTTP server: /healthz (alive), /readyz (config loaded, not
 * draining), /metrics, and /config (the running config, redacted; only
 * here, never on the check or access listeners).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface AdminOptions {
  readonly host: string;
  readonly port: number;
  /** What /metrics serves: a registry, or a cluster's aggregate of several. */
  readonly registry: Pick<Registry, 'metrics' | 'contentType'>;
  /** True once a config is loaded and until draining starts. */
  readonly ready: () => boolean;
  /**
   * What GET /config serves as JSON: the running config, already redacted
   * by the caller (serve/config-dump.ts). Default: no /config (404).
   */
  readonly config?: () => unknown;
  /** Lines /readyz adds after `ready` or `not ready` (such as who reads IAM). Default: none. */
  readonly readyDetail?: () => readonly string[];
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Bounds for a listener only probes and scrapers call: a client that
 * trickles its head is cut after 10 s (checked every second), and at most
 * 256 connections are open.
 */
const ADMIN_LIMITS = {
  headersTimeout: 10_000,
  requestTimeout: 10_000,
  connectionsCheckingInterval: 1000,
  maxConnections: 256,
} as const;

/**
 * /config: JSON that no cache keeps (`cache-control: no-store`). A dump that
 * throws is a bare 500: its error is not echoed.
 */
function sendConfig(res: ServerResponse, dump: () => unknown): void {
  let body: string;
  try {
    body = `${JSON.stringify(dump(), null, 2)}\n`;
  } catch {
    res.writeHead(500, { 'cache-control': 'no-store' }).end();
    return;
  }
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}

/** Starts the admin listener (/healthz, /readyz, /metrics, /config) with {@link ADMIN_LIMITS}. */
export async function startAdminServer(options: AdminOptions): Promise<AdminServer> {
  const { maxConnections, ...timeouts } = ADMIN_LIMITS;
  const server: Server = createServer(timeouts, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ready = options.ready();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
      const detail = options.readyDetail?.() ?? [];
      res.end([ready ? 'ready' : 'not ready', ...detail].map((l) => `${l}\n`).join(''));
    } else if (path === '/config' && options.config !== undefined) {
      sendConfig(res, options.config);
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  server.maxConnections = maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
