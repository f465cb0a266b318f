/**
 * One check end to end, for every transport: normalize (the transport's own
 * edge), decide (upstream credentials are the decision's last phase),
 * build the transport's response, then count, audit and trace the decision.
 * The servers only hand messages to it; an error thrown here becomes the
 * server's fail-closed deny.
 */
import { performance } from 'node:perf_hooks';
import type { Auditor } from '../observe/audit.js';
import type { Metrics } from '../observe/metrics.js';
import type { Tracing } from '../observe/tracing.js';
import { normalizeCheckRequest } from '../request/normalize.js';
import { toCheckResponse, type ResponseSettings } from '../response/check-response.js';
import type { AuthzRequest } from '../request/types.js';
import type { CheckRequestFields, CheckResponse } from '../wire/ext-authz.js';
import { abandonedOutcome, type CheckOutcome } from '../decision/outcome.js';
import { check, type CheckDeps, type CredentialsPhase } from './check.js';
import type { CompiledConfig, CheckSettings } from '../generation/compiled-config.js';
import { resolveRoute } from '../route/resolve.js';
import type { DenyOptions } from '../response/deny-options.js';
import { mergeDeny, type DenyContext } from '../response/deny.js';
import { disagrees, shadowDecide, shadowLabel } from './shadow.js';
import type { CatalogLookup } from '../catalog/snapshot.js';

/** The candidate configuration of shadow mode, as the pipeline reads it per check. */
export interface ShadowCandidate {
  readonly compiled: CompiledConfig;
  /** The candidate's config hash, for the disagreement records. */
  readonly hash?: string;
}

/**
 * What the handler needs of the AWS integration: the STS phase and the
 * credential header names it owns. `src/aws` implements it and `main`
 * wires it in, so the pipeline never imports the integration.
 */
export interface UpstreamCredentialSource {
  readonly upstreamCredentials: CredentialsPhase;
  /** The credential header names; a function of `config` alone (read once per configuration). */
  ownedHeaders(config: CheckSettings): readonly string[];
}

export interface CheckHandlerDeps extends CheckDeps {
  readonly aws: UpstreamCredentialSource;
  readonly tracing: Tracing;
  /** Metrics and audit; absent when observability is off (benchmarks). */
  readonly observe?: { readonly metrics: Metrics; readonly auditor: Auditor };
  /** Running totals, for quick reads without scraping metrics. */
  readonly decisions: { allow: number; deny: number };
  /** The shadow candidate, read once per check; absent or `undefined`: no shadow evaluation. */
  readonly shadow?: () => ShadowCandidate | undefined;
}

/**
 * The shadow half of one check, run after the live response was returned:
 * evaluates the candidate, counts the pair and records a disagreement.
 * Never throws (a failure is a candidate `error`).
 */
function runShadow(
  request: AuthzRequest,
  live: CheckOutcome,
  candidate: ShadowCandidate,
  nowMs: number,
  observe: CheckHandlerDeps['observe'],
  catalog: CatalogLookup | undefined,
): void {
  const result = shadowDecide(request, live, candidate.compiled, nowMs, catalog);
  if (!observe) return;
  try {
    observe.metrics.shadowDecisions.inc({
      live: live.allowed ? 'allow' : 'deny',
      candidate: shadowLabel(result),
    });
    if (!disagrees(live, result)) return;
    observe.auditor.shadow(
      request,
      live,
      result.kind === 'error' ? { error: result.code } : { outcome: result.outcome },
      candidate.hash,
    );
  } catch {
    // Recording a shadow result must never disturb the live path.
  }
}

/**
 * The part of a check every transport shares: decide, build the
 * transport's response with the configuration generation that decided,
 * then count, audit and trace the decision. `respond` gets the outcome and
 * the response settings of that generation.
 */
export type CheckPipeline = <R>(
  request: AuthzRequest,
  respond: (outcome: CheckOutcome, settings: ResponseSettings) => R,
  abandoned?: () => boolean,
) => Promise<R>;

/**
 * The `deny` options for a deny: the global block with the matched route's
 * over it. A deny decided before routing (a 401) is routed here, so a
 * route's deny shape applies to its 401s too.
 */
function denyFor(
  request: AuthzRequest,
  outcome: CheckOutcome,
  config: CompiledConfig,
): DenyOptions | undefined {
  const global = config.settings.deny;
  if (request.refused !== undefined) return undefined;
  const route =
    outcome.route ??
    resolveRoute(request, {
      routes: config.routes,
      unmatchedRoutes: config.settings.unmatchedRoutes,
    });
  const index = /^route\[(\d+)\]$/.exec(route?.source ?? '')?.[1];
  const own = index === undefined ? undefined : config.settings.routes[Number(index)]?.deny;
  return mergeDeny(global, own);
}

/** What deny shaping reads of the request: a browser?, and the original URL. */
function denyContext(request: AuthzRequest): DenyContext {
  const acceptsHtml = /\btext\/html\b/i.test(request.headers['accept'] ?? '');
  if (request.host === '' || request.path === '') return { acceptsHtml };
  const query = new URLSearchParams();
  for (const [k, values] of request.query) for (const v of values) query.append(k, v);
  const q = query.toString();
  const scheme = request.secure ? 'https' : 'http';
  return {
    acceptsHtml,
    originalUrl: `${scheme}://${request.host}${request.path}${q ? `?${q}` : ''}`,
  };
}

const NO_ROLES: readonly string[] = [];
const NO_EXTRA_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Creates the {@link CheckPipeline} both transports (gRPC, HTTP) run. */
export function createCheckPipeline(deps: CheckHandlerDeps): CheckPipeline {
  // Upstream credentials are a phase of the decision, not a step after it.
  const checkDeps: CheckDeps = {
    generation: deps.generation,
    now: deps.now,
    newId: deps.newId,
    credentials: (outcome, config, token) => deps.aws.upstreamCredentials(outcome, config, token),
    ...(deps.grants ? { grants: deps.grants } : {}),
  };
  // The response settings an allow without credential headers gets, per configuration.
  const settingsByConfig = new WeakMap<CompiledConfig['settings'], ResponseSettings>();
  const plainSettings = (config: CompiledConfig['settings']): ResponseSettings => {
    let settings = settingsByConfig.get(config);
    if (settings === undefined) {
      settings = {
        claimHeaders: config.headers.claims,
        requestedRoleHeader: config.headers.requestedRole,
        extraHeaders: NO_EXTRA_HEADERS,
        ownedHeaders: deps.aws.ownedHeaders(config),
        stripInbound: config.headers.stripInbound,
      };
      settingsByConfig.set(config, settings);
    }
    return settings;
  };
  return async (request, respond, abandoned) => {
    const started = performance.now();
    const span = deps.tracing.enabled
      ? deps.tracing.startCheck(request.headers, performance.timeOrigin + started)
      : undefined;
    let outcome: CheckOutcome;
    let response: ReturnType<typeof respond>;
    // One configuration generation from decision to response and audit record.
    const generation = deps.generation();
    try {
      const candidate = deps.shadow?.();
      if (candidate === undefined) outcome = await check(request, checkDeps, generation);
      else {
        // One clock reading for both decisions, so time conditions agree.
        const nowMs = deps.now();
        outcome = await check(request, { ...checkDeps, now: () => nowMs }, generation);
        const live = outcome;
        // Off the response path: after this check has answered.
        setImmediate(() =>
          runShadow(request, live, candidate, nowMs, deps.observe, generation.catalog),
        );
      }
      const config = generation.compiled.settings;
      const deny = outcome.allowed ? undefined : denyFor(request, outcome, generation.compiled);
      // An allow without credential headers (nearly every call) gets its generation's settings.
      response = respond(
        outcome,
        deny === undefined && outcome.credentialHeaders === undefined
          ? plainSettings(config)
          : {
              ...plainSettings(config),
              extraHeaders: outcome.credentialHeaders ?? NO_EXTRA_HEADERS,
              ...(deny === undefined ? {} : { deny, denyContext: denyContext(request) }),
            },
      );
    } catch (err) {
      span?.fail();
      throw err;
    }
    // A caller that stopped waiting never saw this decision: count and audit
    // what it got (a fail-closed deny), so the record matches the proxy's log.
    if (abandoned?.() === true) outcome = abandonedOutcome(outcome);
    const decision = outcome.allowed ? 'allow' : 'deny';
    deps.decisions[decision]++;
    if (deps.observe) {
      const seconds = (performance.now() - started) / 1000;
      deps.observe.metrics.recordCheck(
        decision,
        outcome.reason,
        seconds,
        outcome.determining,
        outcome.determiningRoles ?? NO_ROLES,
      );
      deps.observe.auditor.record(
        request,
        outcome,
        seconds * 1e6,
        generation.compiled.sources?.hash,
      );
    }
    span?.end(outcome);
    return response;
  };
}

/** Creates the handler for `Authorization/Check`. */
export function createCheckHandler(
  deps: CheckHandlerDeps,
  pipeline: CheckPipeline = createCheckPipeline(deps),
): (message: CheckRequestFields, abandoned?: () => boolean) => Promise<CheckResponse> {
  return grpcCheckHandler(pipeline);
}

/** The `Authorization/Check` handler over a pipeline the HTTP door shares. */
export function grpcCheckHandler(
  pipeline: CheckPipeline,
): (message: CheckRequestFields, abandoned?: () => boolean) => Promise<CheckResponse> {
  return (message, abandoned) => {
    const request = normalizeCheckRequest(message);
    return pipeline(
      request,
      (outcome, settings) => toCheckResponse(outcome, request.headers, settings),
      abandoned,
    );
  };
}
