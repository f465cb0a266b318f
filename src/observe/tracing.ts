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
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  type Attributes,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import type { CheckOutcome } from '../decision/outcome.js';
import { formatDetermining } from './audit.js';

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

type Env = Readonly<Record<string, string | undefined>>;

const nonEmpty = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

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

/** The sampler `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` name; default `parentbased_always_on`. */
export function samplerFromEnv(env: Env): Sampler {
  const name = (env['OTEL_TRACES_SAMPLER'] ?? '').trim().toLowerCase() || 'parentbased_always_on';
  const argText = env['OTEL_TRACES_SAMPLER_ARG'];
  const ratio = () => {
    if (!nonEmpty(argText)) return 1;
    const r = Number(argText);
    if (!Number.isFinite(r) || r < 0 || r > 1) {
      throw new TracingConfigError('OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1');
    }
    return r;
  };
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio());
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
    default:
      throw new TracingConfigError(`OTEL_TRACES_SAMPLER: unsupported sampler "${name}"`);
  }
}

export interface TracingOptions {
  /** Where finished spans go (tests pass a SimpleSpanProcessor over an InMemorySpanExporter). */
  readonly spanProcessors: readonly SpanProcessor[];
  /** Default: parent-based, always on for roots. */
  readonly sampler?: Sampler;
  /** Resource attributes; `service.name` defaults to `rolegate`. */
  readonly resourceAttributes?: Readonly<Record<string, string>>;
}

/** Tracing on, with the given processors. */
export function createTracing(options: TracingOptions): Tracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'rolegate',
      ...options.resourceAttributes,
    }),
    spanProcessors: [...options.spanProcessors],
    ...(options.sampler ? { sampler: options.sampler } : {}),
  });
  return tracingWith(provider.getTracer('rolegate'), () => provider.shutdown());
}

/**
 * Tracing as the standard `OTEL_*` variables say (see
 * {@link tracesExportersFromEnv}); {@link TRACING_OFF} when they ask for none.
 * The OTLP exporter reads its own endpoint, headers and timeout variables;
 * `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` name the resource.
 * Throws {@link TracingConfigError} for settings it cannot honour.
 */
export function tracingFromEnv(env: Env): Tracing {
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
  const processors: SpanProcessor[] = exporters.map(
    (name) =>
      new BatchSpanProcessor({
        ...batch,
        exporter: name === 'otlp' ? new OTLPTraceExporter() : new ConsoleSpanExporter(),
      }),
  );
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'rolegate' }).merge(
      detectResources({ detectors: [envDetector] }),
    ),
    spanProcessors: processors,
    sampler: samplerFromEnv(env),
  });
  return tracingWith(provider.getTracer('rolegate'), () => provider.shutdown());
}

/** `OTEL_BSP_*`: the batch span processor's delay, queue, batch size and export timeout. */
export function batchOptionsFromEnv(env: Env): {
  scheduledDelayMillis?: number;
  maxQueueSize?: number;
  maxExportBatchSize?: number;
  exportTimeoutMillis?: number;
} {
  const read = (name: string): number | undefined => {
    const text = env[name];
    if (!nonEmpty(text)) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n <= 0) {
      throw new TracingConfigError(`${name} must be a positive integer`);
    }
    return n;
  };
  const out: ReturnType<typeof batchOptionsFromEnv> = {};
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

const propagator = new W3CTraceContextPropagator();

function tracingWith(tracer: Tracer, shutdown: () => Promise<void>): Tracing {
  return {
    enabled: true,
    startCheck(headers, startTime) {
      const parent =
        headers['traceparent'] === undefined
          ? ROOT_CONTEXT
          : propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
      const span = tracer.startSpan(
        CHECK_SPAN_NAME,
        { kind: SpanKind.SERVER, ...(startTime !== undefined ? { startTime } : {}) },
        parent,
      );
      return checkSpan(span);
    },
    shutdown,
  };
}

function checkSpan(span: Span): CheckSpan {
  return {
    end(outcome) {
      if (span.isRecording()) {
        const attributes: Attributes = {
          'rolegate.decision': outcome.allowed ? 'allow' : 'deny',
          'rolegate.reason': outcome.reason,
          'rolegate.decision_id': outcome.decisionId,
          'rolegate.determining': outcome.determining.map(formatDetermining),
          'rolegate.roles_considered': [...outcome.rolesConsidered],
        };
        if (outcome.role) attributes['rolegate.role'] = outcome.role.arn;
        if (outcome.route) {
          attributes['rolegate.action'] = outcome.route.action;
          attributes['rolegate.resource'] = outcome.route.resource;
        }
        span.setAttributes(attributes);
        if (outcome.reason === 'ERR_INTERNAL') {
          span.setStatus({ code: SpanStatusCode.ERROR, message: 'ERR_INTERNAL' });
        }
      }
      span.end();
    },
    fail() {
      span.setAttributes({ 'rolegate.decision': 'deny', 'rolegate.reason': 'ERR_INTERNAL' });
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'ERR_INTERNAL' });
      span.end();
    },
  };
}
