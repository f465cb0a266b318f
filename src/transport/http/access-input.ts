/**
 * What the access API and the approvals page accept from the wire, checked
 * once before anything else reads it (docs/access.md, "Strictness"):
 *
 * - the declared content type: JSON API bodies are `application/json`
 *   (optionally `; charset=utf-8`), page forms
 *   `application/x-www-form-urlencoded`; anything else is 415;
 * - bodies: UTF-8 JSON objects with exactly the fields the call takes (zod
 *   strict objects, no coercion: `"true"` is not a boolean), a call that
 *   takes no body refuses one; form posts carry only the form's fields,
 *   each once; query parameters only those the call takes, each once;
 * - where a browser call comes from: `Sec-Fetch-Site` other than
 *   `same-origin` or `none`, or an `Origin` that is neither the Host the
 *   call was sent to nor one of `access.origins`, is refused.
 *
 * Each refusal is an {@link AccessInputError}: the client gets the catalogue
 * code and message (and, for unknown fields, their names); the operator's
 * audit record gets what was expected and what was found.
 */
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { errorCodeOf, RolegateError, type ErrorCode } from '../../errors.js';
import type { RefusalDetail } from '../../access/service.js';

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 65_536;

/** Most unknown field names echoed to the client (each cut to 64 characters). */
const MAX_FIELDS_SHOWN = 20;

/** A refused input, with the operator's explanation and, for unknown fields, their names. */
export class AccessInputError extends RolegateError {
  readonly expected: string;
  readonly actual: string;
  /** Unknown field names, for the client (cut to a bounded list). */
  readonly fields: readonly string[] | undefined;

  constructor(code: ErrorCode, why: RefusalDetail, fields?: readonly string[]) {
    super(code, `${why.actual}; expected ${why.expected}`);
    this.expected = why.expected;
    this.actual = why.actual;
    this.fields = fields?.slice(0, MAX_FIELDS_SHOWN).map((f) => f.slice(0, 64));
  }
}

/** A header value quoted for an operator's message (bounded). */
const quoted = (v: string) => JSON.stringify(v.length > 120 ? `${v.slice(0, 117)}...` : v);

/**
 * Refuses (415) unless `req` declares exactly one Content-Type of media
 * type `want` whose only parameter, if any, is `charset=utf-8`. With
 * `optional`, a request without the header passes.
 */
export function requireContentType(
  req: IncomingMessage,
  want: 'application/json' | 'application/x-www-form-urlencoded',
  optional = false,
): void {
  const values: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]?.toLowerCase() === 'content-type')
      values.push(req.rawHeaders[i + 1] ?? '');
  }
  const expected = `Content-Type: ${want} (optionally "; charset=utf-8")`;
  if (values.length === 0) {
    if (optional) return;
    throw new AccessInputError('ERR_ACCESS_CONTENT_TYPE', { expected, actual: 'no Content-Type' });
  }
  const fail = (actual: string): never => {
    throw new AccessInputError('ERR_ACCESS_CONTENT_TYPE', { expected, actual });
  };
  if (values.length > 1) fail(`${values.length} Content-Type headers`);
  const value = values[0] as string;
  const [type, ...params] = value.split(';');
  if (type?.trim().toLowerCase() !== want) fail(`Content-Type: ${quoted(value)}`);
  for (const p of params) {
    const eq = p.indexOf('=');
    const name = p.slice(0, eq).trim().toLowerCase();
    const v = p
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
    if (eq < 0 || name !== 'charset' || v !== 'utf-8' || params.length > 1) {
      fail(`Content-Type: ${quoted(value)}`);
    }
  }
}

/** The request body, at most {@link MAX_BODY_BYTES}. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES) {
      throw new AccessInputError('ERR_ACCESS_INVALID', {
        expected: `a body of at most ${MAX_BODY_BYTES} bytes`,
        actual: `more than ${MAX_BODY_BYTES} bytes`,
      });
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Refuses a non-empty body on a call that takes none (400). */
export function requireNoBody(body: Buffer): void {
  if (body.length > 0) {
    throw new AccessInputError('ERR_ACCESS_BODY_UNEXPECTED', {
      expected: 'no body (this call takes none)',
      actual: `a body of ${body.length} bytes`,
    });
  }
}

// ignoreBOM: the BOM is kept, so JSON.parse refuses it (RFC 8259 8.1: never sent).
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes `body` as UTF-8 (invalid sequences refused, never replaced). */
function utf8(body: Buffer): string {
  try {
    return UTF8.decode(body);
  } catch {
    throw new AccessInputError('ERR_INPUT_SYNTAX', {
      expected: 'a UTF-8 body',
      actual: 'bytes that are not UTF-8',
    });
  }
}

/** `body` as a JSON object. */
export function jsonObject(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8(body));
  } catch (err) {
    if (err instanceof AccessInputError) throw err;
    throw new AccessInputError('ERR_INPUT_SYNTAX', {
      expected: 'a JSON object',
      actual: `text that is not JSON (${(err as Error).message})`,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AccessInputError('ERR_INPUT_SHAPE', {
      expected: 'a JSON object',
      actual: `a JSON ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}`,
    });
  }
  return value as Record<string, unknown>;
}

const typeName = (v: unknown) =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : v === undefined ? 'nothing' : typeof v;

/**
 * `value` parsed by the strict object `schema`: unknown fields are
 * `ERR_ACCESS_UNKNOWN_FIELD` (named), anything else that does not fit is
 * `ERR_ACCESS_INVALID` with the path, the type expected and the type found.
 */
export function parseStrict<S extends z.ZodObject>(
  schema: S,
  value: Record<string, unknown>,
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const unknown = parsed.error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys' ? i.keys : [],
  );
  if (unknown.length > 0) {
    throw new AccessInputError(
      'ERR_ACCESS_UNKNOWN_FIELD',
      {
        expected: `only the fields ${Object.keys(schema.shape).join(', ')}`,
        actual: `unknown field${unknown.length === 1 ? '' : 's'} ${unknown.map((k) => quoted(k)).join(', ')}`,
      },
      unknown,
    );
  }
  const issue = parsed.error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  const found = issue?.path.reduce<unknown>(
    (v, k) =>
      typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined,
    value,
  );
  throw new AccessInputError('ERR_ACCESS_INVALID', {
    expected: `${path || 'the body'}: ${issue?.message ?? 'a valid value'}`,
    actual: `${path || 'the body'} is ${typeName(found)}${typeof found === 'number' ? ` ${found}` : ''}`,
  });
}

/** Refuses query parameters other than `allowed`, and any given twice. */
export function checkQuery(url: URL, allowed: readonly string[]): void {
  const names = [...url.searchParams.keys()];
  const unknown = [...new Set(names.filter((n) => !allowed.includes(n)))];
  if (unknown.length > 0) {
    throw new AccessInputError(
      'ERR_ACCESS_UNKNOWN_FIELD',
      {
        expected: allowed.length ? `only the query parameters ${allowed.join(', ')}` : 'no query',
        actual: `query parameter${unknown.length === 1 ? '' : 's'} ${unknown.map(quoted).join(', ')}`,
      },
      unknown,
    );
  }
  const twice = allowed.find((n) => url.searchParams.getAll(n).length > 1);
  if (twice !== undefined) {
    throw new AccessInputError('ERR_ACCESS_INVALID', {
      expected: `the query parameter ${twice} at most once`,
      actual: `${url.searchParams.getAll(twice).length} times`,
    });
  }
}

/** A form body (`application/x-www-form-urlencoded`) with only `allowed` fields, each at most once. */
export function parseForm(body: Buffer, allowed: readonly string[]): ReadonlyMap<string, string> {
  const params = new URLSearchParams(utf8(body));
  const names = [...params.keys()];
  const unknown = [...new Set(names.filter((n) => !allowed.includes(n)))];
  if (unknown.length > 0) {
    throw new AccessInputError(
      'ERR_ACCESS_UNKNOWN_FIELD',
      {
        expected: `only the form fields ${allowed.join(', ')}`,
        actual: `form field${unknown.length === 1 ? '' : 's'} ${unknown.map(quoted).join(', ')}`,
      },
      unknown,
    );
  }
  const out = new Map<string, string>();
  for (const [k, v] of params) {
    if (out.has(k)) {
      throw new AccessInputError('ERR_ACCESS_INVALID', {
        expected: `the form field ${k} at most once`,
        actual: `${params.getAll(k).length} times`,
      });
    }
    out.set(k, v);
  }
  return out;
}

/** `host[:port]` of an origin, the port dropped when it is the scheme's default. */
function hostOf(scheme: string, host: string): string | undefined {
  try {
    const u = new URL(`${scheme}//${host}`);
    return u.pathname === '/' && u.username === '' && u.search === '' ? u.host : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why a browser call must be refused as coming from elsewhere, or
 * undefined: `Sec-Fetch-Site` must be `same-origin` or `none` (typed,
 * bookmarked) when present; `Origin`, when present, must name the Host the
 * call was sent to (the default port of its scheme implied) or one of
 * `origins`. `Origin: null` (an opaque origin, or a page that sends no
 * referrer) is refused.
 */
export function crossSite(
  headers: Readonly<Record<string, string>>,
  origins: readonly string[],
): RefusalDetail | undefined {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return {
      expected: 'Sec-Fetch-Site: same-origin or none (or no Sec-Fetch-Site)',
      actual: `Sec-Fetch-Site: ${quoted(site)}`,
    };
  }
  const origin = headers['origin'];
  if (origin === undefined) return undefined;
  const host = headers['host'] ?? '';
  const expected = `Origin naming the Host ${quoted(host)}${origins.length ? ` or one of access.origins (${origins.join(', ')})` : ''} (or no Origin)`;
  let parsed: URL | undefined;
  try {
    parsed = origin === 'null' ? undefined : new URL(origin);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || parsed.origin !== origin.toLowerCase().replace(/\/$/, '')) {
    return { expected, actual: `Origin: ${quoted(origin)}` };
  }
  if (hostOf(parsed.protocol, host) === parsed.host) return undefined;
  if (origins.some((o) => URL.canParse(o) && new URL(o).origin === parsed.origin)) return undefined;
  return { expected, actual: `Origin: ${quoted(origin)}` };
}

/** Why authentication failed, for the operator. */
export function signInRefusal(err: unknown): CallerRefusal {
  const code = errorCodeOf(err);
  return {
    code: code === 'ERR_INTERNAL' ? 'ERR_CREDENTIAL_MISSING' : code,
    expected: "a token of a configured issuer where that issuer's tokens travel, valid now",
    actual:
      err instanceof RolegateError ? err.message : err instanceof Error ? err.message : String(err),
  };
}

/** Why a call was refused before anything read it: from elsewhere, or not signed in. */
export interface CallerRefusal {
  readonly code: ErrorCode;
  readonly expected: string;
  readonly actual: string;
}

/** Who is calling, or why the call is refused ({@link admitCaller}). */
export type Admission<P> =
  | { readonly ok: true; readonly principal: P }
  | { readonly ok: false; readonly principal: P | undefined; readonly refusal: CallerRefusal };

/**
 * The verified caller of an API call or a page action, or why it is
 * refused: a browser call from elsewhere ({@link crossSite}) whatever its
 * credentials, which are verified anyway, so the audit record names whose
 * browser was used; else a credential that does not verify
 * ({@link signInRefusal}).
 */
export async function admitCaller<
  R extends { readonly headers: Readonly<Record<string, string>> },
  P,
>(
  request: R,
  authenticate: (request: R) => Promise<P>,
  origins: readonly string[],
): Promise<Admission<P>> {
  const elsewhere = crossSite(request.headers, origins);
  let principal: P | undefined;
  let failed: CallerRefusal | undefined;
  try {
    principal = await authenticate(request);
  } catch (err) {
    failed = signInRefusal(err);
  }
  if (elsewhere !== undefined) {
    return { ok: false, principal, refusal: { code: 'ERR_ACCESS_CROSS_SITE', ...elsewhere } };
  }
  if (principal === undefined) {
    return { ok: false, principal, refusal: failed as CallerRefusal };
  }
  return { ok: true, principal };
}

/** What the API reads of a verified identity. */
export interface ApiPrincipal {
  readonly issuer: string;
  readonly subject: string;
  readonly groups?: readonly string[];
}

/** The parts of an HTTP request the API reads itself. */
export interface ApiRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
}
