/**
 * HTTP check request -> canonical {@link AuthzRequest}, for the three front
 * doors that ask over plain HTTP. Each rebuilds the original request from
 * what its proxy sends and goes through the same {@link canonicalRequest}
 * as gRPC. Nothing is guessed: a missing or repeated original-request
 * header refuses the request (`ERR_REQUEST_MISSING_ORIGINAL`, 400).
 *
 * - `nginx` (`auth_request`): method and URI from `X-Original-Method` and
 *   `X-Original-URI` (names configurable; the URI must be `$request_uri`),
 *   host from `X-Original-Host`, else `Host`. A URI naming the auth
 *   location itself (`$uri` sent by mistake) is refused.
 * - `forward` (Traefik ForwardAuth, Caddy forward_auth): `X-Forwarded-Method`,
 *   `-Uri`, `-Host`.
 * - `envoy` (Envoy `http_service`): the check's own method, host and path,
 *   with the configured `path_prefix` removed.
 *
 * Forwarded information (docs/request-canonicalisation.md, "Who is believed
 * for what") is read only from a TCP peer in `server.http.trustedProxies`
 * (default none): the client address is the right-most `X-Forwarded-For`
 * entry no trusted proxy holds (what the last proxy itself appended), the
 * scheme is `X-Forwarded-Proto`. `X-Real-IP` and `Forwarded` carry no chain
 * (nothing says which hop wrote them) and are never read. From any other
 * peer, the client is the peer and the request is plain HTTP.
 */
import type { ErrorCode } from '../errors.js';
import { cidrContains, parseCidr, parseIp, type Cidr } from '../policy/address.js';
import { canonicalIp, canonicalRequest, type RawRequest } from './normalize.js';
import type { FrontDoor, HttpCheckCall } from '../wire/http-check.js';
import type { AuthzRequest } from './types.js';

/** What {@link httpCheckRequest} reads of the `server.http` options. */
export interface HttpCheckRequestOptions {
  /** CIDRs (or addresses) of proxies whose forwarded headers are believed. Default none. */
  readonly trustedProxies: readonly string[];
  /** Default `x-original-method`. */
  readonly originalMethodHeader: string;
  /** Default `x-original-uri`. */
  readonly originalUriHeader: string;
  /** Default `x-original-host`. */
  readonly originalHostHeader: string;
  /** Envoy's `path_prefix`. Default `/envoy`. */
  readonly envoyPrefix: string;
  /** nginx's auth location (the `auth_request` target). Default `/_rolegate`. */
  readonly nginxAuthLocation: string;
}

/** The headers that carry the original request; they never reach the pipeline's header map. */
const FORWARD_HEADERS: ReadonlySet<string> = new Set([
  'x-forwarded-method',
  'x-forwarded-uri',
  'x-forwarded-host',
  'x-forwarded-proto',
]);

/** Envoy's `http_service` sends the original request as the check itself: no control headers. */
const NO_CONTROL_HEADERS: ReadonlySet<string> = new Set();

/** nginx's control header names, one set per options object (read on every call). */
const nginxControl = new WeakMap<HttpCheckRequestOptions, ReadonlySet<string>>();

function controlHeaders(door: FrontDoor, options: HttpCheckRequestOptions): ReadonlySet<string> {
  if (door === 'forward') return FORWARD_HEADERS;
  if (door !== 'nginx') return NO_CONTROL_HEADERS;
  let names = nginxControl.get(options);
  if (names === undefined) {
    names = new Set([
      options.originalMethodHeader,
      options.originalUriHeader,
      options.originalHostHeader,
    ]);
    nginxControl.set(options, names);
  }
  return names;
}

/** The original request's headers, repeats joined with `,`, without the door's control headers. */
function requestHeaders(call: HttpCheckCall, control: ReadonlySet<string>): Record<string, string> {
  const headers: Record<string, string> = {};
  const names = Object.keys(call.headers);
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const values = call.headers[name];
    if (values === undefined || control.has(name)) continue;
    // Nearly every header arrives once: no array join for it.
    headers[name] = values.length === 1 ? (values[0] as string) : values.join(',');
  }
  return headers;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The HTTP doors carry no Envoy context extensions: one shared, frozen, empty map. */
const NO_CONTEXT_EXTENSIONS: Readonly<Record<string, string>> = Object.freeze({});

/** `trustedProxies` parsed once per options object. */
const parsedLists = new WeakMap<readonly string[], readonly Cidr[]>();

function trustList(cidrs: readonly string[]): readonly Cidr[] {
  let list = parsedLists.get(cidrs);
  if (list === undefined) {
    // The schema accepts only CIDRs parseCidr reads: nothing is dropped here.
    list = cidrs.map(parseCidr).filter((c): c is Cidr => c !== undefined);
    parsedLists.set(cidrs, list);
  }
  return list;
}

function trusted(list: readonly Cidr[], ip: string | undefined): boolean {
  if (ip === undefined || list.length === 0) return false;
  const parsed = parseIp(ip);
  return parsed !== undefined && list.some((c) => cidrContains(c, parsed));
}

/** What rolegate believes about the client: its address and whether it spoke TLS to the proxy. */
interface Forwarded {
  readonly ip?: string;
  readonly secure: boolean;
  readonly refused?: ErrorCode;
}

/** The client address from a trusted peer's X-Forwarded-For, or a refusal. */
function forwardedFor(
  values: readonly string[] | undefined,
  list: readonly Cidr[],
  peer: string,
): { ip: string } | { refused: ErrorCode } {
  const hops = (values ?? []).flatMap((v) => v.split(','));
  if (hops.length === 0) return { ip: peer };
  const canonical: string[] = [];
  for (const hop of hops) {
    const ip = canonicalIp(hop.trim());
    if (ip === undefined) return { refused: 'ERR_REQUEST_SOURCE_INVALID' };
    canonical.push(ip);
  }
  // Right to left: each trusted proxy vouches only for the hop before it; the
  // first hop no trusted proxy holds is the client, whatever it wrote to the left.
  for (let i = canonical.length - 1; i >= 0; i--) {
    if (!trusted(list, canonical[i])) return { ip: canonical[i] as string };
  }
  return { ip: canonical[0] as string };
}

/** The scheme a trusted peer reports: exactly one `http` or `https` (any case). */
function forwardedProto(values: readonly string[] | undefined): boolean | ErrorCode {
  if (values === undefined || values.length === 0) return false;
  const proto = values.length === 1 ? (values[0] as string).trim().toLowerCase() : '';
  if (proto === 'https') return true;
  if (proto === 'http') return false;
  return 'ERR_REQUEST_SCHEME_INVALID';
}

/** Client address and scheme, believed only as far as a trusted proxy wrote them. */
function forwarded(call: HttpCheckCall, options: HttpCheckRequestOptions): Forwarded {
  if (call.peerIp === undefined) return { secure: false };
  const peer = canonicalIp(call.peerIp);
  if (peer === undefined) return { secure: false, refused: 'ERR_REQUEST_SOURCE_INVALID' };
  const list = trustList(options.trustedProxies);
  if (!trusted(list, peer)) return { ip: peer, secure: false };
  const source = forwardedFor(call.headers['x-forwarded-for'], list, peer);
  if ('refused' in source) return { secure: false, refused: source.refused };
  const proto = forwardedProto(call.headers['x-forwarded-proto']);
  if (typeof proto === 'string') return { ip: source.ip, secure: false, refused: proto };
  return { ip: source.ip, secure: proto };
}

/** Exactly one value, or `undefined` (absent) / `null` (repeated: contradictory). */
function single(headers: HttpCheckCall['headers'], name: string): string | undefined | null {
  const v = headers[name];
  if (v === undefined || v.length === 0) return undefined;
  return v.length === 1 ? (v[0] as string) : null;
}

function refusedRequest(
  code: ErrorCode,
  headers: Readonly<Record<string, string>>,
  ip: string | undefined,
): AuthzRequest {
  const base = canonicalRequest({
    method: 'GET',
    target: '/',
    host: '',
    headers,
    ...(ip ? { sourceIp: ip } : {}),
    secure: false,
    contextExtensions: {},
  });
  return { ...base, method: '', path: '', host: '', refused: code };
}

/**
 * True when nginx's original URI is its auth location: the config sends
 * `$uri`, which inside the `auth_request` subrequest is the auth location's
 * own URI, so every request would be decided as that one path (and a
 * catch-all route would allow them all).
 */
function namesTheAuthLocation(target: string, options: HttpCheckRequestOptions): boolean {
  const q = target.indexOf('?');
  return (q === -1 ? target : target.slice(0, q)) === options.nginxAuthLocation;
}

/**
 * Rebuilds the original request a proxy asks about and canonicalises it.
 * Never throws: anything missing, repeated or unreadable sets `refused`.
 */
export function httpCheckRequest(
  door: FrontDoor,
  call: HttpCheckCall,
  options: HttpCheckRequestOptions,
): AuthzRequest {
  const headers = requestHeaders(call, controlHeaders(door, options));
  const source = forwarded(call, options);
  if (source.refused !== undefined) return refusedRequest(source.refused, headers, source.ip);

  let method: string | undefined | null;
  let target: string | undefined | null;
  let host: string | undefined | null;
  if (door === 'nginx') {
    method = single(call.headers, options.originalMethodHeader);
    target = single(call.headers, options.originalUriHeader);
    const original = single(call.headers, options.originalHostHeader);
    host = original === undefined ? single(call.headers, 'host') : original;
  } else if (door === 'forward') {
    method = single(call.headers, 'x-forwarded-method');
    target = single(call.headers, 'x-forwarded-uri');
    host = single(call.headers, 'x-forwarded-host');
  } else {
    method = call.method;
    const rest = call.target.startsWith(options.envoyPrefix)
      ? call.target.slice(options.envoyPrefix.length)
      : null;
    target = rest === null ? null : rest === '' || rest.startsWith('?') ? `/${rest}` : rest;
    // `/envoyx/a` is not under the prefix `/envoy`: no original request here.
    if (target !== null && !target.startsWith('/')) target = null;
    host = single(call.headers, 'host');
  }
  if (
    method === undefined ||
    method === null ||
    target === undefined ||
    target === null ||
    target === '' ||
    host === undefined ||
    host === null ||
    host === ''
  ) {
    return refusedRequest('ERR_REQUEST_MISSING_ORIGINAL', headers, source.ip);
  }
  // An absolute URI or `*` is not what any proxy sends as the original target.
  if (!target.startsWith('/')) return refusedRequest('ERR_REQUEST_TARGET_FORM', headers, source.ip);
  if (door === 'nginx' && namesTheAuthLocation(target, options)) {
    return refusedRequest('ERR_REQUEST_ORIGINAL_IS_CHECK', headers, source.ip);
  }
  headers['host'] = host;
  // No spread of a temporary object per call: the optional field is set when present.
  const raw: Mutable<RawRequest> = {
    method,
    target,
    host,
    headers,
    secure: source.secure,
    contextExtensions: NO_CONTEXT_EXTENSIONS,
  };
  if (source.ip) raw.sourceIp = source.ip;
  return canonicalRequest(raw);
}
