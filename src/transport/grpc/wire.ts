/**
 * gRPC over HTTP/2, the parts a unary and a server-streaming method need
 * (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md): the
 * length-prefixed message frame, the `grpc-timeout` header, and answers as a
 * message plus trailers or as a trailers-only status. The server in
 * server.ts is built from these on node:http2; a request that does not fit
 * the protocol gets an error status, which Envoy turns into a deny.
 */
import {
  constants,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
  type ServerStreamResponseOptions,
} from 'node:http2';

/** gRPC status codes this transport answers with (grpc/doc/statuscodes.md). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;
export type GrpcStatus = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/** Bytes of the prefix before each message: a compressed flag and a 32-bit length. */
export const FRAME_PREFIX_BYTES = 5;

/** The content type of every answer; requests must send `application/grpc` or `application/grpc+…`. */
const CONTENT_TYPE = 'application/grpc+proto';

// Only what the protocol requires: messages are never compressed, so no
// `grpc-encoding` (identity is the default), and no `grpc-message` on success.
const RESPONSE_HEADERS = Object.freeze({
  [constants.HTTP2_HEADER_STATUS]: 200,
  [constants.HTTP2_HEADER_CONTENT_TYPE]: CONTENT_TYPE,
});
const OK_TRAILERS = Object.freeze({ 'grpc-status': '0' });
// `sendDate` is honoured by node:http2 but missing from its types; gRPC needs no Date header.
const RESPOND_OPTIONS = Object.freeze({
  waitForTrailers: true,
  sendDate: false,
}) as ServerStreamResponseOptions;
const END_OPTIONS = Object.freeze({
  endStream: true,
  sendDate: false,
}) as ServerStreamResponseOptions;

/** Why a request cannot be read as one gRPC message; `status` is what the caller gets. */
export class GrpcWireError extends Error {
  constructor(
    readonly status: GrpcStatus,
    message: string,
  ) {
    super(message);
    this.name = 'GrpcWireError';
  }
}

const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/**
 * The call's time budget in milliseconds from `grpc-timeout` (at most 8
 * digits and a unit), `undefined` when the header is absent. A malformed
 * value throws: the caller sent a deadline the server cannot honour.
 */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  const match = /^(\d{1,8})([HMSmun])$/.exec(text);
  const unit = match ? TIMEOUT_UNIT_MS[match[2] as string] : undefined;
  if (!match || unit === undefined) {
    throw new GrpcWireError(GrpcStatus.INTERNAL, 'malformed grpc-timeout');
  }
  return Number(match[1]) * unit;
}

/**
 * Whether the request is a gRPC call this server can answer: POST with a
 * gRPC content type. Anything else is answered here with the HTTP status the
 * protocol asks for (405, 415) and `false` is returned.
 */
export function acceptGrpcRequest(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
): boolean {
  if (headers[constants.HTTP2_HEADER_METHOD] !== 'POST') {
    respondHttpError(stream, 405);
    return false;
  }
  const type = headers[constants.HTTP2_HEADER_CONTENT_TYPE];
  if (
    typeof type !== 'string' ||
    !(
      type === 'application/grpc' ||
      type.startsWith('application/grpc+') ||
      type.startsWith('application/grpc;')
    )
  ) {
    respondHttpError(stream, 415);
    return false;
  }
  return true;
}

function respondHttpError(stream: ServerHttp2Stream, status: number): void {
  if (stream.destroyed || stream.headersSent) return;
  try {
    stream.respond({ [constants.HTTP2_HEADER_STATUS]: status }, END_OPTIONS);
  } catch {
    stream.destroy();
  }
}

/**
 * Bytes of request messages being read, across every stream of a server:
 * each chunk is taken from it as it arrives and given back when its call's
 * message is complete, refused or abandoned. Bounds what many large
 * concurrent requests can make the process hold.
 */
export class ByteBudget {
  private used = 0;
  constructor(readonly limit: number) {}
  take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }
  give(n: number): void {
    this.used -= n;
  }
  /** Bytes currently held. */
  get held(): number {
    return this.used;
  }
}

/**
 * Reads the single message of a unary or server-streaming request: exactly
 * one uncompressed frame of at most `maxBytes`, passed to `done` without its
 * prefix. Anything else calls `done` with a GrpcWireError: RESOURCE_EXHAUSTED
 * for a frame over the limit (refused from its prefix, without buffering
 * it) or when `budget` has no room for the bytes. `done` is called at most
 * once; not at all when the caller resets the stream first.
 */
export function readSingleMessage(
  stream: ServerHttp2Stream,
  maxBytes: number,
  budget: ByteBudget,
  done: (err: GrpcWireError | undefined, message: Buffer) => void,
): void {
  let first: Buffer | undefined;
  let rest: Buffer[] | undefined;
  let total = 0;
  let declared = -1;
  let finished = false;
  let watching = false;
  const release = (): void => {
    budget.give(total);
    total = 0;
  };
  const finish = (): void => {
    finished = true;
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('close', onClose);
    release();
  };
  const fail = (err: GrpcWireError): void => {
    if (finished) return;
    finish();
    // Keep consuming what the caller still sends, so flow control never stalls the session.
    stream.resume();
    done(err, EMPTY);
  };
  const onClose = (): void => {
    if (!finished) finish();
  };
  const onData = (chunk: Buffer): void => {
    if (finished) return;
    if (!budget.take(chunk.length)) {
      fail(new GrpcWireError(GrpcStatus.RESOURCE_EXHAUSTED, 'too many request bytes in flight'));
      return;
    }
    total += chunk.length;
    if (first === undefined) first = chunk;
    else (rest ??= [first]).push(chunk);
    if (declared < 0 && total >= FRAME_PREFIX_BYTES) {
      const head = rest ? Buffer.concat(rest, FRAME_PREFIX_BYTES) : first;
      declared = head.readUInt32BE(1);
    }
    // Bytes held past this chunk: give them back if the stream dies before its end.
    // (A message in one chunk, Envoy's usual, ends in the same tick: no listener.)
    if (!watching && (declared < 0 || total < declared + FRAME_PREFIX_BYTES)) {
      watching = true;
      stream.once('close', onClose);
    }
    if (declared > maxBytes || total > maxBytes + FRAME_PREFIX_BYTES) {
      fail(
        new GrpcWireError(
          GrpcStatus.RESOURCE_EXHAUSTED,
          `request message larger than the ${maxBytes}-byte limit`,
        ),
      );
    }
  };
  const onEnd = (): void => {
    if (finished) return;
    const whole = rest ? Buffer.concat(rest, total) : first;
    if (whole === undefined || whole.length < FRAME_PREFIX_BYTES) {
      fail(new GrpcWireError(GrpcStatus.INTERNAL, 'no request message'));
      return;
    }
    const flag = whole[0];
    const length = whole.readUInt32BE(1);
    if (flag === 1) {
      fail(new GrpcWireError(GrpcStatus.UNIMPLEMENTED, 'compressed messages are not accepted'));
      return;
    }
    if (flag !== 0) {
      fail(new GrpcWireError(GrpcStatus.INTERNAL, 'malformed message prefix'));
      return;
    }
    if (whole.length !== FRAME_PREFIX_BYTES + length) {
      fail(
        new GrpcWireError(
          GrpcStatus.INTERNAL,
          whole.length < FRAME_PREFIX_BYTES + length
            ? 'truncated request message'
            : 'more than one request message',
        ),
      );
      return;
    }
    finish();
    done(undefined, whole.subarray(FRAME_PREFIX_BYTES));
  };
  stream.on('data', onData);
  stream.on('end', onEnd);
}

const EMPTY = Buffer.alloc(0);

/** The message with its 5-byte prefix (uncompressed). */
export function frameMessage(body: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + body.length);
  body.copy(frame, FRAME_PREFIX_BYTES);
  return writeFramePrefix(frame);
}

/** Writes the prefix into the first 5 bytes of `frame`, whose message follows them. */
export function writeFramePrefix(frame: Buffer): Buffer {
  frame[0] = 0;
  frame.writeUInt32BE(frame.length - FRAME_PREFIX_BYTES, 1);
  return frame;
}

function sendOkTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

/**
 * Sends the response headers (a unary answer's message and trailers, or a
 * stream's messages follow). Returns false, writing nothing, when the
 * stream is already gone or answered.
 */
export function respondStreamHeaders(stream: ServerHttp2Stream): boolean {
  if (stream.destroyed || stream.closed || stream.headersSent) return false;
  try {
    stream.respond(RESPONSE_HEADERS, RESPOND_OPTIONS);
    return true;
  } catch {
    stream.destroy();
    return false;
  }
}

/**
 * Answers a unary call: response headers, `frame` (a message with its
 * prefix, see frameMessage), then `grpc-status: 0`. Returns false (and
 * writes nothing) when the stream is already gone.
 */
export function respondMessage(stream: ServerHttp2Stream, frame: Buffer): boolean {
  if (!respondStreamHeaders(stream)) return false;
  stream.once('wantTrailers', sendOkTrailers);
  stream.end(frame);
  return true;
}

/** One message of a server-streaming answer. */
export function writeStreamMessage(stream: ServerHttp2Stream, body: Buffer): void {
  if (!stream.destroyed && !stream.closed && stream.writable) stream.write(frameMessage(body));
}

/**
 * Ends a call with `status`: as trailers when headers were sent, otherwise
 * as a trailers-only answer. `message` is percent-encoded as the protocol
 * requires; it must not carry request data (the caller sees it).
 */
export function respondStatus(
  stream: ServerHttp2Stream,
  status: GrpcStatus,
  message: string,
): void {
  if (stream.destroyed || stream.closed) return;
  const trailers = { 'grpc-status': String(status), 'grpc-message': encodeURIComponent(message) };
  try {
    if (stream.headersSent) {
      stream.once('wantTrailers', () => stream.sendTrailers(trailers));
      stream.end();
      return;
    }
    stream.respond(
      {
        [constants.HTTP2_HEADER_STATUS]: 200,
        [constants.HTTP2_HEADER_CONTENT_TYPE]: CONTENT_TYPE,
        'grpc-accept-encoding': 'identity',
        ...trailers,
      },
      END_OPTIONS,
    );
  } catch {
    stream.destroy();
  }
}
