/** CheckRequest (the fields the pipeline reads) -> transport-neutral {@link AuthzRequest}. */
import type { CheckRequestFields } from '../wire/ext-authz.js';
import type { ErrorCode } from '../errors.js';
import { canonicalAddress, isDottedIpv4 } from '../policy/address.js';
import { canonicalPath } from './canonical-path.js';
import type { AuthzRequest } from './types.js';

function collectHeaders(
  http: NonNullable<NonNullable<CheckRequestFields['attributes']>['request']>['http'],
) {
  const headers: Record<string, string> = {};
  if (!http) return headers;
  const names = Object.keys(http.headers);
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    headers[name.toLowerCase()] = http.headers[name] as string;
  }
  // With `encode_raw_headers`, Envoy sends header_map instead of headers.
  for (const h of http.header_map?.headers ?? []) {
    const name = h.key.toLowerCase();
    const value = h.raw_value.length > 0 ? h.raw_value.toString('utf8') : h.value;
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  return headers;
}

/** The query of a request without one (most of them): shared, never written. */
const NO_QUERY: ReadonlyMap<string, readonly string[]> = new Map();

function parseQuery(query: string): ReadonlyMap<string, readonly string[]> {
  if (query === '') return NO_QUERY;
  const out = new Map<string, string[]>();
  for (const [k, v] of new URLSearchParams(query)) {
    const list = out.get(k);
    if (list) list.push(v);
    else out.set(k, [v]);
  }
  return out;
}

/** HTTP methods rolegate maps to actions: an upper-case token (RFC 9110 5.6.2, letters, digits, - and _). */
const METHOD = /^[A-Z][A-Z0-9_-]{0,31}$/;

/** Host names (letters, digits, -, _ and dots), IPv4 literals, or bracketed IPv6, each with an optional port. */
const HOST =
  /^(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/;

/** Request ids copied to the audit record: printable ASCII, bounded. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * The one spelling of a peer address (dotted IPv4 or RFC 5952 IPv6), or
 * `undefined` when the text is not one a request may carry. IPv4-mapped and
 * NAT64 IPv6 (what a dual-stack or NAT64 listener reports for an IPv4
 * client) are that IPv4 client; the other IPv6 forms that embed IPv4 are
 * refused (see `src/policy/address.ts`).
 */
export function canonicalIp(text: string): string | undefined {
  // Dotted IPv4 (every request from an IPv4 peer) is its own canonical text: no allocation.
  if (!text.includes(':')) return isDottedIpv4(text) ? text : undefined;
  const result = canonicalAddress(text);
  return result.ok ? result.ip : undefined;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A request as a transport delivers it, before anything is checked. */
export interface RawRequest {
  readonly method: string;
  /** The request target's path, query included (`/a/b?x=1`). */
  readonly target: string;
  /** The authority (Host). */
  readonly host: string;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The transport's own id for the request (Envoy's stream id). Default none. */
  readonly streamId?: string;
  readonly sourceIp?: string;
  readonly sourcePrincipal?: string;
  readonly secure: boolean;
  readonly contextExtensions: Readonly<Record<string, string>>;
}

/**
 * The edge: a raw request in, the canonical {@link AuthzRequest} out. Every
 * transport (gRPC Check, `rolegate simulate`) goes through here. Never
 * throws: what cannot be canonicalised sets `refused`, and the check denies
 * with that code before any phase reads the request.
 */
export function canonicalRequest(raw: RawRequest): AuthzRequest {
  const q = raw.target.indexOf('?');
  const pathPart = q === -1 ? raw.target : raw.target.slice(0, q);
  const query = q === -1 ? '' : raw.target.slice(q + 1);
  const lowerHost = raw.host.toLowerCase();
  // One trailing dot (the root label) is dropped; no regex on every request.
  const host = lowerHost.endsWith('.') ? lowerHost.slice(0, -1) : lowerHost;
  const method = raw.method.toUpperCase();
  const sourceAddress = raw.sourceIp ? canonicalIp(raw.sourceIp) : undefined;
  const targetForm = raw.target.startsWith('/');
  const headerId = raw.headers['x-request-id'];
  const streamId = raw.streamId ?? '';
  const canonical = canonicalPath(pathPart);
  let refused: ErrorCode | undefined;
  // Origin form only: an absolute URI or `*` is not a path any route or upstream reads alike.
  if (!targetForm) refused = 'ERR_REQUEST_TARGET_FORM';
  else if (!canonical.ok) refused = canonical.code;
  // A request target never carries a fragment (RFC 9112 3.2); servers that
  // keep `#...` in the path would read another path than the one decided.
  else if (query.includes('#')) refused = 'ERR_PATH_INVALID';
  else if (!METHOD.test(method)) refused = 'ERR_REQUEST_METHOD_INVALID';
  else if (host !== '' && !HOST.test(host)) refused = 'ERR_REQUEST_HOST_INVALID';
  // An address that was sent but cannot be read would silently skip every IpAddress Deny.
  else if (raw.sourceIp && sourceAddress === undefined) refused = 'ERR_REQUEST_SOURCE_INVALID';
  const request: Mutable<AuthzRequest> = {
    // Envoy's x-request-id joins the audit record to Envoy's access log; the stream id is the fallback.
    requestId:
      headerId !== undefined && REQUEST_ID.test(headerId)
        ? headerId
        : REQUEST_ID.test(streamId)
          ? streamId
          : '',
    method: refused === 'ERR_REQUEST_METHOD_INVALID' ? '' : method,
    path: canonical.ok ? canonical.path : '',
    query: parseQuery(query),
    host: refused === 'ERR_REQUEST_HOST_INVALID' ? '' : host,
    headers: raw.headers,
    secure: raw.secure,
    contextExtensions: raw.contextExtensions,
  };
  // Optional fields only when present (no spread of a temporary object per request).
  if (sourceAddress !== undefined) request.sourceAddress = sourceAddress;
  if (raw.sourcePrincipal) request.sourcePrincipal = raw.sourcePrincipal;
  if (refused !== undefined) request.refused = refused;
  return request;
}

/**
 * Normalises a CheckRequest through {@link canonicalRequest}: as the gRPC
 * server's decoder gives it, or as proto-loader decodes it (a superset).
 */
export function normalizeCheckRequest(message: CheckRequestFields): AuthzRequest {
  const attrs = message.attributes;
  const http = attrs?.request?.http ?? null;
  const headers = collectHeaders(http);
  const path = http?.path || headers[':path'] || '/';
  const query = http?.query ?? '';
  const sourceIp = attrs?.source?.address?.socket_address?.address;
  return canonicalRequest({
    method: http?.method || headers[':method'] || 'GET',
    target: !path.includes('?') && query !== '' ? `${path}?${query}` : path,
    host: http?.host || headers[':authority'] || headers['host'] || '',
    headers,
    ...(http?.id ? { streamId: http.id } : {}),
    ...(sourceIp ? { sourceIp } : {}),
    ...(attrs?.source?.principal ? { sourcePrincipal: attrs.source.principal } : {}),
    secure:
      (attrs?.tls_session !== null && attrs?.tls_session !== undefined) || http?.scheme === 'https',
    contextExtensions: { ...(attrs?.context_extensions ?? {}) },
  });
}
