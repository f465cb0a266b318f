/**
 * A direct protobuf encoder for the CheckResponses rolegate builds. The
 * generic reflection encoder spent more time on each response than the
 * whole decision (a Struct of metadata and a few headers); this one sizes
 * every message first and writes once into a single buffer. It covers
 * exactly the shapes `toCheckResponse` produces and returns `undefined` for
 * anything else, so the caller falls back to the generic encoder. A test
 * decodes its output with Envoy's upstream definitions.
 *
 * Field numbers (proto/): CheckResponse status=1 denied_response=2
 * ok_response=3 dynamic_metadata=4; DeniedHttpResponse status=1 headers=2
 * body=3; OkHttpResponse headers=2 headers_to_remove=5; HeaderValueOption
 * header=1 append_action=3; HeaderValue key=1 value=2; google.rpc.Status
 * code=1 message=2; Struct fields=1 (map entry key=1 value=2); Value
 * null_value=1 number_value=2 string_value=3 bool_value=4.
 */
import type {
  CheckResponse,
  HeaderAppendAction,
  HeaderValueOption,
  HttpStatusCodeName,
  ProtoStruct,
  ProtoValue,
} from '../../wire/ext-authz.js';

const APPEND_ACTION: Readonly<Record<HeaderAppendAction, number>> = {
  APPEND_IF_EXISTS_OR_ADD: 0,
  ADD_IF_ABSENT: 1,
  OVERWRITE_IF_EXISTS_OR_ADD: 2,
  OVERWRITE_IF_EXISTS: 3,
};

const HTTP_STATUS: Readonly<Record<HttpStatusCodeName, number>> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  TooManyRequests: 429,
  InternalServerError: 500,
  ServiceUnavailable: 503,
};

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Size of a length-delimited field holding `len` bytes (one-byte tags: fields < 16). */
function lenField(len: number): number {
  return 1 + varintSize(len) + len;
}

/** UTF-8 length; header names, ids and ARNs are ASCII, which a plain loop measures fastest. */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  }
  return s.length;
}

/**
 * The sizing pass records every string's byte length and every
 * sub-message's size here, in the order the writing pass consumes them
 * (a sub-message's slot is taken before its contents are measured, then
 * filled). Module-level and reused: encoding is synchronous, never
 * re-entered.
 */
let sizes = new Int32Array(64);
let count = 0;
let next = 0;

/** Records `size` (or 0, filled in later) and returns its slot. */
function record(size: number): number {
  if (count === sizes.length) {
    const grown = new Int32Array(sizes.length * 2);
    grown.set(sizes);
    sizes = grown;
  }
  sizes[count] = size;
  return count++;
}

function reserve(): number {
  return record(0);
}

/** Measures a string field (tag, length, bytes) and records its byte length. */
function strField(s: string): number {
  const len = utf8Length(s);
  record(len);
  return lenField(len);
}

/** Buffer's own Latin-1 writer, where `buf.write(s, o, n, 'latin1')` ends after an encoding switch. */
interface Latin1Buffer extends Buffer {
  latin1Write(s: string, offset: number, length: number): number;
}
/** Not in Node's types: looked up once, with the public call as the fallback. */
const HAS_LATIN1_WRITE =
  typeof (Buffer.prototype as Partial<Latin1Buffer>).latin1Write === 'function';

class Writer {
  readonly buf: Buffer;
  pos: number;

  constructor(size: number, reserved: number) {
    this.buf = Buffer.allocUnsafe(reserved + size);
    this.pos = reserved;
  }

  varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  tag(field: number, wire: number): void {
    this.buf[this.pos++] = (field << 3) | wire;
  }

  /** Tag and length of a length-delimited field whose body follows; the length is the next recorded size. */
  open(field: number): void {
    this.tag(field, WIRE_LEN);
    this.varint(sizes[next++] as number);
  }

  /** A string field whose byte length is the next recorded size. */
  str(field: number, s: string): void {
    const len = sizes[next++] as number;
    this.tag(field, WIRE_LEN);
    this.varint(len);
    // ASCII (byte length = string length) is copied as Latin-1, byte for byte.
    if (len !== s.length) this.pos += this.buf.write(s, this.pos, len, 'utf8');
    else if (HAS_LATIN1_WRITE) this.pos += (this.buf as Latin1Buffer).latin1Write(s, this.pos, len);
    else this.pos += this.buf.write(s, this.pos, len, 'latin1');
  }
}

// --- sizes (each records what its writer below reads, in the same order) ---

function optionSize(o: HeaderValueOption): number {
  const option = reserve();
  const header = reserve();
  const value =
    (o.header.key === '' ? 0 : strField(o.header.key)) +
    (o.header.value === '' ? 0 : strField(o.header.value));
  sizes[header] = value;
  const action = APPEND_ACTION[o.append_action ?? 'APPEND_IF_EXISTS_OR_ADD'];
  const size = lenField(value) + (action === 0 ? 0 : 2);
  sizes[option] = size;
  return lenField(size);
}

/** Size of a google.protobuf.Value field, or -1 for kinds this encoder leaves to the fallback. */
function valueSize(v: ProtoValue): number {
  const slot = reserve();
  let size: number;
  if ('stringValue' in v) size = strField(v.stringValue);
  else if ('numberValue' in v) size = 1 + 8;
  else if ('boolValue' in v || 'nullValue' in v) size = 2;
  else return -1;
  sizes[slot] = size;
  return lenField(size);
}

function structSize(s: ProtoStruct): number {
  let size = 0;
  const fields = s.fields;
  for (const key in fields) {
    if (!Object.hasOwn(fields, key)) continue;
    const value = fields[key];
    if (value === undefined) continue;
    const entry = reserve();
    const keySize = strField(key);
    const valueField = valueSize(value);
    if (valueField < 0) return -1;
    sizes[entry] = keySize + valueField;
    size += lenField(keySize + valueField);
  }
  return size;
}

// --- writers ---------------------------------------------------------------

function writeOption(w: Writer, field: number, o: HeaderValueOption): void {
  w.open(field);
  w.open(1);
  if (o.header.key !== '') w.str(1, o.header.key);
  if (o.header.value !== '') w.str(2, o.header.value);
  const action = APPEND_ACTION[o.append_action ?? 'APPEND_IF_EXISTS_OR_ADD'];
  if (action !== 0) {
    w.tag(3, WIRE_VARINT);
    w.varint(action);
  }
}

function writeStruct(w: Writer, field: number, s: ProtoStruct): void {
  w.open(field);
  const fields = s.fields;
  for (const key in fields) {
    if (!Object.hasOwn(fields, key)) continue;
    const v = fields[key];
    if (v === undefined) continue;
    w.open(1);
    w.str(1, key);
    w.open(2);
    if ('stringValue' in v) w.str(3, v.stringValue);
    else if ('numberValue' in v) {
      w.tag(2, WIRE_FIXED64);
      w.buf.writeDoubleLE(v.numberValue, w.pos);
      w.pos += 8;
    } else if ('boolValue' in v) {
      w.tag(4, WIRE_VARINT);
      w.varint(v.boolValue ? 1 : 0);
    } else {
      w.tag(1, WIRE_VARINT);
      w.varint(0);
    }
  }
}

function httpStatusCode(code: HttpStatusCodeName | number): number {
  return typeof code === 'number' ? code : HTTP_STATUS[code];
}

/**
 * Encodes `response`, or returns `undefined` when it uses a field this
 * encoder does not cover (the caller then uses the generic encoder).
 * `reserved` bytes (default 0) are left unwritten before the message, so a
 * transport can put its frame prefix there without copying the message.
 */
export function encodeCheckResponse(response: CheckResponse, reserved = 0): Buffer | undefined {
  count = 0;
  next = 0;
  const { code, message } = response.status;
  const statusSlot = reserve();
  const status = (code === 0 ? 0 : 1 + varintSize(code)) + (message ? strField(message) : 0);
  sizes[statusSlot] = status;
  const bodySlot = reserve();
  let body: number;
  let bodyField: number;
  if ('ok_response' in response) {
    const ok = response.ok_response;
    if (
      (ok.response_headers_to_add?.length ?? 0) > 0 ||
      (ok.query_parameters_to_set?.length ?? 0) > 0 ||
      (ok.query_parameters_to_remove?.length ?? 0) > 0
    ) {
      return undefined;
    }
    bodyField = 3;
    body = 0;
    for (const o of ok.headers ?? []) body += optionSize(o);
    for (const name of ok.headers_to_remove ?? []) body += strField(name);
  } else {
    const denied = response.denied_response;
    bodyField = 2;
    const httpCode = httpStatusCode(denied.status.code);
    const httpStatus = httpCode === 0 ? 0 : 1 + varintSize(httpCode);
    record(httpStatus);
    body = lenField(httpStatus);
    for (const o of denied.headers ?? []) body += optionSize(o);
    if (denied.body) body += strField(denied.body);
  }
  sizes[bodySlot] = body;
  const meta = response.dynamic_metadata;
  let metaField = 0;
  if (meta !== undefined) {
    const metaSlot = reserve();
    const metaSize = structSize(meta);
    if (metaSize < 0) return undefined;
    sizes[metaSlot] = metaSize;
    metaField = lenField(metaSize);
  }
  const total = lenField(status) + lenField(body) + metaField;

  const w = new Writer(total, reserved);
  w.open(1);
  if (code !== 0) {
    w.tag(1, WIRE_VARINT);
    w.varint(code);
  }
  if (message) w.str(2, message);
  w.open(bodyField);
  if ('ok_response' in response) {
    for (const o of response.ok_response.headers ?? []) writeOption(w, 2, o);
    for (const name of response.ok_response.headers_to_remove ?? []) w.str(5, name);
  } else {
    const denied = response.denied_response;
    const httpCode = httpStatusCode(denied.status.code);
    w.open(1);
    if (httpCode !== 0) {
      w.tag(1, WIRE_VARINT);
      w.varint(httpCode);
    }
    for (const o of denied.headers ?? []) writeOption(w, 2, o);
    if (denied.body) w.str(3, denied.body);
  }
  if (meta !== undefined) writeStruct(w, 4, meta);
  // Every recorded size read back and the buffer exactly filled, or the generic encoder answers.
  return w.pos === reserved + total && next === count ? w.buf : undefined;
}
