/**
 * The one canonical form of a request path. Routes, resource ARNs, the
 * `http:path` context key and the audit record all read this form and
 * nothing else, so two spellings of one resource can never get two
 * decisions. The rules (docs/request-canonicalisation.md):
 *
 * - the path starts with `/`; the query and fragment are not part of it;
 * - every `%XX` escape is decoded once (`%74reasury` is `treasury`); a `%`
 *   not followed by two hex digits is refused, and so is decoded text that
 *   is not UTF-8;
 * - dot segments (`.`, `..`, also when encoded) are resolved as RFC 3986
 *   5.2.4 does; a `..` that would climb above the root is refused;
 * - empty segments (`//`) are dropped once dot segments are resolved (a
 *   `..` after `//` removes the empty segment, as RFC 3986 does), and a
 *   trailing `/` is removed, so `/a//b/` is `/a/b` (the root stays `/`);
 * - a path that, dot segments resolved, begins with `//` is refused: URL
 *   parsers read it as `//authority/path` (RFC 3986 4.2), so the upstream
 *   could serve another path than the merged one decided;
 * - refused anywhere, raw or encoded: `\`, control characters (C0, DEL,
 *   C1), and `;` (servlet containers cut `;params` off a segment, other
 *   servers keep them: no single reading exists);
 * - refused when encoded: `/` (`%2F`, a separator inside a segment) and
 *   `%` (`%25`, which a second decoder would read as a new escape);
 * - raw characters outside printable ASCII are refused (their encoding is
 *   ambiguous); they must arrive percent-encoded as UTF-8;
 * - a raw `#` is refused: a fragment is never part of a request target, and
 *   a server that keeps it in the path would read another path;
 * - case is kept: paths are case-sensitive.
 *
 * Pure: no I/O, no globals.
 */
import type { ErrorCode } from '../errors.js';

/** Longest path accepted, in characters of the raw form. Envoy's default header limit is 60 KiB. */
export const MAX_PATH_LENGTH = 8192;

/** A canonical path, or why the raw path has none. */
export type CanonicalPathResult =
  | { readonly ok: true; readonly path: string }
  | { readonly ok: false; readonly code: ErrorCode; readonly reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

function refuse(code: ErrorCode, reason: string): CanonicalPathResult {
  return { ok: false, code, reason };
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Raw characters that never appear in a canonical segment, whatever their spelling. */
function forbiddenAnywhere(c: number): string | undefined {
  if (c < 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f)) return 'a control character';
  if (c === 0x5c) return 'a backslash';
  if (c === 0x3b) return 'a ";" (path parameter)';
  return undefined;
}

/** Raw characters refused where they stand, though allowed once percent-encoded. */
function forbiddenRaw(c: number): string | undefined {
  if (c === 0x23) return 'a "#" (a fragment is not part of a request target)';
  if (c > 0x7e || c === 0x20) return 'a raw character outside printable ASCII';
  return undefined;
}

type Segment = { readonly ok: true; readonly text: string } | CanonicalPathResult;

/** Decodes one raw segment (no `/` inside) into its canonical text. */
function decodeSegment(raw: string): Segment {
  if (!raw.includes('%')) {
    for (let i = 0; i < raw.length; i++) {
      const c = raw.charCodeAt(i);
      const why = forbiddenAnywhere(c) ?? forbiddenRaw(c);
      if (why !== undefined) return refuse('ERR_PATH_INVALID', `the path holds ${why}`);
    }
    return { ok: true, text: raw };
  }
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      const hi = hexValue(raw.charCodeAt(i + 1));
      const lo = hexValue(raw.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return refuse('ERR_PATH_INVALID', 'a "%" is not a percent-escape');
      const b = hi * 16 + lo;
      if (b === 0x2f)
        return refuse('ERR_PATH_ENCODED_SEPARATOR', 'an encoded "/" inside a segment');
      if (b === 0x25) return refuse('ERR_PATH_INVALID', 'an encoded "%" (double encoding)');
      const why = forbiddenAnywhere(b);
      if (why !== undefined) return refuse('ERR_PATH_INVALID', `the path encodes ${why}`);
      bytes.push(b);
      i += 2;
      continue;
    }
    const why = forbiddenAnywhere(c) ?? forbiddenRaw(c);
    if (why !== undefined) return refuse('ERR_PATH_INVALID', `the path holds ${why}`);
    bytes.push(c);
  }
  let text: string;
  try {
    text = utf8.decode(Uint8Array.from(bytes));
  } catch {
    return refuse('ERR_PATH_INVALID', 'percent-escapes that are not UTF-8');
  }
  // Decoded multi-byte text may still hold C1 controls or separators.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const why = forbiddenAnywhere(c);
    if (why !== undefined) return refuse('ERR_PATH_INVALID', `the path encodes ${why}`);
    if (c === 0x2028 || c === 0x2029) {
      return refuse('ERR_PATH_INVALID', 'the path encodes a line separator');
    }
  }
  return { ok: true, text };
}

/**
 * The canonical form of a path that is already canonical but for a trailing
 * `/`, or `undefined` when it needs the full rules: printable ASCII without
 * `%`, `\`, `;`, `#` or a space, no empty segment and no dot segment. Such a
 * path decodes to itself segment by segment, so the full rules would give
 * the same answer; it is the form nearly every request arrives in, and it
 * is answered without splitting or allocating.
 */
function alreadyCanonical(raw: string): string | undefined {
  let segmentStart = 1;
  for (let i = 1; i <= raw.length; i++) {
    const c = i < raw.length ? raw.charCodeAt(i) : 0x2f;
    if (c === 0x2f) {
      const length = i - segmentStart;
      // An empty segment (`//`) anywhere but at the end takes part in dot-segment removal.
      if (length === 0 && i < raw.length) return undefined;
      if (length === 1 && raw.charCodeAt(segmentStart) === 0x2e) return undefined;
      if (
        length === 2 &&
        raw.charCodeAt(segmentStart) === 0x2e &&
        raw.charCodeAt(segmentStart + 1) === 0x2e
      ) {
        return undefined;
      }
      segmentStart = i + 1;
      continue;
    }
    // Outside printable ASCII, or one of the characters the full rules look at.
    if (c <= 0x20 || c >= 0x7f || c === 0x25 || c === 0x5c || c === 0x3b || c === 0x23) {
      return undefined;
    }
  }
  return raw.length > 1 && raw.endsWith('/') ? raw.slice(0, -1) : raw;
}

/**
 * The canonical form of `raw` (the path part of the request target, without
 * `?query`), or a refusal with its catalogue code.
 */
export function canonicalPath(raw: string): CanonicalPathResult {
  if (raw.length > MAX_PATH_LENGTH) return refuse('ERR_PATH_INVALID', 'the path is too long');
  if (!raw.startsWith('/')) return refuse('ERR_PATH_INVALID', 'the path does not start with "/"');
  const plain = alreadyCanonical(raw);
  if (plain !== undefined) return { ok: true, path: plain };
  return canonicalPathByRules(raw);
}

/**
 * {@link canonicalPath} without its shortcut for paths already canonical:
 * every rule applied segment by segment. Exported so tests can hold the
 * shortcut to the same answers.
 */
export function canonicalPathByRules(raw: string): CanonicalPathResult {
  if (raw.length > MAX_PATH_LENGTH) return refuse('ERR_PATH_INVALID', 'the path is too long');
  if (!raw.startsWith('/')) return refuse('ERR_PATH_INVALID', 'the path does not start with "/"');
  // Empty segments take part in dot-segment removal, as RFC 3986 5.2.4 has
  // it (`/a//..` is `/a/`, not `/`), and are dropped only afterwards.
  const out: string[] = [];
  const parts = raw.split('/');
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i] as string;
    if (part === '') {
      if (i < parts.length - 1) out.push('');
      continue;
    }
    const seg = decodeSegment(part);
    if (!('text' in seg)) return seg;
    if (seg.text === '.') continue;
    if (seg.text === '..') {
      if (out.length === 0) return refuse('ERR_PATH_TRAVERSAL', 'a ".." climbs above the root');
      out.pop();
      continue;
    }
    out.push(seg.text);
  }
  // `//x/...` (also as `/.//x`, `/a/..//x`) is a network-path reference to a
  // URL parser (RFC 3986 4.2): the upstream may read `x` as a host and serve
  // the rest, while merging would decide on `/x/...`.
  if (out[0] === '') {
    return refuse('ERR_PATH_NETWORK_PATH', 'the path begins with "//" (a network-path reference)');
  }
  return { ok: true, path: `/${out.filter((seg) => seg !== '').join('/')}` };
}
