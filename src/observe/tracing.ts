/**
 * OpenTelemetry spans around each Check, opt-in through the standard
 * `OTEL_*` environment variables. Off (the default), no tracer exists and a
 * check pays one property read. On, each check gets a `rolegate.check` span
 * whose parent is the W3C trace context (`traceparent`, `tracestate`) of the
 * HTTP request Envoy asks about, so the span joins the caller's trace.
 *
 * Spans carry the decision, never a header value, a token or a claim.
 */

import {
  nonEmpty,
  TRACING_OFF,
  TracingConfigError,
  type BatchOptions,
  type Env,
  type Tracing,
} from './tracing-shared.js';

export * from './tracing-shared.js';

/**
 * Which exporters the environment asks for; empty when tracing is off.
 * Off unless `OTEL_TRACES_EXPORTER` names an exporter other than `none`, or
 * (with it unset) `OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set. `OTEL_SDK_DISABLED=true`
 * always turns it off. Supported exporters: `otlp` (OTLP over HTTP/JSON)
 * and `console`.
 */
export function tracesExportersFromEnv(env: Env): ('otlp' | 'console')[] {
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return [];
  const list = env['OTEL_TRACES_EXPORTER'];
  if (!nonEmpty(list)) {
    return nonEmpty(env['OTEL_EXPORTER_OTLP_ENDPOINT']) ||
      nonEmpty(env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'])
      ? ['otlp']
      : [];
  }
  const names = [...new Set(list.split(',').map((s) => s.trim().toLowerCase()))].filter(
    (s) => s !== '',
  );
  if (names.includes('none')) return [];
  const out: ('otlp' | 'console')[] = [];
  for (const name of names) {
    if (name === 'otlp' || name === 'console') out.push(name);
    else {
      throw new TracingConfigError(
        `OTEL_TRACES_EXPORTER: unsupported exporter "${name}"; rolegate supports otlp, console, none`,
      );
    }
  }
  return out;
}

/**
 * Tracing as the standard `OTEL_*` variables say (see
 * {@link tracesExportersFromEnv}); {@link TRACING_OFF} when they ask for none.
 * The OpenTelemetry SDK (tracing-sdk.ts) is imported only when they ask for
 * an exporter: it is about 7 MB of heap that tracing off would never use.
 * The OTLP exporter reads its own endpoint, headers and timeout variables;
 * `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` name the resource.
 * Rejects with {@link TracingConfigError} for settings it cannot honour.
 */
export async function tracingFromEnv(env: Env): Promise<Tracing> {
  const exporters = tracesExportersFromEnv(env);
  if (exporters.length === 0) return TRACING_OFF;
  const protocol =
    env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'] ?? env['OTEL_EXPORTER_OTLP_PROTOCOL'] ?? '';
  if (exporters.includes('otlp') && protocol.trim().toLowerCase() === 'grpc') {
    throw new TracingConfigError(
      'OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported; rolegate exports OTLP over HTTP',
    );
  }
  const batch = batchOptionsFromEnv(env);
  const { sdkTracing } = await import('./tracing-sdk.js');
  return sdkTracing(env, exporters, batch);
}

/** `OTEL_BSP_*`: the batch span processor's delay, queue, batch size and export timeout. */
export function batchOptionsFromEnv(env: Env): BatchOptions {
  const read = (name: string): number | undefined => {
    const text = env[name];
    if (!nonEmpty(text)) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n <= 0) {
      throw new TracingConfigError(`${name} must be a positive integer`);
    }
    return n;
  };
  const out: { -readonly [K in keyof BatchOptions]: BatchOptions[K] } = {};
  const delay = read('OTEL_BSP_SCHEDULE_DELAY');
  const queue = read('OTEL_BSP_MAX_QUEUE_SIZE');
  const size = read('OTEL_BSP_MAX_EXPORT_BATCH_SIZE');
  const timeout = read('OTEL_BSP_EXPORT_TIMEOUT');
  if (delay !== undefined) out.scheduledDelayMillis = delay;
  if (queue !== undefined) out.maxQueueSize = queue;
  if (size !== undefined) out.maxExportBatchSize = size;
  if (timeout !== undefined) out.exportTimeoutMillis = timeout;
  return out;
}
