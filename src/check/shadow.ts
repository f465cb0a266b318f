/**
 * Shadow mode: every Check is decided by the live configuration and then,
 * off the response path, evaluated again against a candidate configuration
 * (its roles, policies, guardrails and routes). The live answer never waits
 * for the candidate and never depends on it: the candidate runs after the
 * response is built, on a later turn of the event loop, and anything it
 * throws is caught and counted as a candidate `error`.
 *
 * Identity is shared: the candidate sees the principal the live pipeline
 * verified. A request the live pipeline refused before a principal existed
 * (unreadable request, missing or invalid token) gets the same answer from
 * the candidate.
 */
import type { z } from 'zod';
import { errorCodeOf, type ErrorCode } from '../errors.js';
import type { CheckOutcome } from '../decision/outcome.js';
import { section, text } from '../options/fields.js';
import type { AuthzRequest } from '../request/types.js';
import { authorize, toOutcome, type Progress } from './check.js';
import type { CompiledConfig } from '../generation/compiled-config.js';
import type { CatalogLookup } from '../catalog/snapshot.js';

/** The `shadow` section: absent (default) means no shadow evaluation. */
export const shadowSchema = section({
  config: text()
    .optional()
    .describe(
      'Candidate configuration file (relative to this file) every Check is also evaluated against, off the response path; hot reloaded like the live one. Default: none.',
    ),
});

/** `shadow` options; defaults in {@link shadowSchema}. */
export type ShadowConfig = z.output<typeof shadowSchema>;

/** What the candidate said: an outcome, or `error` when evaluating it threw. */
export type ShadowResult =
  | { readonly kind: 'decided'; readonly outcome: CheckOutcome }
  | { readonly kind: 'error'; readonly code: ErrorCode };

/**
 * Evaluates `request` against `candidate` with the principal of the live
 * `live` outcome, at `nowMs` (the live decision's clock), reading routes'
 * ownership tags from the live `catalog` (the candidate has no catalog
 * source of its own; without one, a route with an `entity` denies). Pure;
 * never throws.
 */
export function shadowDecide(
  request: AuthzRequest,
  live: CheckOutcome,
  candidate: CompiledConfig,
  nowMs: number,
  catalog?: CatalogLookup,
): ShadowResult {
  try {
    const p: Progress = { rolesConsidered: [], determining: [] };
    if (live.principal === undefined || request.refused !== undefined) {
      // Decided before identity: the candidate cannot differ (identity is shared).
      return { kind: 'decided', outcome: live };
    }
    p.principal = live.principal;
    // Anything thrown here is a candidate `error` (counted, recorded), never a live concern.
    const reason: ErrorCode | 'OK' = authorize(
      request,
      live.principal,
      candidate,
      nowMs,
      p,
      undefined,
      catalog,
    );
    return {
      kind: 'decided',
      outcome: toOutcome(live.decisionId, reason, p, candidate.settings.headers.claims),
    };
  } catch (err) {
    return { kind: 'error', code: errorCodeOf(err) };
  }
}

/** `allow`, `deny` or `error`: the `candidate` label of `rolegate_shadow_decisions_total`. */
export function shadowLabel(result: ShadowResult): 'allow' | 'deny' | 'error' {
  if (result.kind === 'error') return 'error';
  return result.outcome.allowed ? 'allow' : 'deny';
}

/** True when the candidate's answer differs from the live one (decision, or reason on a deny; an error always differs). */
export function disagrees(live: CheckOutcome, result: ShadowResult): boolean {
  if (result.kind === 'error') return true;
  return live.allowed !== result.outcome.allowed || live.reason !== result.outcome.reason;
}
