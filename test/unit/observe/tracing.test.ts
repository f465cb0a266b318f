import { afterEach, describe, expect, it } from '@jest/globals';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace';
import { createTracing, samplerFromEnv } from '../../../src/observe/tracing-sdk.js';
import {
  batchOptionsFromEnv,
  CHECK_SPAN_NAME,
  tracesExportersFromEnv,
  TracingConfigError,
  tracingFromEnv,
  TRACING_OFF,
  type Tracing,
} from '../../../src/observe/tracing.js';
import { allowOutcome, denyOutcome, TOKEN } from './fixtures.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`;

let exporter: InMemorySpanExporter;
let tracing: Tracing;

function inMemory(): Tracing {
  exporter = new InMemorySpanExporter();
  tracing = createTracing({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  return tracing;
}

afterEach(async () => {
  await tracing?.shutdown();
});

describe('check spans', () => {
  it('joins the trace named by traceparent and records the decision', () => {
    const span = inMemory().startCheck({ traceparent: TRACEPARENT, tracestate: 'vendor=x' });
    span?.end(allowOutcome());
    const [done] = exporter.getFinishedSpans();
    expect(done?.name).toBe(CHECK_SPAN_NAME);
    expect(done?.kind).toBe(SpanKind.SERVER);
    expect(done?.spanContext().traceId).toBe(TRACE_ID);
    expect(done?.parentSpanContext?.spanId).toBe(PARENT_SPAN_ID);
    expect(done?.parentSpanContext?.isRemote).toBe(true);
    expect(done?.spanContext().traceState?.get('vendor')).toBe('x');
    expect(done?.attributes).toEqual({
      'rolegate.decision': 'allow',
      'rolegate.reason': 'OK',
      'rolegate.decision_id': 'dec-allow',
      'rolegate.role': 'arn:rolegate:iam:::role/orders-reader',
      'rolegate.roles_considered': ['orders-reader'],
      'rolegate.determining': ['identity:read/Read:Allow'],
      'rolegate.action': 'orders:GetOrder',
      'rolegate.resource': 'arn:rolegate:orders:::order/42',
    });
    expect(done?.status.code).toBe(SpanStatusCode.UNSET);
    expect(done?.resource.attributes['service.name']).toBe('rolegate');
  });

  it('starts a new trace without traceparent, and with a malformed one', () => {
    inMemory().startCheck({})?.end(denyOutcome());
    tracing.startCheck({ traceparent: '00-zz-yy-01' })?.end(denyOutcome());
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(2);
    for (const s of spans) {
      expect(s.parentSpanContext).toBeUndefined();
      expect(s.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(s.spanContext().traceId).not.toBe(TRACE_ID);
    }
    expect(spans[0]?.attributes['rolegate.reason']).toBe('ERR_IMPLICIT_DENY');
    expect(spans[0]?.attributes['rolegate.role']).toBeUndefined();
  });

  it('a deny is not an error; an internal failure is', () => {
    inMemory().startCheck({ traceparent: TRACEPARENT })?.end(denyOutcome());
    tracing.startCheck({ traceparent: TRACEPARENT })?.end({
      ...denyOutcome(),
      reason: 'ERR_INTERNAL',
    });
    tracing.startCheck({ traceparent: TRACEPARENT })?.fail();
    const [deny, internal, failed] = exporter.getFinishedSpans();
    expect(deny?.status.code).toBe(SpanStatusCode.UNSET);
    expect(internal?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'ERR_INTERNAL' });
    expect(failed?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'ERR_INTERNAL' });
    expect(failed?.attributes['rolegate.reason']).toBe('ERR_INTERNAL');
    expect(failed?.spanContext().traceId).toBe(TRACE_ID);
  });

  it('uses the given start time', () => {
    const start = Date.parse('2026-06-01T12:00:00Z');
    inMemory().startCheck({}, start)?.end(allowOutcome());
    const [done] = exporter.getFinishedSpans();
    expect(done?.startTime).toEqual([start / 1000, 0]);
  });

  it('never puts a header value or claim on the span', () => {
    inMemory()
      .startCheck({ traceparent: TRACEPARENT, authorization: `Bearer ${TOKEN}`, cookie: 'c=1' })
      ?.end(allowOutcome());
    const text = JSON.stringify(exporter.getFinishedSpans()[0]?.attributes);
    expect(text).not.toContain(TOKEN.split('.')[1]);
    expect(text).not.toContain('CANARY');
    expect(text).not.toContain('c=1');
  });

  it('honours a parent that was not sampled (parent-based sampling)', () => {
    inMemory()
      .startCheck({ traceparent: `00-${TRACE_ID}-${PARENT_SPAN_ID}-00` })
      ?.end(allowOutcome());
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });
});

describe('configuration from OTEL_* variables', () => {
  it('is off unless the environment asks', async () => {
    expect(await tracingFromEnv({})).toBe(TRACING_OFF);
    expect(TRACING_OFF.startCheck({ traceparent: TRACEPARENT })).toBeUndefined();
    expect(tracesExportersFromEnv({ OTEL_TRACES_EXPORTER: 'none' })).toEqual([]);
    expect(
      tracesExportersFromEnv({
        OTEL_TRACES_EXPORTER: 'none',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      }),
    ).toEqual([]);
    expect(
      tracesExportersFromEnv({
        OTEL_SDK_DISABLED: 'true',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      }),
    ).toEqual([]);
    expect(tracesExportersFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toEqual([]);
  });

  it('is on for an exporter or an OTLP endpoint', () => {
    expect(tracesExportersFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toEqual([
      'otlp',
    ]);
    expect(
      tracesExportersFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }),
    ).toEqual(['otlp']);
    expect(tracesExportersFromEnv({ OTEL_TRACES_EXPORTER: 'OTLP, console,otlp' })).toEqual([
      'otlp',
      'console',
    ]);
  });

  it('refuses what it cannot honour', async () => {
    expect(() => tracesExportersFromEnv({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(
      TracingConfigError,
    );
    await expect(
      tracingFromEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
    ).rejects.toThrow(/grpc/);
    expect(() => samplerFromEnv({ OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(TracingConfigError);
    expect(() =>
      samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }),
    ).toThrow(TracingConfigError);
    expect(() => batchOptionsFromEnv({ OTEL_BSP_SCHEDULE_DELAY: 'soon' })).toThrow(
      TracingConfigError,
    );
  });

  it('reads the sampler and batch settings', () => {
    expect(samplerFromEnv({})).toBeInstanceOf(ParentBasedSampler);
    expect(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'always_off' })).toBeInstanceOf(AlwaysOffSampler);
    expect(
      samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }),
    ).toBeInstanceOf(TraceIdRatioBasedSampler);
    expect(
      batchOptionsFromEnv({ OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_BSP_MAX_QUEUE_SIZE: '100' }),
    ).toEqual({ scheduledDelayMillis: 200, maxQueueSize: 100 });
  });

  it('builds an enabled console tracer from the environment', async () => {
    const t = await tracingFromEnv({
      OTEL_TRACES_EXPORTER: 'console',
      OTEL_TRACES_SAMPLER: 'always_off',
    });
    expect(t.enabled).toBe(true);
    t.startCheck({})?.end(allowOutcome());
    await t.shutdown();
  });
});
