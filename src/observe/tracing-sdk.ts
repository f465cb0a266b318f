/**
 * The OpenTelemetry SDK side of tracing.ts, imported only when tracing is
 * on (see tracingFromEnv there): the tracer provider, samplers, exporters
 * and the span of one Check.
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
import { formatDetermining } from './audit.js';
import {
  CHECK_SPAN_NAME,
  nonEmpty,
  TracingConfigError,
  type BatchOptions,
  type CheckSpan,
  type Env,
  type Tracing,
} from './tracing-shared.js';

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

/** Tracing on with `exporters` and the `OTEL_*` sampler and resource (tracing.ts checked the rest). */
export function sdkTracing(
  env: Env,
  exporters: readonly ('otlp' | 'console')[],
  batch: BatchOptions,
): Tracing {
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
