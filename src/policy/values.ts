/**
 * Typed values for condition operators: numbers, dates, booleans and base64
 * bytes (IP addresses and CIDR blocks are in `address.ts`). The same parsers
 * serve the policy side (at load time) and the request side (per request).
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
