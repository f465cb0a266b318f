/**
 * The HTTP check listener (`server.http`): nginx `auth_request` at
 * `/nginx`, forward-auth proxies (Traefik, Caddy) at `/forward`, Envoy
 * `http_service` under `server.http.envoyPrefix` (default `/envoy`). Each
 * call is turned into the canonical request by `httpCheckRequest` and
 * decided by the same pipeline as gRPC. Bodies are never read (drained up to
 * `maxBodyBytes`, else the connection is closed); head size, header count,
 * request time (head included, enforced within {@link slowClientSweepMs})
 * and open connections are bounded; any failure answers 403 (fail closed).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FrontDoor, HttpCheckAnswer, HttpCheckCall } from '../../wire/http-check.js';
import type { HttpCheckConfig } from '../options.js';

/** What the HTTP check server needs; `options` is read per request (hot reload). */
export interface HttpCheckServerOptions {
  /** Listen host (`server.http.host`, default `127.0.0.1`). */
  readonly host: string;
  /** Listen port (`server.http.port`, default 9003; 0 = any free port). */
  readonly port: number;
  /** The current `server.http` options (limits are read at start, the rest per request). */
  readonly options: () => HttpCheckConfig;
  /**
   * Decides one call (`createHttpCheckHandler` in `src/check`). `abandoned()`
   * is true once the caller's connection is gone (nginx or the proxy gave
   * up): the answer will not reach it.
   */
  readonly handle: (
    door: FrontDoor,
    call: HttpCheckCall,
    options: HttpCheckConfig,
    abandoned: () => boolean,
  ) => Promise<HttpCheckAnswer>;
  /** Called when a check throws; returns the fail-closed deny to send. */
  readonly onError: (err: unknown) => HttpCheckAnswer;
}

/** A running HTTP check listener. */
export interface HttpCheckServer {
  /** The bound port. */
  readonly port: number;
  /** Stops accepting, lets in-flight checks answer, closes idle connections (all after 2 s). */
  close(): Promise<void>;
}

/**
 * How often unfinished requests are checked against their deadline: a
 * quarter of `requestTimeoutMs`, between 50 ms and 1 s, so a slow client is
 * cut at most that long after its bound.
 */
export function slowClientSweepMs(requestTimeoutMs: number): number {
  return Math.max(50, Math.min(1000, Math.floor(requestTimeoutMs / 4)));
}

function doorOf(path: string, envoyPrefix: string): FrontDoor | undefined {
  if (path === '/nginx') return 'nginx';
  if (path === '/forward') return 'forward';
  if (path === envoyPrefix || path.startsWith(`${envoyPrefix}/`)) return 'envoy';
  return undefined;
}

/**
 * Writes an answer: status line and headers in one `writeHead` (a flat
 * name/value list, no copy of the answer's map), `cache-control: no-store`
 * and the body's `content-length` (no chunked framing for the empty body of
 * an allow), then the body.
 */
function send(res: ServerResponse, answer: HttpCheckAnswer): void {
  if (res.headersSent || res.destroyed) return;
  const headers = answer.headers;
  const names = Object.keys(headers);
  const list: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    // Ours, below: an answer never sets them, but one header of each is sent whatever it holds.
    if (name === 'cache-control' || name === 'content-length') continue;
    list.push(name, headers[name] as string);
  }
  list.push('cache-control', 'no-store', 'content-length', String(Buffer.byteLength(answer.body)));
  res.writeHead(answer.status, list);
  res.end(answer.body);
}

/** True when the request head announces a body (HTTP/1.1 frames one only by these two). */
function announcesBody(headers: IncomingMessage['headersDistinct']): boolean {
  return headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined;
}

/**
 * Starts the HTTP check listener. Its limits (`maxHeaderBytes`,
 * `maxHeaders`, `requestTimeoutMs`, `keepAliveTimeoutMs`) are read once, at
 * start; the rest of `server.http` (`envoyPrefix`, header names, trusted
 * proxies, `maxBodyBytes`) per request, so a reload changes them.
 */
export async function startHttpCheckServer(
  options: HttpCheckServerOptions,
): Promise<HttpCheckServer> {
  const limits = options.options();
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const settings = options.options();
    // Built once per request, here; the handler reads this same map.
    const headers = req.headersDistinct;
    // The body is never read: drain it, bounded. Most checks have none, and
    // get no listener.
    if (announcesBody(headers)) {
      let bodyBytes = 0;
      req.on('data', (chunk: Buffer) => {
        bodyBytes += chunk.length;
        if (bodyBytes > settings.maxBodyBytes) {
          res.shouldKeepAlive = false;
          req.destroy();
        }
      });
    }
    req.resume();
    // Node would drop headers past a count limit silently: refuse instead.
    if (req.rawHeaders.length / 2 > settings.maxHeaders) {
      res.shouldKeepAlive = false;
      res.writeHead(431, { 'content-type': 'text/plain' }).end('too many headers\n');
      return;
    }
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const door = doorOf(q === -1 ? target : target.slice(0, q), settings.envoyPrefix);
    if (door === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const peerIp = req.socket.remoteAddress;
    const call: HttpCheckCall = peerIp
      ? { method: req.method ?? 'GET', target, headers, peerIp }
      : { method: req.method ?? 'GET', target, headers };
    let answered: Promise<HttpCheckAnswer>;
    try {
      answered = options.handle(door, call, settings, () => res.destroyed || req.socket.destroyed);
    } catch (err) {
      // A handler that throws before returning its promise still gets the deny, not a crash.
      send(res, options.onError(err));
      return;
    }
    answered.then(
      (answer) => send(res, answer),
      (err: unknown) => send(res, options.onError(err)),
    );
  };
  const server: Server = createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: Math.min(limits.requestTimeoutMs, 60_000),
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node enforces the two timeouts above only when this sweep runs (30 s
      // by default): a client trickling its head would hold its connection
      // up to 30 s past requestTimeoutMs.
      connectionsCheckingInterval: slowClientSweepMs(limits.requestTimeoutMs),
    },
    handle,
  );
  // Node truncates past this count; one more than allowed lets the handler see and refuse it.
  server.maxHeadersCount = limits.maxHeaders + 1;
  server.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }),
  };
}
