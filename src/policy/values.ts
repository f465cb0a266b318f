/**
 * Typed values for condition operators: numbers, dates, booleans, base64
 * bytes and IP addresses / CIDR blocks. The same parsers serve the policy
 * side (at load time) and the request side (per request).
 */

const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/** A decimal number (integer or with a fraction), or `undefined`. */
export function parseNumber(text: string): number | undefined {
  if (!NUMBER_RE.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

const EPOCH_RE = /^-?\d+(?:\.\d+)?$/;
const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Milliseconds since the epoch for ISO 8601 text (a date, or date and time;
 * no zone means UTC) or epoch seconds; `undefined` when neither.
 */
export function parseDate(text: string): number | undefined {
  if (EPOCH_RE.test(text)) {
    const n = Number(text);
    return Number.isFinite(n) ? n * 1000 : undefined;
  }
  const m = ISO_RE.exec(text);
  if (m === null) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const frac = m[7] === undefined ? 0 : Number(`0.${m[7]}`);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (
    hour > 24 ||
    minute > 59 ||
    second > 60 ||
    (hour === 24 && (minute > 0 || second > 0 || frac > 0))
  ) {
    return undefined;
  }
  let offsetMin = 0;
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return undefined;
    offsetMin = sign * (oh * 60 + om);
  }
  const ms =
    Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59)) + Math.round(frac * 1000);
  return ms - offsetMin * 60_000;
}

/** `true`/`false` in any case, or `undefined`. */
export function parseBool(text: string): boolean | undefined {
  if (text === 'true') return true;
  if (text === 'false') return false;
  const lower = text.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  return undefined;
}

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Bytes of padded standard base64 text, or `undefined`. */
export function parseBase64(text: string): Uint8Array | undefined {
  if (!B64_RE.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'base64'));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** An IP address: IPv4 in `w[3]` with family 4, IPv6 as four 32-bit words. */
export interface Ip {
  readonly family: 4 | 6;
  readonly w: readonly [number, number, number, number];
}

/** A CIDR block: an address and its prefix length. */
export interface Cidr {
  readonly family: 4 | 6;
  readonly w: readonly [number, number, number, number];
  readonly bits: number;
}

function parseV4Num(text: string): number | undefined {
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  let leadingZero = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return undefined;
      n = n * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9) return undefined;
    if (digits === 0) leadingZero = d === 0;
    else if (leadingZero) return undefined;
    octet = octet * 10 + d;
    if (++digits > 3 || octet > 255) return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return n * 256 + octet;
}

function parseV6Words(text: string): [number, number, number, number] | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const items = s.split(':');
    for (let i = 0; i < items.length; i++) {
      const g = items[i] ?? '';
      if (i === items.length - 1 && g.includes('.')) {
        const v4 = parseV4Num(g);
        if (v4 === undefined) return undefined;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
        continue;
      }
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = groups(halves[0] ?? '');
  const right = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (left === undefined || right === undefined) return undefined;
  let all: number[];
  if (halves.length === 2) {
    const fill = 8 - left.length - right.length;
    if (fill < 1) return undefined;
    all = [...left, ...new Array<number>(fill).fill(0), ...right];
  } else {
    all = left;
  }
  if (all.length !== 8) return undefined;
  const w = (i: number): number => (all[i] ?? 0) * 65536 + (all[i + 1] ?? 0);
  return [w(0), w(2), w(4), w(6)];
}

/** Parses an IPv4 or IPv6 address; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes IPv4. */
export function parseIp(text: string): Ip | undefined {
  if (text.includes(':')) {
    const w = parseV6Words(text);
    if (w === undefined) return undefined;
    if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return { family: 4, w: [0, 0, 0, w[3]] };
    return { family: 6, w };
  }
  const n = parseV4Num(text);
  return n === undefined ? undefined : { family: 4, w: [0, 0, 0, n] };
}

/** Parses a CIDR block or bare address (/32 or /128). */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const ip = parseIp(addr);
  if (ip === undefined) return undefined;
  // A policy address written as IPv4-mapped IPv6 keeps its written family's prefix length.
  const writtenV6 = addr.includes(':');
  const max = writtenV6 ? 128 : 32;
  let bits = max;
  if (slash >= 0) {
    const b = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b) || (b.length > 1 && b.startsWith('0'))) return undefined;
    bits = Number(b);
    if (bits > max) return undefined;
  }
  if (writtenV6 && ip.family === 4) {
    // ::ffff:a.b.c.d/n — express as an IPv4 block when the prefix covers the mapping.
    if (bits < 96) return { family: 6, w: [0, 0, 0xffff, ip.w[3]], bits };
    return { family: 4, w: ip.w, bits: bits - 96 };
  }
  return { family: ip.family, w: ip.w, bits };
}

function maskWord(bitsLeft: number): number {
  if (bitsLeft >= 32) return 0xffffffff;
  if (bitsLeft <= 0) return 0;
  return (0xffffffff << (32 - bitsLeft)) >>> 0;
}

/** True when the address lies in the block. */
export function cidrContains(c: Cidr, ip: Ip): boolean {
  // The families are disjoint, as in AWS: `::/0` holds no IPv4 address. (An
  // IPv4-mapped request address already parsed as IPv4, and a policy block
  // written as `::ffff:a.b.c.d/96..128` as the IPv4 block it spells.)
  if (c.family !== ip.family) return false;
  if (c.family === 4) {
    const m = maskWord(c.bits);
    return ((c.w[3] ^ ip.w[3]) & m) >>> 0 === 0;
  }
  for (let i = 0; i < 4; i++) {
    const m = maskWord(c.bits - i * 32);
    if (m === 0) return true;
    if ((((c.w[i] ?? 0) ^ (ip.w[i] ?? 0)) & m) >>> 0 !== 0) return false;
  }
  return true;
}
