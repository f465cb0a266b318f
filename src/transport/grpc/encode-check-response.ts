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
} from './messages.js';

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

function strField(s: string): number {
  return lenField(utf8Length(s));
}

class Writer {
  readonly buf: Buffer;
  pos = 0;

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

  /** Tag and length of a length-delimited field whose body follows. */
  open(field: number, len: number): void {
    this.tag(field, WIRE_LEN);
    this.varint(len);
  }

  str(field: number, s: string): void {
    const len = utf8Length(s);
    this.open(field, len);
    if (len === s.length) {
      // ASCII: a byte per character, cheaper than Buffer#write for short strings.
      const buf = this.buf;
      let pos = this.pos;
      for (let i = 0; i < len; i++) buf[pos++] = s.charCodeAt(i);
      this.pos = pos;
    } else {
      this.pos += this.buf.write(s, this.pos, len, 'utf8');
    }
  }
}

// --- sizes -----------------------------------------------------------------

function headerValueSize(key: string, value: string): number {
  return (key === '' ? 0 : strField(key)) + (value === '' ? 0 : strField(value));
}

function optionSize(o: HeaderValueOption): number {
  const action = APPEND_ACTION[o.append_action ?? 'APPEND_IF_EXISTS_OR_ADD'];
  return lenField(headerValueSize(o.header.key, o.header.value)) + (action === 0 ? 0 : 2);
}

/** Body size of a google.protobuf.Value, or -1 for kinds this encoder leaves to the fallback. */
function valueSize(v: ProtoValue): number {
  if ('stringValue' in v) return strField(v.stringValue);
  if ('numberValue' in v) return 1 + 8;
  if ('boolValue' in v) return 2;
  if ('nullValue' in v) return 2;
  return -1;
}

function entrySize(key: string, v: ProtoValue): number {
  const value = valueSize(v);
  return value < 0 ? -1 : strField(key) + lenField(value);
}

function structSize(s: ProtoStruct): number {
  let size = 0;
  for (const key of Object.keys(s.fields)) {
    const value = s.fields[key];
    if (value === undefined) continue;
    const entry = entrySize(key, value);
    if (entry < 0) return -1;
    size += lenField(entry);
  }
  return size;
}

function statusSize(code: number, message: string | undefined): number {
  return (code === 0 ? 0 : 1 + varintSize(code)) + (message ? strField(message) : 0);
}

// --- writers ---------------------------------------------------------------

function writeOption(w: Writer, field: number, o: HeaderValueOption): void {
  const action = APPEND_ACTION[o.append_action ?? 'APPEND_IF_EXISTS_OR_ADD'];
  w.open(field, optionSize(o));
  w.open(1, headerValueSize(o.header.key, o.header.value));
  if (o.header.key !== '') w.str(1, o.header.key);
  if (o.header.value !== '') w.str(2, o.header.value);
  if (action !== 0) {
    w.tag(3, WIRE_VARINT);
    w.varint(action);
  }
}

function writeStruct(w: Writer, field: number, s: ProtoStruct, size: number): void {
  w.open(field, size);
  for (const key of Object.keys(s.fields)) {
    const v = s.fields[key];
    if (v === undefined) continue;
    w.open(1, entrySize(key, v));
    w.str(1, key);
    w.open(2, valueSize(v));
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
  const meta = response.dynamic_metadata;
  const metaSize = meta === undefined ? 0 : structSize(meta);
  if (metaSize < 0) return undefined;
  const { code, message } = response.status;
  const status = statusSize(code, message);
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
    for (const o of ok.headers ?? []) body += lenField(optionSize(o));
    for (const name of ok.headers_to_remove ?? []) body += strField(name);
  } else {
    const denied = response.denied_response;
    bodyField = 2;
    const httpCode = httpStatusCode(denied.status.code);
    body = lenField(httpCode === 0 ? 0 : 1 + varintSize(httpCode));
    for (const o of denied.headers ?? []) body += lenField(optionSize(o));
    if (denied.body) body += strField(denied.body);
  }
  const total = lenField(status) + lenField(body) + (meta === undefined ? 0 : lenField(metaSize));

  const w = new Writer(total, reserved);
  w.open(1, status);
  if (code !== 0) {
    w.tag(1, WIRE_VARINT);
    w.varint(code);
  }
  if (message) w.str(2, message);
  w.open(bodyField, body);
  if ('ok_response' in response) {
    for (const o of response.ok_response.headers ?? []) writeOption(w, 2, o);
    for (const name of response.ok_response.headers_to_remove ?? []) w.str(5, name);
  } else {
    const denied = response.denied_response;
    const httpCode = httpStatusCode(denied.status.code);
    w.open(1, httpCode === 0 ? 0 : 1 + varintSize(httpCode));
    if (httpCode !== 0) {
      w.tag(1, WIRE_VARINT);
      w.varint(httpCode);
    }
    for (const o of denied.headers ?? []) writeOption(w, 2, o);
    if (denied.body) w.str(3, denied.body);
  }
  if (meta !== undefined) writeStruct(w, 4, meta, metaSize);
  return w.pos === reserved + total ? w.buf : undefined;
}
