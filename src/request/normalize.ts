/** CheckRequest (as proto-loader decodes it) -> transport-neutral {@link AuthzRequest}. */
import { isIP } from 'node:net';
import type { CheckRequest } from '../transport/grpc/messages.js';
import type { AuthzRequest } from './types.js';

function collectHeaders(
  http: NonNullable<NonNullable<CheckRequest['attributes']>['request']>['http'],
) {
  const headers: Record<string, string> = {};
  if (!http) return headers;
  for (const [name, value] of Object.entries(http.headers)) headers[name.toLowerCase()] = value;
  // With `encode_raw_headers`, Envoy sends header_map instead of headers.
  for (const h of http.header_map?.headers ?? []) {
    const name = h.key.toLowerCase();
    const value = h.raw_value.length > 0 ? h.raw_value.toString('utf8') : h.value;
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  return headers;
}

function parseQuery(query: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (query === '') return out;
  for (const [k, v] of new URLSearchParams(query)) {
    const list = out.get(k);
    if (list) list.push(v);
    else out.set(k, [v]);
  }
  return out;
}

/** Normalises a CheckRequest; absent parts become empty values, never exceptions. */
export function normalizeCheckRequest(message: CheckRequest): AuthzRequest {
  const attrs = message.attributes;
  const http = attrs?.request?.http ?? null;
  const headers = collectHeaders(http);
  const rawPath = http?.path || headers[':path'] || '/';
  const q = rawPath.indexOf('?');
  const path = q === -1 ? rawPath : rawPath.slice(0, q);
  const query = q === -1 ? (http?.query ?? '') : rawPath.slice(q + 1);
  const host = (http?.host || headers[':authority'] || headers['host'] || '')
    .toLowerCase()
    .replace(/\.$/, '');
  const method = (http?.method || headers[':method'] || 'GET').toUpperCase();
  const sourceIp = attrs?.source?.address?.socket_address?.address;
  const principal = attrs?.source?.principal;
  return {
    requestId: http?.id || headers['x-request-id'] || '',
    method,
    path: path.replace(/#.*$/, ''),
    query: parseQuery(query.replace(/#.*$/, '')),
    host,
    headers,
    ...(sourceIp && isIP(sourceIp) !== 0 ? { sourceAddress: sourceIp } : {}),
    ...(principal ? { sourcePrincipal: principal } : {}),
    secure:
      (attrs?.tls_session !== null && attrs?.tls_session !== undefined) || http?.scheme === 'https',
    contextExtensions: { ...(attrs?.context_extensions ?? {}) },
  };
}
