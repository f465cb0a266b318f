/**
 * One Check call end to end, transport message in, transport message out:
 * normalize, decide (upstream credentials are the decision's last phase),
 * build the response, then count, audit and trace the decision. The gRPC server
 * only hands messages to it; an error thrown here becomes the server's
 * fail-closed deny.
 */
import { performance } from 'node:perf_hooks';
import type { Auditor } from '../observe/audit.js';
import type { Metrics } from '../observe/metrics.js';
import type { Tracing } from '../observe/tracing.js';
import { normalizeCheckRequest } from '../request/normalize.js';
import { toCheckResponse } from '../response/check-response.js';
import type { CheckRequest, CheckResponse } from '../transport/grpc/messages.js';
import type { CheckOutcome } from '../decision/outcome.js';
import { check, type CheckDeps, type CredentialsPhase } from './check.js';
import type { RuntimeOptions } from './runtime.js';

/**
 * What the handler needs of the AWS integration: the STS phase and the
 * credential header names it owns. `src/aws` implements it and `main`
 * wires it in, so the pipeline never imports the integration.
 */
export interface UpstreamCredentialSource {
  readonly upstreamCredentials: CredentialsPhase;
  ownedHeaders(config: RuntimeOptions): readonly string[];
}

export interface CheckHandlerDeps extends CheckDeps {
  readonly aws: UpstreamCredentialSource;
  readonly tracing: Tracing;
  /** Metrics and audit; absent when observability is off (benchmarks). */
  readonly observe?: { readonly metrics: Metrics; readonly auditor: Auditor };
  /** Running totals, for quick reads without scraping metrics. */
  readonly decisions: { allow: number; deny: number };
}

/** Creates the handler for `Authorization/Check`. */
export function createCheckHandler(
  deps: CheckHandlerDeps,
): (message: CheckRequest) => Promise<CheckResponse> {
  // Upstream credentials are a phase of the decision, not a step after it.
  const checkDeps: CheckDeps = {
    runtime: deps.runtime,
    now: deps.now,
    newId: deps.newId,
    credentials: (outcome, config, token) => deps.aws.upstreamCredentials(outcome, config, token),
    ...(deps.grants ? { grants: deps.grants } : {}),
  };
  return async (message) => {
    const started = performance.now();
    const request = normalizeCheckRequest(message);
    const span = deps.tracing.enabled
      ? deps.tracing.startCheck(request.headers, performance.timeOrigin + started)
      : undefined;
    let outcome: CheckOutcome;
    let response: CheckResponse;
    try {
      // One configuration generation from decision to response.
      const runtime = deps.runtime();
      outcome = await check(request, checkDeps, runtime);
      const config = runtime.config.config;
      response = toCheckResponse(outcome, request.headers, {
        claimHeaders: config.headers.claims,
        requestedRoleHeader: config.headers.requestedRole,
        extraHeaders: outcome.credentialHeaders ?? {},
        ownedHeaders: deps.aws.ownedHeaders(config),
        stripInbound: config.headers.stripInbound,
      });
    } catch (err) {
      span?.fail();
      throw err;
    }
    const decision = outcome.allowed ? 'allow' : 'deny';
    deps.decisions[decision]++;
    if (deps.observe) {
      const seconds = (performance.now() - started) / 1000;
      deps.observe.metrics.checks.inc({ decision, reason: outcome.reason });
      deps.observe.metrics.checkDuration.observe({ decision }, seconds);
      deps.observe.auditor.record(request, outcome, seconds * 1e6);
    }
    span?.end(outcome);
    return response;
  };
}
