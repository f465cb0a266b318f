/**
 * The one decision function every transport calls. It runs the pipeline
 * (credentials -> identity -> route -> roles -> policy -> upstream AWS
 * credentials) and never throws: any failure, an STS failure included,
 * becomes a deny with its catalogue code (fail closed), through the same
 * path, so the outcome, the audit record and the response agree.
 */
import { errorCodeOf, RolegateError, type ErrorCode } from '../errors.js';
import { evaluate, explainRequest, extendContext, resolvingContext } from '../policy/index.js';
import type { Decision, Determining, EvaluationRequest } from '../policy/types.js';
import { statusForReason, type CheckOutcome } from '../decision/outcome.js';
import {
  trustExplanation,
  type Explanation,
  type RoleExplanation,
} from '../decision/explanation.js';
import type { CompiledConfig, CompiledRole } from '../generation/compiled-config.js';
import type { JwtVerifier } from '../identity/jwt.js';
import type { Principal } from '../identity/principal.js';
import { extractToken } from '../request/credentials.js';
import { revealToken, type CallerToken } from '../request/token.js';
import { peerPrincipal } from '../identity/mtls.js';
import { missingCredential } from '../identity/explain.js';
import { identityExplanationOf } from '../identity/refusal.js';
import type { AuthzRequest } from '../request/types.js';
import { admits, evaluateTrust } from '../roles/trust.js';
import { memoisedAssumableRoles } from './trust-memo.js';
import { resolveRoute } from '../route/resolve.js';
import type { RouteMatch } from '../route/table.js';
import { upstreamHeaders } from '../response/upstream-headers.js';
import { requestContextResolver, roleSessionKeys } from './context.js';
import { unsafeVariableClaim } from '../identity/variable-claims.js';
import type { GrantLookup } from '../access/grants.js';
import { sessionDecision } from './session-policy.js';
import type { Grant } from '../access/model.js';
import type { CatalogLookup } from '../catalog/snapshot.js';
import { withCatalogTags } from './catalog-tags.js';

/** The generation of configuration a check runs against; swapped whole on reload. */
export interface Generation<R extends CompiledConfig = CompiledConfig> {
  readonly compiled: R;
  readonly verifier: JwtVerifier;
  /** Ownership tags of routes with an `entity` (catalog.backstage); absent: such routes deny. */
  readonly catalog?: CatalogLookup;
}

export interface CheckDeps {
  /** The current generation; read once per check so a reload never mixes generations. */
  readonly generation: () => Generation;
  /** Clock in epoch milliseconds. */
  readonly now: () => number;
  /** Decision id generator. */
  readonly newId: () => string;
  /**
   * The STS phase: upstream AWS credentials for an allow whose route asks
   * for them (`credentials: required | optional`). Default: none, and such
   * an allow goes on without credentials (benchmarks, tests of the
   * decision alone). The gRPC handler supplies the AWS integration's.
   */
  readonly credentials?: CredentialsPhase;
  /**
   * Just-in-time grants (an in-memory cache; never the store). A role the
   * caller holds an active grant for is assumable as if its trust policy
   * admitted them. Default: none.
   */
  readonly grants?: GrantLookup;
}

/**
 * Mints upstream credentials for `outcome` (an allow on a credentials
 * route). `token` is the caller's raw token, when it presented one, for
 * AssumeRoleWithWebIdentity. Resolves to the credential headers, or to a
 * deny outcome whose `reason` is the deny's code (`ERR_STS_FAILED`); a
 * rejection is an `ERR_INTERNAL` deny.
 */
export type CredentialsPhase = (
  outcome: CheckOutcome,
  config: CompiledConfig['settings'],
  token: string | undefined,
) => Promise<{
  readonly outcome: CheckOutcome;
  readonly headers: Readonly<Record<string, string>>;
}>;

/** What the pipeline learned so far; filled in as phases complete. */
export interface Progress {
  principal?: Principal;
  route?: RouteMatch;
  rolesConsidered: string[];
  role?: CompiledRole;
  determining: Determining[];
  /** The role name each entry of `determining` belongs to (same order); set once roles were evaluated. */
  determiningRoles?: string[];
  /** Set on a deny that reached role selection: why each role did not allow. */
  explanation?: Explanation;
  /** The caller's token, extracted once; an opaque handle that no outcome or record holds. */
  token?: CallerToken;
  /** The grant under which the chosen role was assumed (not set when its trust admitted the caller). */
  grant?: Grant;
}

function deny(id: string, reason: ErrorCode, p: Progress): CheckOutcome {
  return {
    decisionId: id,
    allowed: false,
    status: statusForReason(reason),
    reason,
    rolesConsidered: p.rolesConsidered,
    determining: p.determining,
    ...(p.determiningRoles ? { determiningRoles: p.determiningRoles } : {}),
    ...(p.principal ? { principal: p.principal } : {}),
    ...(p.route ? { route: p.route } : {}),
    // No role on a deny, even one that a role would have allowed (a header
    // value that cannot be carried): the record's `role` means "allowed by".
    ...(p.explanation ? { explanation: p.explanation } : {}),
  };
}

const NOTHING_EVALUATED: ReadonlyMap<
  CompiledRole,
  { request: EvaluationRequest; decision: Decision }
> = new Map();

/**
 * The authorization half of the pipeline for an already-verified principal:
 * route, roles from trust policies, then each role's policies. Also used by
 * `rolegate simulate --config`, which supplies claims instead of a token.
 */
export function authorize(
  request: AuthzRequest,
  principal: Principal,
  config: CompiledConfig,
  nowMs: number,
  p: Progress,
  grants?: GrantLookup,
  catalog?: CatalogLookup,
): ErrorCode | 'OK' {
  const matched = resolveRoute(request, {
    routes: config.routes,
    unmatchedRoutes: config.settings.unmatchedRoutes,
  });
  if (!matched) return 'ERR_ROUTE_UNMATCHED';
  p.route = matched;
  const tagged = withCatalogTags(matched, catalog, nowMs);
  if (!tagged.ok) return tagged.code;
  const route = tagged.route;
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
  const requested = request.headers[config.settings.headers.requestedRole];
  const trusted = memoisedAssumableRoles(config.roles, principal, base, requested);
  const { considered } = trusted;
  // A grant makes its role assumable as if the trust policy admitted the caller;
  // a role the trust policy admits anyway is used without the grant.
  const granted = grants?.grantsFor(principal.issuer, principal.subject, nowMs);
  // Without grants no role is assumed under one: no set of trusted roles needed.
  const byTrust =
    granted === undefined || granted.size === 0 ? undefined : new Set(trusted.assumable);
  const grantOf = (role: CompiledRole): Grant | undefined => {
    if (byTrust === undefined || byTrust.has(role)) return undefined;
    const g = granted?.get(role.name);
    return g !== undefined && g.roleArn === role.arn ? g : undefined;
  };
  const assumable =
    granted === undefined || granted.size === 0
      ? trusted.assumable
      : considered.filter((r) => byTrust?.has(r) === true || grantOf(r) !== undefined);
  // Filled only for roles that did not allow: an allow by the first role never needs it.
  let evaluated: Map<CompiledRole, { request: EvaluationRequest; decision: Decision }> | undefined;
  // Why nothing allowed: computed on denies only, so allows never pay for it.
  const explain = (): void => {
    p.explanation = explainRoles(considered, evaluated ?? NOTHING_EVALUATED, principal, base);
  };
  if (assumable.length === 0) {
    explain();
    return requested === undefined ? 'ERR_NO_ROLE' : 'ERR_ROLE_NOT_ASSUMABLE';
  }

  // Each role is a session of its own: the request is allowed if one role allows it.
  let sawExplicitDeny = false;
  let sawEvaluationError = false;
  const denials: Determining[] = [];
  const denialRoles: string[] = [];
  const denied = (role: CompiledRole, d: readonly Determining[]): void => {
    denials.push(...d);
    for (let i = 0; i < d.length; i++) denialRoles.push(role.name);
  };
  for (const role of assumable) {
    p.rolesConsidered.push(role.name);
    const req: EvaluationRequest = {
      action: route.action,
      resource: route.resource,
      context: extendContext(base, roleSessionKeys(role.arn, role.name, principal)),
    };
    const decision: Decision = evaluate(role.permissions, req);
    // A condition that could not be read against the request might have been
    // meant to deny: such a role never allows (fail closed).
    // Under a grant with a session policy, that policy must allow too (the session layer).
    const grant = decision.decision === 'Allow' ? grantOf(role) : undefined;
    const session = grant === undefined ? undefined : sessionDecision(grant, req);
    if (decision.errors.length === 0 && decision.decision === 'Allow' && allows(session)) {
      p.role = role;
      if (grant !== undefined) p.grant = grant;
      p.determining = [...decision.determining, ...(session?.determining ?? [])];
      p.determiningRoles = p.determining.map(() => role.name);
      return 'OK';
    }
    if (session !== undefined && decision.errors.length === 0 && decision.decision === 'Allow') {
      if (session.decision === 'ExplicitDeny') sawExplicitDeny = true;
      if (session.errors.length > 0) sawEvaluationError = true;
      denied(role, session.determining);
      continue;
    }
    // Only a deny is explained, so only roles that did not allow are kept for it.
    (evaluated ??= new Map()).set(role, { request: req, decision });
    if (decision.errors.length > 0) {
      sawEvaluationError = true;
      denied(role, decision.determining);
      continue;
    }
    if (decision.decision === 'ExplicitDeny') sawExplicitDeny = true;
    denied(role, decision.determining);
  }
  p.determining = denials;
  p.determiningRoles = denialRoles;
  explain();
  if (sawExplicitDeny) return 'ERR_EXPLICIT_DENY';
  return sawEvaluationError ? 'ERR_POLICY_EVALUATION' : 'ERR_IMPLICIT_DENY';
}

/** True without a session layer, or when the session policy allows (no error). */
function allows(session: Decision | undefined): boolean {
  return session === undefined || (session.errors.length === 0 && session.decision === 'Allow');
}

/**
 * The explanation of a deny: for every role considered (in order), its trust
 * policy's verdict statement by statement and, for the roles it admitted,
 * which permission statements matched and which context keys were missing.
 * Re-runs the pure engine in explain mode; called on denies only.
 */
function explainRoles(
  considered: readonly CompiledRole[],
  evaluated: ReadonlyMap<CompiledRole, { request: EvaluationRequest; decision: Decision }>,
  principal: Principal,
  base: Parameters<typeof evaluateTrust>[2],
): Explanation {
  const roles = considered.map((role): RoleExplanation => {
    const trust = evaluateTrust(role, principal, base, { explain: 'always' });
    const done = evaluated.get(role);
    const trustPart = trustExplanation(admits(trust), trust.explanation);
    if (done === undefined) return { role: role.name, trust: trustPart };
    const why = explainRequest(role.permissions, done.request);
    return {
      role: role.name,
      trust: trustPart,
      permissions: {
        decision: done.decision.decision,
        evaluationError: done.decision.errors.length > 0,
        statements: why.statements,
        missingContextValues: why.missingContextValues,
      },
    };
  });
  return { roles };
}

async function decide(
  request: AuthzRequest,
  generation: Generation,
  nowMs: number,
  p: Progress,
  grants?: GrantLookup,
): Promise<ErrorCode | 'OK'> {
  // A request that could not be canonicalised is refused before anything reads it.
  if (request.refused !== undefined) return request.refused;
  const found = extractToken(request, generation.verifier.locations);
  if (found !== undefined) {
    p.token = found.token;
    // The identity phase: one of the two readers of the token.
    p.principal = await generation.verifier.verify(revealToken(found.token), found.location);
  } else {
    // No token: an mTLS peer identity may stand in, when the config allows it.
    const peer = peerPrincipal(request, generation.compiled.settings.mtls);
    if (peer === undefined) {
      const mtls = generation.compiled.settings.mtls.enabled;
      throw missingCredential(generation.verifier.locations, mtls);
    }
    p.principal = peer;
  }
  return authorize(request, p.principal, generation.compiled, nowMs, p, grants, generation.catalog);
}

/**
 * The identity phase alone, for callers other than Check (the access API):
 * the request's token verified as Check would verify it. No mTLS fallback:
 * the access API wants a person's token. Rejects with the token's catalogue
 * code, or `ERR_CREDENTIAL_MISSING`.
 */
export async function identify(request: AuthzRequest, verifier: JwtVerifier): Promise<Principal> {
  const found = extractToken(request, verifier.locations);
  if (found === undefined) throw new RolegateError('ERR_CREDENTIAL_MISSING');
  return verifier.verify(revealToken(found.token), found.location);
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
  const headers = upstreamHeaders(
    p.principal,
    p.role.arn,
    id,
    claimHeaders,
    p.grant && { id: p.grant.id, expiresAt: p.grant.expiresAt },
  );
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
    ...(p.determiningRoles ? { determiningRoles: p.determiningRoles } : {}),
    principal: p.principal,
    upstreamHeaders: headers.headers,
    ...(p.route ? { route: p.route } : {}),
    ...(p.grant ? { grant: { id: p.grant.id, expiresAt: p.grant.expiresAt } } : {}),
  };
}

/**
 * Decides one request against one configuration generation (`generation`,
 * default: the current one), read once so a reload never mixes two.
 * Never throws; never allows on error.
 */
export async function check(
  request: AuthzRequest,
  deps: CheckDeps,
  generation: Generation = deps.generation(),
): Promise<CheckOutcome> {
  const p: Progress = { rolesConsidered: [], determining: [] };
  let reason: ErrorCode | 'OK';
  const at = deps.now();
  try {
    reason = await decide(request, generation, at, p, deps.grants);
  } catch (err) {
    reason = errorCodeOf(err);
    // An identity refusal says why (actual against expected) on the deny's explanation.
    const identity = identityExplanationOf(err);
    if (identity !== undefined) p.explanation = { identity, roles: [] };
  }
  const outcome = toOutcome(deps.newId(), reason, p, generation.compiled.settings.headers.claims);
  const final =
    !outcome.allowed || outcome.route?.credentials === undefined || !deps.credentials
      ? outcome
      : p.grant?.sessionPolicy !== undefined
        ? withoutCredentials(outcome, p)
        : await withCredentials(outcome, deps.credentials, generation, p);
  // Reviews count what each grant was used for.
  if (final.allowed && p.grant !== undefined) deps.grants?.used?.(p.grant, at);
  return final;
}

/**
 * A credentials route under a grant narrowed by a session policy: STS
 * would mint credentials for the whole role, so none are minted. A route
 * that requires them denies (ERR_CREDENTIALS_NARROWED); one where they are
 * optional goes on without them, which is narrower still.
 */
function withoutCredentials(outcome: CheckOutcome, p: Progress): CheckOutcome {
  if (outcome.route?.credentials !== 'required') return outcome;
  delete p.role;
  return deny(outcome.decisionId, 'ERR_CREDENTIALS_NARROWED', p);
}

/**
 * The STS phase, last in the pipeline: an allow on a credentials route
 * gains its credential headers, or becomes a deny built like every other
 * (no role, since no role allowed the request as answered; the policy's
 * determining statements stay).
 */
async function withCredentials(
  outcome: CheckOutcome,
  phase: CredentialsPhase,
  generation: Generation,
  p: Progress,
): Promise<CheckOutcome> {
  let code: ErrorCode;
  try {
    // The STS phase: the other reader of the token (AssumeRoleWithWebIdentity).
    const token = p.token === undefined ? undefined : revealToken(p.token);
    const step = await phase(outcome, generation.compiled.settings, token);
    if (step.outcome.allowed) {
      return Object.keys(step.headers).length === 0
        ? outcome
        : { ...outcome, credentialHeaders: step.headers };
    }
    code = step.outcome.reason === 'OK' ? 'ERR_INTERNAL' : step.outcome.reason;
  } catch (err) {
    code = errorCodeOf(err);
  }
  delete p.role;
  return deny(outcome.decisionId, code, p);
}
