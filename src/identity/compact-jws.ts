/**
 * The JWS compact serialization read once per token: three dot-separated
 * segments, the header and payload each canonical base64url (base64url.ts)
 * of UTF-8 (malformed UTF-8 refused, a leading byte-order mark dropped, as
 * jose reads them) holding one JSON object. The signature segment is kept
 * as text: it is decoded only once a key is found, as jose did, so an
 * unknown key is reported as such whatever the signature holds.
 */
import { decodeBase64urlStrict } from './base64url.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A token split and its header and payload decoded (none of it verified). */
export interface CompactJws {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
  /** `header.payload` as sent: what the signature signs (ASCII only, as decoding checked). */
  readonly signingInput: string;
  /** The third segment, not yet decoded. */
  readonly signature: string;
}

/** Why a token is not a JWS compact serialization. */
export type CompactRefusal =
  | { readonly refused: 'encrypted' }
  | { readonly refused: 'parts'; readonly parts: number }
  | { readonly refused: 'json' };

/** The JSON object a segment encodes, or `undefined` when it holds anything else. */
export function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  const bytes = decodeBase64urlStrict(segment);
  if (bytes === undefined || bytes.length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Splits and decodes `token` (see the module comment). */
export function readCompactJws(token: string): CompactJws | CompactRefusal {
  const parts = token.split('.');
  if (parts.length === 5) return { refused: 'encrypted' };
  if (parts.length !== 3) return { refused: 'parts', parts: parts.length };
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJsonObject(h);
  const payload = header === undefined ? undefined : decodeJsonObject(p);
  if (header === undefined || payload === undefined) return { refused: 'json' };
  return { header, payload, signingInput: token.slice(0, h.length + 1 + p.length), signature: s };
}
