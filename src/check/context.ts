/**
 * The policy context keys of one request, as documented in the README's
 * policy reference. Keys are resolved on demand: a request carries dozens of
 * headers and claims, and a decision usually reads a handful of keys. Pure:
 * the clock arrives as an argument.
 */
import type { ContextInput, ContextResolver, ContextValue } from '../policy/index.js';
import { claimAt, claimValue } from '../identity/claims.js';
import { issuerKeyPrefix, type Principal } from '../identity/principal.js';
import type { AuthzRequest } from '../request/types.js';
import type { RouteMatch } from '../route/table.js';

/** Headers never exposed as `http:header/<name>`: they carry credentials. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

/** The entry of `record` whose name equals `lowerName` ignoring case (key names are case-insensitive). */
function entryIgnoringCase(record: Readonly<Record<string, unknown>>, lowerName: string): unknown {
  if (Object.hasOwn(record, lowerName)) return record[lowerName];
  for (const name of Object.keys(record)) {
    if (name.toLowerCase() === lowerName) return record[name];
  }
  return undefined;
}

/** `jwt:<claim path>`, read by the one claim resolver (names ignore case, dots nest). */
function jwtClaim(
  claims: Readonly<Record<string, unknown>>,
  path: string,
): ContextValue | undefined {
  return claimValue(claimAt(claims, path));
}

function principalKey(principal: Principal, lowerKey: string): ContextValue | undefined {
  const claims = principal.claims;
  if (lowerKey.startsWith('jwt:')) return jwtClaim(claims, lowerKey.slice(4));
  if (lowerKey.startsWith('aws:principaltag/')) {
    const tag = entryIgnoringCase(principal.tags ?? {}, lowerKey.slice(17));
    return typeof tag === 'string' ? tag : undefined;
  }
  switch (lowerKey) {
    case 'rolegate:groups':
      return principal.groups === undefined ? undefined : [...principal.groups];
    case 'aws:tokenissuetime': {
      const iat = claims['iat'];
      return typeof iat === 'number' ? new Date(iat * 1000).toISOString() : undefined;
    }
    case 'aws:multifactorauthpresent': {
      const amr = claimValue(claimAt(claims, 'amr'));
      return amr === undefined ? undefined : Array.isArray(amr) && amr.includes('mfa');
    }
    default:
      break;
  }
  // `<issuer without https://>:sub|aud|amr`, as AWS web-identity trust policies write them.
  const prefix = `${issuerKeyPrefix(principal.issuer).toLowerCase()}:`;
  if (!lowerKey.startsWith(prefix)) return undefined;
  const field = lowerKey.slice(prefix.length);
  if (field === 'sub') return principal.kind === 'jwt' ? principal.subject : undefined;
  if (field === 'aud' || field === 'amr') return claimValue(claimAt(claims, field));
  return undefined;
}

/** Resolves the keys that depend on the request and the caller, not on a role. */
export function requestContextResolver(
  request: AuthzRequest,
  principal: Principal | undefined,
  route: RouteMatch | undefined,
  nowMs: number,
): ContextResolver {
  return (lowerKey) => {
    switch (lowerKey) {
      case 'aws:currenttime':
        return new Date(nowMs).toISOString();
      case 'aws:epochtime':
        return Math.floor(nowMs / 1000);
      case 'aws:securetransport':
        return request.secure;
      case 'aws:sourceip':
        return request.sourceAddress;
      case 'envoy:source/principal':
        return request.sourcePrincipal;
      case 'http:method':
        return request.method;
      case 'http:path':
        return request.path;
      case 'http:host':
        return request.host;
      default:
        break;
    }
    if (lowerKey.startsWith('http:header/')) {
      const name = lowerKey.slice(12);
      return SECRET_HEADERS.has(name) ? undefined : request.headers[name];
    }
    if (lowerKey.startsWith('http:query/')) {
      const name = lowerKey.slice(11);
      for (const [param, values] of request.query) {
        if (param.toLowerCase() === name) return values[0];
      }
      return undefined;
    }
    if (lowerKey.startsWith('envoy:context/')) {
      const value = entryIgnoringCase(request.contextExtensions, lowerKey.slice(14));
      return typeof value === 'string' ? value : undefined;
    }
    if (lowerKey.startsWith('aws:resourcetag/')) {
      const value = route && entryIgnoringCase(route.tags, lowerKey.slice(16));
      return typeof value === 'string' ? value : undefined;
    }
    return principal ? principalKey(principal, lowerKey) : undefined;
  };
}

/** Keys {@link principalKey} answers from the principal alone, whatever the request. */
const PRINCIPAL_KEYS = new Set([
  'rolegate:groups',
  'aws:tokenissuetime',
  'aws:multifactorauthpresent',
]);
/** Prefixes of keys {@link requestContextResolver} answers from the request, the route or the clock. */
const REQUEST_PREFIXES = ['aws:', 'http:', 'envoy:'];

/**
 * True when {@link requestContextResolver} answers `lowerKey` from the
 * principal alone: same principal object, same value, whatever the
 * request, route or time. A positive list (claims, principal tags, groups,
 * token issue time, MFA, `<issuer>:sub|aud|amr`); any other key, known or
 * not, is taken to depend on the request.
 */
export function principalOnlyKey(lowerKey: string): boolean {
  if (lowerKey.startsWith('jwt:') || lowerKey.startsWith('aws:principaltag/')) return true;
  if (PRINCIPAL_KEYS.has(lowerKey)) return true;
  if (!/:(?:sub|aud|amr)$/.test(lowerKey)) return false;
  return !REQUEST_PREFIXES.some((prefix) => lowerKey.startsWith(prefix));
}

/** The keys that name the session of one assumed role, layered over the request's context. */
export function roleSessionKeys(
  roleArn: string,
  roleName: string,
  principal: Principal,
): ContextInput {
  return {
    'aws:PrincipalArn': roleArn,
    'aws:userid': `${roleName}:${principal.subject}`,
  };
}
