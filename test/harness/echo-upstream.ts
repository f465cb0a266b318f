import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

import { closeNow, listenLoopback } from './http-server.js';
import { joinUrl, type Peer } from './peer.js';

/** One request as the echo upstream received it. */
export interface EchoedRequest {
  method: string;
  /** Path with query string, as sent on the request line. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * The protected API behind Envoy: answers every request with 200 and JSON
 * `{ method, path, headers }` of what it received, and records each request.
 */
export class EchoUpstream implements Peer {
  readonly requests: EchoedRequest[] = [];
  private server: Server | undefined;
  private boundPort = 0;

  constructor(private readonly options: { port?: number } = {}) {}

  async start(): Promise<void> {
    if (this.server !== undefined) return;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const seen: EchoedRequest = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        this.requests.push(seen);
        const payload = JSON.stringify({
          method: seen.method,
          path: seen.path,
          headers: seen.headers,
        });
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        });
        res.end(payload);
      });
    });
    server.keepAliveTimeout = 60_000;
    this.boundPort = await listenLoopback(server, this.options.port ?? 0);
    this.server = server;
  }

  get port(): number {
    if (this.server === undefined) throw new Error('EchoUpstream: not started');
    return this.boundPort;
  }

  url(path = '/'): string {
    return joinUrl(`http://127.0.0.1:${this.port}`, path);
  }

  /** Requests whose path starts with `prefix`. */
  requestsTo(prefix: string): EchoedRequest[] {
    return this.requests.filter((r) => r.path.startsWith(prefix));
  }

  clear(): void {
    this.requests.length = 0;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    await closeNow(server);
  }
}
