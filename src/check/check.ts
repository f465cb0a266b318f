/**
 * The one decision function every transport calls. It runs the pipeline
 * (credentials -> identity -> route -> roles -> policy) and never throws:
 * any failure becomes a deny with its catalogue code (fail closed).
 */
import { errorCodeOf, type ErrorCode } from '../errors.js';
import { evaluate, extendContext, resolvingContext } from '../policy/index.js';
import type { Decision, Determining } from '../policy/types.js';
import type { RuntimeConfig, RuntimeRole } from './runtime.js';
import type { JwtVerifier } from '../identity/jwt.js';
import type { Principal } from '../identity/principal.js';
import { extractToken } from '../request/credentials.js';
import { peerPrincipal } from '../identity/mtls.js';
import type { AuthzRequest } from '../request/types.js';
import { assumableRoles } from '../roles/trust.js';
import { resolveRoute } from '../route/resolve.js';
import type { RouteMatch } from '../route/table.js';
import { upstreamHeaders } from '../response/upstream-headers.js';
import { requestContextResolver, roleSessionKeys } from './context.js';
import { unsafeVariableClaim } from './variable-claims.js';

/** The generation of configuration a check runs against; swapped whole on reload. */
export interface CheckRuntime<R extends RuntimeConfig = RuntimeConfig> {
  readonly config: R;
  readonly verifier: JwtVerifier;
}

export interface CheckDeps {
  /** The current runtime; read once per check so a reload never mixes generations. */
  readonly runtime: () => CheckRuntime;
  /** Clock in epoch milliseconds. */
  readonly now: () => number;
  /** Decision id generator. */
  readonly newId: () => string;
}

export type CheckStatus = 200 | 400 | 401 | 403;

/** Everything known about one decision: what the response and the audit record need. */
export interface CheckOutcome {
  readonly decisionId: string;
  readonly allowed: boolean;
  readonly status: CheckStatus;
  /** `OK` for an allow, else the catalogue code of the deny. */
  readonly reason: 'OK' | ErrorCode;
  readonly principal?: Principal;
  readonly route?: RouteMatch;
  /** Names of the roles whose permissions were evaluated (trust admitted). */
  readonly rolesConsidered: readonly string[];
  readonly role?: RuntimeRole;
  readonly determining: readonly Determining[];
  /** For an allow: the identity headers the upstream receives (validated). */
  readonly upstreamHeaders?: ReadonlyMap<string, string>;
  /** For `ERR_HEADER_VALUE_INVALID`: the header whose value could not be carried (name only). */
  readonly invalidHeader?: string;
}

/**
 * HTTP status for a deny reason: a request that cannot be read unambiguously
 * is 400, credential problems are 401, everything else 403.
 */
export function statusForReason(reason: ErrorCode): 400 | 401 | 403 {
  if (reason.startsWith('ERR_PATH_') || reason.startsWith('ERR_REQUEST_')) return 400;
  // By catalogue convention every credential and token failure is a 401.
  const unauthenticated =
    reason.startsWith('ERR_TOKEN_') ||
    reason.startsWith('ERR_CREDENTIAL_') ||
    reason === 'ERR_JWKS_UNAVAILABLE';
  return unauthenticated ? 401 : 403;
}

/** What the pipeline learned so far; filled in as phases complete. */
export interface Progress {
  principal?: Principal;
  route?: RouteMatch;
  rolesConsidered: string[];
  role?: RuntimeRole;
  determining: Determining[];
}

function deny(id: string, reason: ErrorCode, p: Progress): CheckOutcome {
  return {
    decisionId: id,
    allowed: false,
    status: statusForReason(reason),
    reason,
    rolesConsidered: p.rolesConsidered,
    determining: p.determining,
    ...(p.principal ? { principal: p.principal } : {}),
    ...(p.route ? { route: p.route } : {}),
    ...(p.role ? { role: p.role } : {}),
  };
}

/**
 * The authorization half of the pipeline for an already-verified principal:
 * route, roles from trust policies, then each role's policies. Also used by
 * `rolegate simulate --config`, which supplies claims instead of a token.
 */
export function authorize(
  request: AuthzRequest,
  principal: Principal,
  config: RuntimeConfig,
  nowMs: number,
  p: Progress,
): ErrorCode | 'OK' {
  const route = resolveRoute(request, {
    routes: config.routes,
    unmatchedRoutes: config.config.unmatchedRoutes,
  });
  if (!route) return 'ERR_ROUTE_UNMATCHED';
  p.route = route;

  // One context per request; each role only adds its session keys on top.
  const resolver = requestContextResolver(request, principal, route, nowMs);
  const unsafe = unsafeVariableClaim(
    principal,
    config.variableKeys,
    config.claimPatterns,
    config.issuers.find((i) => i.issuer === principal.issuer)?.tagClaims ?? {},
    resolver,
  );
  if (unsafe !== undefined) return 'ERR_CLAIM_VARIABLE_UNSAFE';
  const base = resolvingContext(resolver);
  const requested = request.headers[config.config.headers.requestedRole];
  const { assumable } = assumableRoles(config.roles, principal, base, requested);
  if (assumable.length === 0) {
    return requested === undefined ? 'ERR_NO_ROLE' : 'ERR_ROLE_NOT_ASSUMABLE';
  }

  // Each role is a session of its own: the request is allowed if one role allows it.
  let sawExplicitDeny = false;
  let sawEvaluationError = false;
  const denials: Determining[] = [];
  for (const role of assumable) {
    p.rolesConsidered.push(role.name);
    const decision: Decision = evaluate(role.permissions, {
      action: route.action,
      resource: route.resource,
      context: extendContext(base, roleSessionKeys(role.arn, role.name, principal)),
    });
    // A condition that could not be read against the request might have been
    // meant to deny: such a role never allows (fail closed).
    if (decision.errors.length > 0) {
      sawEvaluationError = true;
      denials.push(...decision.determining);
      continue;
    }
    if (decision.decision === 'Allow') {
      p.role = role;
      p.determining = [...decision.determining];
      return 'OK';
    }
    if (decision.decision === 'ExplicitDeny') sawExplicitDeny = true;
    denials.push(...decision.determining);
  }
  p.determining = denials;
  if (sawExplicitDeny) return 'ERR_EXPLICIT_DENY';
  return sawEvaluationError ? 'ERR_POLICY_EVALUATION' : 'ERR_IMPLICIT_DENY';
}

async function decide(
  request: AuthzRequest,
  runtime: CheckRuntime,
  nowMs: number,
  p: Progress,
): Promise<ErrorCode | 'OK'> {
  // A request that could not be canonicalised is refused before anything reads it.
  if (request.refused !== undefined) return request.refused;
  const found = extractToken(request, runtime.verifier.locations);
  if (found !== undefined) {
    p.principal = await runtime.verifier.verify(found.token, found.location);
  } else {
    // No token: an mTLS peer identity may stand in, when the config allows it.
    const peer = peerPrincipal(request, runtime.config.config.mtls);
    if (peer === undefined) return 'ERR_CREDENTIAL_MISSING';
    p.principal = peer;
  }
  return authorize(request, p.principal, runtime.config, nowMs, p);
}

/** Turns what `authorize` found into an outcome; an allow gets its validated upstream headers. */
export function toOutcome(
  id: string,
  reason: ErrorCode | 'OK',
  p: Progress,
  claimHeaders: Readonly<Record<string, string>>,
): CheckOutcome {
  if (reason !== 'OK' || !p.role || !p.principal) {
    return deny(id, reason === 'OK' ? 'ERR_INTERNAL' : reason, p);
  }
  const headers = upstreamHeaders(p.principal, p.role.arn, id, claimHeaders);
  if (!headers.ok)
    return { ...deny(id, 'ERR_HEADER_VALUE_INVALID', p), invalidHeader: headers.header };
  return {
    decisionId: id,
    allowed: true,
    status: 200,
    reason: 'OK',
    rolesConsidered: p.rolesConsidered,
    role: p.role,
    determining: p.determining,
    principal: p.principal,
    upstreamHeaders: headers.headers,
    ...(p.route ? { route: p.route } : {}),
  };
}

/**
 * Decides one request against one configuration generation (`runtime`,
 * default: the current one), read once so a reload never mixes two.
 * Never throws; never allows on error.
 */
export async function check(
  request: AuthzRequest,
  deps: CheckDeps,
  runtime: CheckRuntime = deps.runtime(),
): Promise<CheckOutcome> {
  const p: Progress = { rolesConsidered: [], determining: [] };
  let reason: ErrorCode | 'OK';
  try {
    reason = await decide(request, runtime, deps.now(), p);
  } catch (err) {
    reason = errorCodeOf(err);
  }
  return toOutcome(deps.newId(), reason, p, runtime.config.config.headers.claims);
}
