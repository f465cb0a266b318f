/**
 * The gRPC transport: Envoy's Authorization service plus grpc.health.v1,
 * served on node:http2 (wire.ts has the protocol's framing). It only
 * converts messages; every decision comes from `handle`.
 *
 * Why not grpc-js's Server: on this one unary method its per-call machinery
 * (call objects, metadata, per-call deadline timers, interceptor plumbing)
 * cost about 45 µs of CPU per call, as much as all of rolegate's own
 * pipeline; node:http2 alone costs about 30 (docs/performance.md). grpc-js
 * stays the client (tests, the CLI) and the protos still come from
 * proto-loader.
 */
import http2, {
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { CheckRequestFields, CheckResponse } from '../../wire/ext-authz.js';
import { decodeCheckRequest } from './decode-check-request.js';
import { encodeCheckResponse } from './encode-check-response.js';
import { createHealthService, type HealthService } from './health.js';
import {
  AUTHORIZATION_SERVICE_NAME,
  CHECK_METHOD_PATH,
  loadAuthorizationService,
} from './protos.js';
import {
  acceptGrpcRequest,
  ByteBudget,
  FRAME_PREFIX_BYTES,
  frameMessage,
  GrpcStatus,
  parseGrpcTimeout,
  readSingleMessage,
  respondMessage,
  respondStatus,
  writeFramePrefix,
  type GrpcWireError,
} from './wire.js';

/** What {@link startGrpcServer} needs; limits not named here are {@link SERVER_LIMITS}. */
export interface GrpcServerOptions {
  /** Listen host (`server.grpc.host`, default `127.0.0.1`). */
  readonly host: string;
  /** Listen port (`server.grpc.port`, default 9001); 0 picks a free port. */
  readonly port: number;
  /**
   * Decides one CheckRequest; must not throw (the pipeline fails closed
   * itself). `abandoned()` is true once the caller has cancelled the call or
   * its deadline has passed: the answer will not reach it.
   */
  readonly handle: (
    request: CheckRequestFields,
    abandoned: () => boolean,
  ) => Promise<CheckResponse>;
  /** Builds the response for a handler that threw anyway: always a deny. */
  readonly onHandlerError: (err: unknown) => CheckResponse;
  /**
   * Keepalive pings: every `timeMs` on each connection (default 30,000),
   * closing one whose ping goes unanswered for `timeoutMs` (default 10,000).
   */
  readonly keepalive?: { readonly timeMs: number; readonly timeoutMs: number };
  /** Request bytes all calls together may hold while they arrive (default 64 MiB); beyond, RESOURCE_EXHAUSTED. */
  readonly maxBufferedRequestBytes?: number;
  /**
   * Detach a finished stream's listeners on 'close' (default true; see
   * `releaseStream`). False only to measure what that saves
   * (bench/soak/heap.ts).
   */
  readonly releaseFinishedStreams?: boolean;
}

/** A running gRPC listener (Authorization and grpc.health.v1). */
export interface GrpcServer {
  /** The bound port. */
  readonly port: number;
  /** Marks the services SERVING (call once the config is loaded). */
  serving(): void;
  /** Marks the services NOT_SERVING; calls are still answered. */
  notServing(): void;
  /** NOT_SERVING, stop accepting, wait for in-flight calls up to `deadlineMs`, then force. */
  drain(deadlineMs: number): Promise<void>;
}

/**
 * Limits and keepalive. Keepalive pings notice dead Envoy connections;
 * messages are bounded both ways; 1,000 concurrent streams per connection.
 */
export const SERVER_LIMITS = {
  keepalive: { timeMs: 30_000, timeoutMs: 10_000 },
  maxReceiveMessageBytes: 4 * 1024 * 1024,
  maxSendMessageBytes: 1024 * 1024,
  maxConcurrentStreams: 1000,
  /** Request bytes all calls together may hold while their messages arrive. */
  maxBufferedRequestBytes: 64 * 1024 * 1024,
} as const;

function ignore(): void {}

/** Keepalive timing of a connection; {@link SERVER_LIMITS} has the defaults. */
type Keepalive = NonNullable<GrpcServerOptions['keepalive']>;

/** Pings the session every `timeMs`, idle or not; no answer within `timeoutMs` destroys it. */
function keepAlive(session: ServerHttp2Session, { timeMs, timeoutMs }: Keepalive): void {
  const timer = setInterval(() => {
    if (session.destroyed || session.closed) return;
    const deadline = setTimeout(() => session.destroy(), timeoutMs);
    deadline.unref();
    let sent = false;
    try {
      sent = session.ping((err) => {
        clearTimeout(deadline);
        if (err && !session.destroyed) session.destroy();
      });
    } finally {
      if (!sent) {
        clearTimeout(deadline);
        session.destroy();
      }
    }
  }, timeMs);
  timer.unref();
  session.once('close', () => clearInterval(timer));
}

/**
 * Encodes a CheckResponse as one length-prefixed gRPC frame. The direct
 * encoder covers rolegate's own response shapes; anything else takes the
 * generic (reflection) path, so an unusual response is slower, never lost.
 */
function checkFrameEncoder(): (response: CheckResponse) => Buffer {
  const generic = loadAuthorizationService().Check.responseSerialize;
  return (response) => {
    const direct = encodeCheckResponse(response, FRAME_PREFIX_BYTES);
    return direct ? writeFramePrefix(direct) : frameMessage(generic(response));
  };
}

/**
 * Answers the call unless the caller has gone: its deadline passed or it
 * reset the stream. A response that cannot be encoded, or is larger than
 * `maxSendMessageBytes`, becomes an error status rather than a broken frame.
 */
function answer(
  stream: ServerHttp2Stream,
  deadlineAt: number,
  response: CheckResponse,
  encodeFrame: (response: CheckResponse) => Buffer,
): void {
  if (stream.closed || stream.destroyed) return;
  if (performance.now() >= deadlineAt) {
    respondStatus(stream, GrpcStatus.DEADLINE_EXCEEDED, 'deadline exceeded');
    return;
  }
  let frame: Buffer;
  try {
    frame = encodeFrame(response);
  } catch {
    respondStatus(stream, GrpcStatus.INTERNAL, 'cannot encode the response');
    return;
  }
  if (frame.length - FRAME_PREFIX_BYTES > SERVER_LIMITS.maxSendMessageBytes) {
    respondStatus(stream, GrpcStatus.RESOURCE_EXHAUSTED, 'response message too large');
    return;
  }
  respondMessage(stream, frame);
}

/** The part of the options a Check call reads. */
type CheckHandling = Pick<GrpcServerOptions, 'handle' | 'onHandlerError'>;

/**
 * Hands a decoded request to the handler and answers with what it decides;
 * a handler that throws or rejects anyway still gets its deny answered.
 */
function decide(
  stream: ServerHttp2Stream,
  deadlineAt: number,
  request: CheckRequestFields,
  handling: CheckHandling,
  encodeFrame: (response: CheckResponse) => Buffer,
): void {
  const abandoned = (): boolean =>
    stream.closed || stream.destroyed || performance.now() >= deadlineAt;
  let decided: Promise<CheckResponse>;
  try {
    decided = handling.handle(request, abandoned);
  } catch (error) {
    // A handler that throws before returning its promise still gets the deny, not a crash.
    answer(stream, deadlineAt, handling.onHandlerError(error), encodeFrame);
    return;
  }
  decided.then(
    (response) => answer(stream, deadlineAt, response, encodeFrame),
    (error: unknown) => answer(stream, deadlineAt, handling.onHandlerError(error), encodeFrame),
  );
}

/**
 * The Check method: reads one request message within `inbound` and decodes
 * it for {@link decide}. Every failure along the way is a gRPC status on
 * this stream, never an exception out of the server.
 */
function checkCalls(
  handling: CheckHandling,
  inbound: ByteBudget,
): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void {
  const encodeFrame = checkFrameEncoder();
  return (stream, headers) => {
    let deadlineAt = Infinity;
    try {
      const budget = parseGrpcTimeout(headers['grpc-timeout']);
      if (budget !== undefined) deadlineAt = performance.now() + budget;
    } catch (err) {
      stream.resume();
      respondStatus(stream, (err as GrpcWireError).status, (err as GrpcWireError).message);
      return;
    }
    readSingleMessage(stream, SERVER_LIMITS.maxReceiveMessageBytes, inbound, (err, message) => {
      if (err) {
        respondStatus(stream, err.status, err.message);
        return;
      }
      let request: CheckRequestFields;
      try {
        // Reads only the fields the pipeline uses (decode-check-request.ts); refusals throw.
        request = decodeCheckRequest(message);
      } catch {
        respondStatus(stream, GrpcStatus.INTERNAL, 'cannot decode the request message');
        return;
      }
      decide(stream, deadlineAt, request, handling, encodeFrame);
    });
  };
}

/**
 * Keeps the set of open connections (drain closes them) and pings each on
 * the `keepalive` schedule. Session errors are ignored: a connection that
 * breaks just closes, and its streams report their own end.
 */
function trackSessions(server: Http2Server, keepalive: Keepalive): Set<ServerHttp2Session> {
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.on('error', ignore);
    session.once('close', () => sessions.delete(session));
    keepAlive(session, keepalive);
  });
  return sessions;
}

/**
 * Drops the listeners a finished stream still holds. node:http2 keeps each
 * stream object reachable until a mark-compact runs, well after 'close'
 * (a bare server answering at once promotes about 1 KB per stream into old
 * space, however few streams are in flight), so everything hanging off it
 * lives through every scavenge too. Its listeners (node's own and ours,
 * closures over the stream's state and the call's) are most of that:
 * detaching them here cut what the transport promotes from about 1,000 to
 * 130 bytes per call (docs/performance.md, "The tail over ten minutes").
 * Emitting 'close' works on a copy of the listener list, so every 'close'
 * listener still runs. 'error' stays: it must never be unhandled.
 */
function releaseStream(this: ServerHttp2Stream): void {
  for (const name of this.eventNames()) if (name !== 'error') this.removeAllListeners(name);
}

/** Sends each accepted gRPC stream to Check, to health, or answers UNIMPLEMENTED. */
function routeStreams(
  server: Http2Server,
  serveCheck: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void,
  health: HealthService,
  release: boolean,
): void {
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    // A reset or a broken connection surfaces here; the call is simply gone.
    stream.on('error', ignore);
    if (release) stream.on('close', releaseStream);
    if (!acceptGrpcRequest(stream, headers)) return;
    const path = headers[':path'];
    if (path === CHECK_METHOD_PATH) serveCheck(stream, headers);
    else if (typeof path !== 'string' || !health.handle(path, stream)) {
      stream.resume();
      respondStatus(stream, GrpcStatus.UNIMPLEMENTED, 'unknown method');
    }
  });
}

/** Binds `host:port`; resolves with the bound port. Errors after the bind are ignored. */
async function listen(server: Http2Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', ignore);
  return (server.address() as AddressInfo).port;
}

/** Sets the overall status ('') and the Authorization service's together: probes ask either. */
function setHealth(health: HealthService, status: 'SERVING' | 'NOT_SERVING'): void {
  health.setStatus('', status);
  health.setStatus(AUTHORIZATION_SERVICE_NAME, status);
}

/**
 * NOT_SERVING, ends health watches, stops accepting and sends GOAWAY on
 * every connection; in-flight calls get up to `deadlineMs` to finish, then
 * the remaining connections are destroyed.
 */
async function drainServer(
  server: Http2Server,
  sessions: ReadonlySet<ServerHttp2Session>,
  health: HealthService,
  deadlineMs: number,
): Promise<void> {
  setHealth(health, 'NOT_SERVING');
  health.closeWatches();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // GOAWAY: no new calls on open connections; in-flight calls finish.
  for (const session of sessions) session.close();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    closed,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
    }),
  ]);
  clearTimeout(timer);
  for (const session of sessions) session.destroy();
  await closed;
}

/**
 * Starts the server; the health status is NOT_SERVING until `serving()` is
 * called. Limits default to {@link SERVER_LIMITS}: keepalive ping every
 * 30 s (10 s to answer), 64 MiB of request bytes buffered across calls,
 * 1,000 concurrent streams per connection, 4 MiB per request and 1 MiB per
 * response.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const inbound = new ByteBudget(
    options.maxBufferedRequestBytes ?? SERVER_LIMITS.maxBufferedRequestBytes,
  );
  const health = createHealthService(inbound, {
    '': 'NOT_SERVING',
    [AUTHORIZATION_SERVICE_NAME]: 'NOT_SERVING',
  });
  const server = http2.createServer({
    settings: { maxConcurrentStreams: SERVER_LIMITS.maxConcurrentStreams },
  });
  const sessions = trackSessions(server, options.keepalive ?? SERVER_LIMITS.keepalive);
  routeStreams(
    server,
    checkCalls(options, inbound),
    health,
    options.releaseFinishedStreams ?? true,
  );
  const port = await listen(server, options.port, options.host);
  return {
    port,
    serving: () => setHealth(health, 'SERVING'),
    notServing: () => setHealth(health, 'NOT_SERVING'),
    drain: (deadlineMs) => drainServer(server, sessions, health, deadlineMs),
  };
}
