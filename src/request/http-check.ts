/**
 * HTTP check request -> canonical {@link AuthzRequest}, for the three front
 * doors that ask over plain HTTP. Each rebuilds the original request from
 * what its proxy sends and goes through the same {@link canonicalRequest}
 * as gRPC. Nothing is guessed: a missing or repeated original-request
 * header refuses the request (`ERR_REQUEST_MISSING_ORIGINAL`, 400).
 *
 * - `nginx` (`auth_request`): method and URI from `X-Original-Method` and
 *   `X-Original-URI` (names configurable; the URI must be `$request_uri`),
 *   host from `X-Original-Host`, else `Host`.
 * - `forward` (Traefik ForwardAuth, Caddy forward_auth): `X-Forwarded-Method`,
 *   `-Uri`, `-Host`, `-Proto`.
 * - `envoy` (Envoy `http_service`): the check's own method, host and path,
 *   with the configured `path_prefix` removed.
 *
 * The client address is the TCP peer's, unless that peer is a trusted proxy
 * (`server.http.trustedProxies`, default none): then `X-Real-IP`, else the
 * right-most untrusted entry of `X-Forwarded-For`.
 */
import { BlockList } from 'node:net';
import type { ErrorCode } from '../errors.js';
import { canonicalIp, canonicalRequest, type RawRequest } from './normalize.js';
import type { AuthzRequest } from './types.js';

/** Which proxy is asking, chosen by the endpoint it calls. */
export type FrontDoor = 'nginx' | 'forward' | 'envoy';

/** What {@link httpCheckRequest} reads of the `server.http` options. */
export interface HttpCheckRequestOptions {
  /** CIDRs (or addresses) of proxies whose client-address headers are believed. Default none. */
  readonly trustedProxies: readonly string[];
  /** Default `x-original-method`. */
  readonly originalMethodHeader: string;
  /** Default `x-original-uri`. */
  readonly originalUriHeader: string;
  /** Default `x-original-host`. */
  readonly originalHostHeader: string;
  /** Envoy's `path_prefix`. Default `/envoy`. */
  readonly envoyPrefix: string;
}

/** One HTTP check call as the server received it. */
export interface HttpCheckCall {
  readonly method: string;
  /** The check request's target (`/envoy/orders/1?x=1`). */
  readonly target: string;
  /** Lower-cased names, every value in arrival order (Node's `headersDistinct`). */
  readonly headers: Readonly<Record<string, readonly string[] | undefined>>;
  /** The TCP peer's address. */
  readonly peerIp?: string;
}

/** The headers that carry the original request; they never reach the pipeline's header map. */
const FORWARD_HEADERS = [
  'x-forwarded-method',
  'x-forwarded-uri',
  'x-forwarded-host',
  'x-forwarded-proto',
] as const;

/** A matcher for `trustedProxies`; built once per options object. */
const matchers = new WeakMap<readonly string[], BlockList>();

function trustList(cidrs: readonly string[]): BlockList {
  let list = matchers.get(cidrs);
  if (list === undefined) {
    list = new BlockList();
    for (const c of cidrs) {
      const [addr = '', prefix] = c.split('/');
      const ip = canonicalIp(addr);
      if (ip === undefined) continue;
      const type = ip.includes(':') ? 'ipv6' : 'ipv4';
      list.addSubnet(
        ip,
        prefix === undefined ? (type === 'ipv4' ? 32 : 128) : Number(prefix),
        type,
      );
    }
    matchers.set(cidrs, list);
  }
  return list;
}

function trusted(list: BlockList, ip: string | undefined): boolean {
  return ip !== undefined && list.check(ip, ip.includes(':') ? 'ipv6' : 'ipv4');
}

/** The client address, or a refusal when a trusted proxy sent an unreadable one. */
function clientAddress(
  call: HttpCheckCall,
  options: HttpCheckRequestOptions,
): { ip?: string; refused?: ErrorCode; viaProxy: boolean } {
  const peer = call.peerIp === undefined ? undefined : canonicalIp(call.peerIp);
  const list = trustList(options.trustedProxies);
  if (!trusted(list, peer)) return { ...(peer ? { ip: peer } : {}), viaProxy: false };
  const real = call.headers['x-real-ip'];
  if (real !== undefined) {
    const ip = real.length === 1 ? canonicalIp((real[0] ?? '').trim()) : undefined;
    return ip === undefined
      ? { refused: 'ERR_REQUEST_SOURCE_INVALID', viaProxy: true }
      : { ip, viaProxy: true };
  }
  const xff = (call.headers['x-forwarded-for'] ?? []).flatMap((v) => v.split(','));
  if (xff.length === 0) return { ...(peer ? { ip: peer } : {}), viaProxy: true };
  const hops: string[] = [];
  for (const hop of xff) {
    const ip = canonicalIp(hop.trim());
    if (ip === undefined) return { refused: 'ERR_REQUEST_SOURCE_INVALID', viaProxy: true };
    hops.push(ip);
  }
  // Right to left: the first hop no trusted proxy vouches for is the client.
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!trusted(list, hops[i])) return { ip: hops[i] as string, viaProxy: true };
  }
  return { ip: hops[0] as string, viaProxy: true };
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
 * Rebuilds the original request a proxy asks about and canonicalises it.
 * Never throws: anything missing, repeated or unreadable sets `refused`.
 */
export function httpCheckRequest(
  door: FrontDoor,
  call: HttpCheckCall,
  options: HttpCheckRequestOptions,
): AuthzRequest {
  const control = new Set<string>(
    door === 'nginx'
      ? [options.originalMethodHeader, options.originalUriHeader, options.originalHostHeader]
      : door === 'forward'
        ? FORWARD_HEADERS
        : [],
  );
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(call.headers)) {
    if (values !== undefined && !control.has(name)) headers[name] = values.join(',');
  }
  const source = clientAddress(call, options);
  if (source.refused !== undefined) return refusedRequest(source.refused, headers, undefined);

  let method: string | undefined | null;
  let target: string | undefined | null;
  let host: string | undefined | null;
  let secure = false;
  if (door === 'nginx') {
    method = single(call.headers, options.originalMethodHeader);
    target = single(call.headers, options.originalUriHeader);
    const original = single(call.headers, options.originalHostHeader);
    host = original === undefined ? single(call.headers, 'host') : original;
    secure = source.viaProxy && single(call.headers, 'x-forwarded-proto') === 'https';
  } else if (door === 'forward') {
    method = single(call.headers, 'x-forwarded-method');
    target = single(call.headers, 'x-forwarded-uri');
    host = single(call.headers, 'x-forwarded-host');
    secure = single(call.headers, 'x-forwarded-proto') === 'https';
  } else {
    method = call.method;
    const rest = call.target.startsWith(options.envoyPrefix)
      ? call.target.slice(options.envoyPrefix.length)
      : null;
    target = rest === null ? null : rest === '' || rest.startsWith('?') ? `/${rest}` : rest;
    if (target !== null && !target.startsWith('/')) target = null;
    host = single(call.headers, 'host');
    secure = source.viaProxy && single(call.headers, 'x-forwarded-proto') === 'https';
  }
  // An origin-form target only: an absolute URI or `*` here is not what any proxy sends.
  if (
    method === undefined ||
    method === null ||
    target === undefined ||
    target === null ||
    !target.startsWith('/') ||
    host === undefined ||
    host === null ||
    host === ''
  ) {
    return refusedRequest('ERR_REQUEST_MISSING_ORIGINAL', headers, source.ip);
  }
  headers['host'] = host;
  const raw: RawRequest = {
    method,
    target,
    host,
    headers,
    ...(source.ip ? { sourceIp: source.ip } : {}),
    secure,
    contextExtensions: {},
  };
  return canonicalRequest(raw);
}
