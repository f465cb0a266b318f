/**
 * Builds the policy context keys for one request, as documented in the
 * README's policy reference. Pure: the clock arrives as an argument.
 */
import type { ContextInput, ContextValue } from '../policy/types.js';
import { issuerKeyPrefix, type Principal } from '../identity/principal.js';
import type { AuthzRequest } from '../request/types.js';
import type { RouteMatch } from '../route/table.js';

/** Headers never exposed as `http:header/<name>`: they carry credentials. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

function claimValue(value: unknown): ContextValue | undefined {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return value;
  }
  if (Array.isArray(value)) {
    const items = value.filter(
      (v): v is string | number | boolean =>
        typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean',
    );
    return items;
  }
  return undefined;
}

/** Context keys that depend on the request and the caller, not on a role. */
export function requestContext(
  request: AuthzRequest,
  principal: Principal | undefined,
  route: RouteMatch | undefined,
  nowMs: number,
): Record<string, ContextValue> {
  const ctx: Record<string, ContextValue> = {
    'aws:CurrentTime': new Date(nowMs).toISOString(),
    'aws:EpochTime': Math.floor(nowMs / 1000),
    'aws:SecureTransport': request.secure,
    'http:method': request.method,
    'http:path': request.path,
    'http:host': request.host,
  };
  if (request.sourceAddress !== undefined) ctx['aws:SourceIp'] = request.sourceAddress;
  if (request.sourcePrincipal !== undefined) {
    ctx['envoy:source/principal'] = request.sourcePrincipal;
  }
  for (const [name, value] of Object.entries(request.headers)) {
    if (!SECRET_HEADERS.has(name)) ctx[`http:header/${name}`] = value;
  }
  for (const [name, values] of request.query) {
    if (values[0] !== undefined) ctx[`http:query/${name}`] = values[0];
  }
  for (const [key, value] of Object.entries(request.contextExtensions)) {
    ctx[`envoy:context/${key}`] = value;
  }
  if (route) {
    for (const [key, value] of Object.entries(route.tags)) ctx[`aws:ResourceTag/${key}`] = value;
  }
  if (principal) {
    for (const [claim, raw] of Object.entries(principal.claims)) {
      const value = claimValue(raw);
      if (value !== undefined) ctx[`jwt:${claim}`] = value;
    }
    const prefix = issuerKeyPrefix(principal.issuer);
    if (principal.kind === 'jwt') ctx[`${prefix}:sub`] = principal.subject;
    const aud = claimValue(principal.claims['aud']);
    if (aud !== undefined) ctx[`${prefix}:aud`] = aud;
    const amr = claimValue(principal.claims['amr']);
    if (amr !== undefined) {
      ctx[`${prefix}:amr`] = amr;
      ctx['aws:MultiFactorAuthPresent'] = Array.isArray(amr) && amr.includes('mfa');
    }
    if (principal.groups !== undefined) ctx['rolegate:groups'] = [...principal.groups];
    for (const [tag, value] of Object.entries(principal.tags ?? {})) {
      ctx[`aws:PrincipalTag/${tag}`] = value;
    }
    for (const [claim, raw] of Object.entries(principal.claims)) {
      // One level of nesting (`jwt:realm_access.roles`), the shape IdPs use for roles.
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) continue;
      for (const [inner, innerRaw] of Object.entries(raw as Record<string, unknown>)) {
        const value = claimValue(innerRaw);
        if (value !== undefined) ctx[`jwt:${claim}.${inner}`] = value;
      }
    }
    const iat = principal.claims['iat'];
    if (typeof iat === 'number') ctx['aws:TokenIssueTime'] = new Date(iat * 1000).toISOString();
  }
  return ctx;
}

/** Adds the keys that name the session of one assumed role. */
export function roleContext(
  base: Readonly<Record<string, ContextValue>>,
  roleArn: string,
  roleName: string,
  principal: Principal,
): ContextInput {
  return {
    ...base,
    'aws:PrincipalArn': roleArn,
    'aws:userid': `${roleName}:${principal.subject}`,
  };
}
