/**
 * A direct decoder for CheckRequest that reads only the fields the pipeline
 * uses ({@link CheckRequestFields} in src/wire/ext-authz.ts) and skips
 * every other field without building objects for it: destination peer,
 * timestamps, metadata, body, labels. It is the gRPC method's request
 * deserializer (server.ts); its output equals, for every field it fills,
 * what proto-loader's generic decoder gives
 * (test/unit/transport/decode-check-request.test.ts proves it against
 * Envoy's upstream protos; test/unit/fuzz/check-request.test.ts fuzzes it).
 *
 * It is stricter than protobufjs, never laxer in what it reads: a field the
 * schema declares with another wire type, a length running past its
 * message, a truncated varint, a group, or a reserved wire type refuses the
 * whole frame (a {@link CheckRequestDecodeError}), which grpc-js answers
 * with an error status: Envoy denies, as it did for frames protobufjs could
 * not read.
 *
 * Semantics copied from protobufjs's generated decoders: a repeated
 * singular field keeps its last value; a repeated sub-message field
 * replaces (does not merge) the earlier one; a map entry without key or
 * value uses ''; a later map entry with the same key wins; a `__proto__`
 * map key is an own property, as protobufjs makes it.
 */
import type { CheckRequestFields, HeaderMap } from '../../wire/ext-authz.js';

/** Thrown for a frame the decoder refuses; grpc-js turns it into an error status. */
export class CheckRequestDecodeError extends Error {
  constructor(reason: string) {
    super(`CheckRequest not decodable: ${reason}`);
    this.name = 'CheckRequestDecodeError';
  }
}

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

/**
 * Header names seen before, by a hash of their bytes: the same few dozen
 * names arrive on every request, and reading one from here skips making a
 * string (and the garbage). Direct-mapped, ASCII names (one character
 * per byte, so a byte-for-byte match is the same string) of at most
 * {@link MAX_KNOWN_NAME} bytes, a hit only on an exact byte match; a
 * collision just replaces the slot, so the table never grows.
 */
const KNOWN_NAMES = new Array<string | undefined>(512).fill(undefined);
const MAX_KNOWN_NAME = 40;

/** A cursor over one message's bytes [pos, end) of `buf`. */
class Cursor {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** A varint as an unsigned 32-bit value (higher bits dropped, as protobufjs's uint32 does). */
  uint32(): number {
    const { buf, end } = this;
    let value = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw new CheckRequestDecodeError('truncated varint');
      const b = buf[this.pos++] as number;
      if (i < 5) value |= (b & 0x7f) << (7 * i);
      if (b < 0x80) return value >>> 0;
    }
    throw new CheckRequestDecodeError('varint longer than 10 bytes');
  }

  /** A length prefix, then the end offset of the bytes it announces. */
  lengthEnd(): number {
    const len = this.uint32();
    const stop = this.pos + len;
    if (stop > this.end) throw new CheckRequestDecodeError('length past the end of its message');
    return stop;
  }

  /** A string that is likely one of a few recurring values (a header name): see KNOWN_NAMES. */
  name(): string {
    const stop = this.lengthEnd();
    const start = this.pos;
    const len = stop - start;
    if (len === 0 || len > MAX_KNOWN_NAME) return this.stringTo(stop);
    const buf = this.buf;
    let h = len;
    let bits = 0;
    for (let i = start; i < stop; i++) {
      const b = buf[i] as number;
      bits |= b;
      h = Math.imul(h ^ b, 0x01000193);
    }
    if (bits >= 0x80) return this.stringTo(stop);
    const slot = (h >>> 0) & (KNOWN_NAMES.length - 1);
    const known = KNOWN_NAMES[slot];
    if (known !== undefined && known.length === len) {
      let same = true;
      for (let i = 0; i < len; i++) {
        if (known.charCodeAt(i) !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) {
        this.pos = stop;
        return known;
      }
    }
    const s = this.stringTo(stop);
    KNOWN_NAMES[slot] = s;
    return s;
  }

  /** The string from here to `stop` (UTF-8), moving past it. */
  private stringTo(stop: number): string {
    const s = stop === this.pos ? '' : this.buf.toString('utf8', this.pos, stop);
    this.pos = stop;
    return s;
  }

  string(): string {
    const stop = this.lengthEnd();
    const s = stop === this.pos ? '' : this.buf.toString('utf8', this.pos, stop);
    this.pos = stop;
    return s;
  }

  /** Bytes as a view on the frame (zero-copy, as protobufjs's BufferReader does). */
  bytes(): Buffer {
    const stop = this.lengthEnd();
    const b = this.buf.subarray(this.pos, stop);
    this.pos = stop;
    return b;
  }

  /** A sub-message's cursor; this one continues after it. */
  sub(): Cursor {
    const stop = this.lengthEnd();
    const c = new Cursor(this.buf, this.pos, stop);
    this.pos = stop;
    return c;
  }

  /** Skips one field's value of wire type `wt`; groups and reserved types refuse. */
  skip(wt: number): void {
    switch (wt) {
      case VARINT:
        this.uint32();
        return;
      case FIXED64:
        this.advance(8);
        return;
      case LEN:
        this.pos = this.lengthEnd();
        return;
      case FIXED32:
        this.advance(4);
        return;
      default:
        throw new CheckRequestDecodeError(`wire type ${wt}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new CheckRequestDecodeError('truncated fixed-width field');
    this.pos += n;
  }
}

/**
 * Reads the tag of the next field: field number and wire type. A known
 * field (`expected` wire type given) with another wire type refuses.
 */
function tag(c: Cursor): number {
  const t = c.uint32();
  if (t >>> 3 === 0) throw new CheckRequestDecodeError('field number 0');
  return t;
}

function expect(t: number, wt: number): void {
  if ((t & 7) !== wt) throw new CheckRequestDecodeError(`field ${t >>> 3}: wire type ${t & 7}`);
}

/** Wire type of each known field of a message the decoder skips the value of (refused if different). */
function skipKnown(c: Cursor, t: number, known: Readonly<Record<number, number>>): void {
  const wt = known[t >>> 3];
  if (wt !== undefined) expect(t, wt);
  c.skip(t & 7);
}

/** map<string, string> entry into `into` (protobufjs: missing key or value is ''). */
function mapEntry(c: Cursor, into: Record<string, string>): void {
  let key = '';
  let value = '';
  while (c.pos < c.end) {
    const t = tag(c);
    switch (t >>> 3) {
      case 1:
        expect(t, LEN);
        key = c.name();
        break;
      case 2:
        expect(t, LEN);
        value = c.string();
        break;
      default:
        c.skip(t & 7);
    }
  }
  // As protobufjs: `__proto__` becomes an own property, never the prototype.
  if (key === '__proto__')
    Object.defineProperty(into, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  else into[key] = value;
}

/** envoy.config.core.v3.SocketAddress: only `address` is read. */
const SOCKET_ADDRESS_WT: Record<number, number> = {
  1: VARINT,
  3: VARINT,
  4: LEN,
  5: LEN,
  6: VARINT,
};
function socketAddress(c: Cursor): { address: string } {
  let address = '';
  while (c.pos < c.end) {
    const t = tag(c);
    if (t >>> 3 === 2) {
      expect(t, LEN);
      address = c.string();
    } else skipKnown(c, t, SOCKET_ADDRESS_WT);
  }
  return { address };
}

/** envoy.config.core.v3.Address: only `socket_address` is read. */
function address(c: Cursor): { socket_address?: { address: string } } {
  let socket: { address: string } | undefined;
  while (c.pos < c.end) {
    const t = tag(c);
    if (t >>> 3 === 1) {
      expect(t, LEN);
      socket = socketAddress(c.sub());
    } else skipKnown(c, t, { 2: LEN, 3: LEN });
  }
  return socket === undefined ? {} : { socket_address: socket };
}

function peer(c: Cursor): NonNullable<NonNullable<CheckRequestFields['attributes']>['source']> {
  let addr: { socket_address?: { address: string } } | null = null;
  let principal = '';
  while (c.pos < c.end) {
    const t = tag(c);
    switch (t >>> 3) {
      case 1:
        expect(t, LEN);
        addr = address(c.sub());
        break;
      case 4:
        expect(t, LEN);
        principal = c.string();
        break;
      default:
        skipKnown(c, t, { 2: LEN, 3: LEN, 5: LEN });
    }
  }
  return { address: addr, principal };
}

const EMPTY: Buffer = Buffer.alloc(0);

/** envoy.config.core.v3.HeaderMap. */
function headerMap(c: Cursor): HeaderMap {
  const headers: { key: string; value: string; raw_value: Buffer }[] = [];
  while (c.pos < c.end) {
    const t = tag(c);
    if (t >>> 3 !== 1) {
      c.skip(t & 7);
      continue;
    }
    expect(t, LEN);
    const h = c.sub();
    let key = '';
    let value = '';
    let raw = EMPTY;
    while (h.pos < h.end) {
      const ht = tag(h);
      switch (ht >>> 3) {
        case 1:
          expect(ht, LEN);
          key = h.name();
          break;
        case 2:
          expect(ht, LEN);
          value = h.string();
          break;
        case 3:
          expect(ht, LEN);
          raw = h.bytes();
          break;
        default:
          h.skip(ht & 7);
      }
    }
    headers.push({ key, value, raw_value: raw });
  }
  return { headers };
}

type HttpFields = NonNullable<
  NonNullable<NonNullable<CheckRequestFields['attributes']>['request']>['http']
>;

/** AttributeContext.HttpRequest: the fields the pipeline reads. */
const HTTP_REQUEST_WT: Record<number, number> = { 8: LEN, 9: VARINT, 10: LEN, 11: LEN, 12: LEN };
function httpRequest(c: Cursor): HttpFields {
  let id = '';
  let method = '';
  const headers: Record<string, string> = {};
  let map: HeaderMap | null = null;
  let path = '';
  let host = '';
  let scheme = '';
  let query = '';
  while (c.pos < c.end) {
    const t = tag(c);
    const field = t >>> 3;
    if (field >= 1 && field <= 7) expect(t, LEN);
    switch (field) {
      case 1:
        id = c.string();
        break;
      case 2:
        method = c.string();
        break;
      case 3:
        mapEntry(c.sub(), headers);
        break;
      case 4:
        path = c.string();
        break;
      case 5:
        host = c.string();
        break;
      case 6:
        scheme = c.string();
        break;
      case 7:
        query = c.string();
        break;
      case 13:
        expect(t, LEN);
        map = headerMap(c.sub());
        break;
      default:
        skipKnown(c, t, HTTP_REQUEST_WT);
    }
  }
  return { id, method, headers, header_map: map, path, host, scheme, query };
}

function attributeRequest(c: Cursor): { http: HttpFields | null } {
  let http: HttpFields | null = null;
  while (c.pos < c.end) {
    const t = tag(c);
    if (t >>> 3 === 2) {
      expect(t, LEN);
      http = httpRequest(c.sub());
    } else skipKnown(c, t, { 1: LEN });
  }
  return { http };
}

/** AttributeContext: source, request, context extensions, and whether TLS was used. */
const ATTRIBUTES_WT: Record<number, number> = { 2: LEN, 11: LEN, 13: LEN };
function attributes(c: Cursor): NonNullable<CheckRequestFields['attributes']> {
  let source: NonNullable<CheckRequestFields['attributes']>['source'] = null;
  let request: { http: HttpFields | null } | null = null;
  const extensions: Record<string, string> = {};
  let tls: object | null = null;
  while (c.pos < c.end) {
    const t = tag(c);
    switch (t >>> 3) {
      case 1:
        expect(t, LEN);
        source = peer(c.sub());
        break;
      case 4:
        expect(t, LEN);
        request = attributeRequest(c.sub());
        break;
      case 10:
        expect(t, LEN);
        mapEntry(c.sub(), extensions);
        break;
      case 12:
        // Only its presence is read (the session was TLS); the SNI is skipped.
        expect(t, LEN);
        c.skip(LEN);
        tls = {};
        break;
      default:
        skipKnown(c, t, ATTRIBUTES_WT);
    }
  }
  return { source, request, context_extensions: extensions, tls_session: tls };
}

/**
 * Decodes the protobuf bytes of a CheckRequest (no gRPC framing) into the
 * fields the pipeline reads. Throws {@link CheckRequestDecodeError} for a
 * frame it refuses; never anything else.
 */
export function decodeCheckRequest(buf: Buffer): CheckRequestFields {
  const c = new Cursor(buf, 0, buf.length);
  let attrs: CheckRequestFields['attributes'] = null;
  try {
    while (c.pos < c.end) {
      const t = tag(c);
      if (t >>> 3 === 1) {
        expect(t, LEN);
        attrs = attributes(c.sub());
      } else c.skip(t & 7);
    }
  } catch (err) {
    if (err instanceof CheckRequestDecodeError) throw err;
    // Defensive: anything else (there should be nothing) is a refusal too.
    throw new CheckRequestDecodeError('internal decoder error');
  }
  return { attributes: attrs };
}
