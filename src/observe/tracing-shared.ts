/**
 * What tracing.ts (always loaded) and tracing-sdk.ts (loaded only when
 * tracing is on) share: the types of a Check's span, the error for
 * settings rolegate cannot honour, and the environment's helpers.
 */

import type { CheckOutcome } from '../decision/outcome.js';

/** Span name of one Check. */
export const CHECK_SPAN_NAME = 'rolegate.check';

/** The span of one Check, ended exactly once. */
export interface CheckSpan {
  /** Records the decision and ends the span. */
  end(outcome: CheckOutcome): void;
  /** Marks the check as failed inside rolegate (`ERR_INTERNAL`) and ends the span. */
  fail(): void;
}

export interface Tracing {
  /** False when tracing is off; `startCheck` then returns `undefined`. */
  readonly enabled: boolean;
  /**
   * Starts the span of one Check. `headers` are the HTTP request's
   * lower-cased headers; only `traceparent` and `tracestate` are read.
   * `startTime` is the receipt time in epoch ms (default: now).
   */
  startCheck(headers: Readonly<Record<string, string>>, startTime?: number): CheckSpan | undefined;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** Tracing that is off: creates nothing. */
export const TRACING_OFF: Tracing = {
  enabled: false,
  startCheck: () => undefined,
  shutdown: () => Promise.resolve(),
};

/** Thrown for `OTEL_*` settings rolegate cannot honour (typos must not pass silently). */
export class TracingConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TracingConfigError';
  }
}

/** The process environment, or a test's stand-in. */
export type Env = Readonly<Record<string, string | undefined>>;

/** True for a set, non-blank variable. */
export const nonEmpty = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

/** The batch span processor's settings from `OTEL_BSP_*`; each absent one keeps the SDK's default. */
export interface BatchOptions {
  readonly scheduledDelayMillis?: number;
  readonly maxQueueSize?: number;
  readonly maxExportBatchSize?: number;
  readonly exportTimeoutMillis?: number;
}
