/**
 * Observability end to end: traffic through a real Envoy to rolegate, a real
 * Prometheus (Debian's package) scraping rolegate's /metrics, and the test
 * asking Prometheus's HTTP API for the counters and the latency histogram.
 * The same run checks the audit file destination and that the check span
 * joins the trace named by the request's traceparent.
 *
 * Every test is independent: the beforeAll starts the peers and sends all
 * the traffic the metric and audit tests read; no test stops or changes
 * what another one uses, and the trace test starts its own rolegate.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { stringify } from 'yaml';
import { startRolegate, type Rolegate } from '../../src/main.js';
import { createTracing } from '../../src/observe/tracing-sdk.js';
import type { Tracing } from '../../src/observe/tracing.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { assertEnvoyImage, EnvoyPeer } from '../harness/envoy.js';
import { JwksIssuer } from '../harness/jwks.js';
import { findPrometheus, PrometheusPeer } from '../harness/prometheus.js';
import { captureLogger } from '../support/log-capture.js';
import { allowPolicy, ORDER_ROUTES, webIdentityTrust } from '../support/fixtures.js';

/** Allows, denies by policy and denies for a missing credential, in two waves each. */
const ALLOWS = 12;
const POLICY_DENIES = 5;
const NO_TOKEN_DENIES = 3;
const TOTAL = ALLOWS + POLICY_DENIES + NO_TOKEN_DENIES;

const OBSERVE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'observe');

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
}
const dashboard = JSON.parse(
  readFileSync(join(OBSERVE_DIR, 'grafana-dashboard.json'), 'utf8'),
) as Dashboard;

/** A dashboard expression as Prometheus itself would get it from Grafana. */
const asQuery = (expr: string) =>
  expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', '.*');

/** The dashboard's p99 latency expression. */
const DASHBOARD_P99 = asQuery(
  dashboard.panels
    .flatMap((p) => p.targets.map((t) => t.expr))
    .find((e) => e.startsWith('histogram_quantile(0.99')) ?? 'missing p99 panel',
);

const idp = new JwksIssuer({ audience: 'orders-api' });
const upstream = new EchoUpstream();
const ops = captureLogger('warn');
const spans = new InMemorySpanExporter();
let tracing: Tracing;
let envoy: EnvoyPeer;
let rolegate: Rolegate;
let prometheus: PrometheusPeer;
let auditFile: string;
/** Envoy's answer to each request the beforeAll sent, with the one expected. */
const answers: { request: string; expected: number; status: number }[] = [];

function config() {
  const prefix = idp.issuer.replace('http://', '');
  return {
    issuers: [{ issuer: idp.issuer, audiences: ['orders-api'] }],
    audit: { file: 'audit.log', allowSampleRate: 1 },
    roles: [
      {
        name: 'orders-reader',
        trustPolicy: webIdentityTrust(idp.issuer, {
          StringEquals: { [`${prefix}:aud`]: 'orders-api' },
        }),
        policies: { read: allowPolicy('orders:GetOrder', 'arn:rolegate:orders:::order/*', 'Read') },
      },
    ],
    routes: ORDER_ROUTES,
  };
}

async function send(path: string, method: string, headers: Record<string, string>) {
  const res = await fetch(envoy.url(path), { method, headers });
  await res.arrayBuffer();
  return res.status;
}

/** Sends `allows`, `denies` and `anonymous` requests; records Envoy's answers in `answers`. */
async function traffic(token: string, allows: number, denies: number, anonymous: number) {
  const auth = { authorization: `Bearer ${token}` };
  const one = async (
    method: string,
    path: string,
    headers: Record<string, string>,
    expected: number,
  ) =>
    answers.push({
      request: `${method} ${path}`,
      expected,
      status: await send(path, method, headers),
    });
  for (let i = 0; i < allows; i++) await one('GET', `/orders/${i}`, auth, 200);
  for (let i = 0; i < denies; i++) await one('DELETE', `/orders/${i}`, auth, 403);
  for (let i = 0; i < anonymous; i++) await one('GET', `/orders/${i}`, {}, 401);
}

/** The audit file's records, once it holds at least `count` (the periodic flush writes them). */
async function auditRecords(count: number, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = readFileSync(auditFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    if (lines.length >= count || Date.now() > deadline) {
      return lines.map((l) => JSON.parse(l) as { time: string; audit: Record<string, unknown> });
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Polls an instant query until its single value satisfies `ok` (or times out). */
async function eventually(promql: string, ok: (v: number) => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last: number | undefined;
  for (;;) {
    const [sample] = await prometheus.query(promql);
    last = sample?.value;
    if (last !== undefined && ok(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(`prometheus: ${promql} is ${String(last)} after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

beforeAll(async () => {
  findPrometheus(); // fail fast, with instructions, before starting anything
  await assertEnvoyImage();
  await Promise.all([idp.start(), upstream.start()]);
  const dir = mkdtempSync(join(tmpdir(), 'rolegate-prom-'));
  const configFile = join(dir, 'rolegate.yaml');
  auditFile = join(dir, 'audit.log');
  writeFileSync(configFile, stringify(config()));
  tracing = createTracing({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
  rolegate = await startRolegate({
    configFile,
    grpcPort: 0,
    adminPort: 0,
    logger: ops.logger,
    tracing,
    watch: false,
  });
  prometheus = new PrometheusPeer({ targets: [`127.0.0.1:${rolegate.adminPort}`] });
  envoy = new EnvoyPeer({ rolegatePort: rolegate.grpcPort, upstreamPort: upstream.port });
  await Promise.all([prometheus.start(), envoy.start()]);
  await envoy.waitForCluster('rolegate');
  // One scrape before any traffic, so rate() has a baseline.
  await eventually('up{job="rolegate"}', (v) => v === 1);

  // All the traffic the metric and audit tests read, in two waves.
  const token = await idp.mint({}, { subject: 'alice' });
  await traffic(token, ALLOWS / 2, 2, 1);
  // Wait for a scrape between the waves, so rate() over the window is non-zero.
  await eventually('sum(rolegate_check_duration_seconds_count)', (v) => v === ALLOWS / 2 + 3);
  await traffic(token, ALLOWS / 2, POLICY_DENIES - 2, NO_TOKEN_DENIES - 1);
}, 180_000);

afterAll(async () => {
  await envoy?.stop();
  await prometheus?.stop();
  await rolegate?.stop().catch(() => undefined);
  await tracing?.shutdown();
  await Promise.all([idp.stop(), upstream.stop()]);
});

describe('rolegate metrics in a real Prometheus', () => {
  it('Envoy answered every request as the policies say', () => {
    expect(answers).toHaveLength(TOTAL);
    expect(answers.map((a) => `${a.request} ${a.status}`)).toEqual(
      answers.map((a) => `${a.request} ${a.expected}`),
    );
  });

  it('counts decisions and latency exactly as sent through Envoy', async () => {
    const is = (n: number) => (v: number) => v === n;
    await eventually('sum(rolegate_check_total{decision="allow"})', is(ALLOWS));
    await eventually(
      'sum(rolegate_check_total{decision="deny"})',
      is(POLICY_DENIES + NO_TOKEN_DENIES),
    );
    await eventually('rolegate_check_total{decision="allow",reason="OK"}', is(ALLOWS));
    await eventually(
      'rolegate_check_total{decision="deny",reason="ERR_IMPLICIT_DENY"}',
      is(POLICY_DENIES),
    );
    await eventually(
      'rolegate_check_total{decision="deny",reason="ERR_CREDENTIAL_MISSING"}',
      is(NO_TOKEN_DENIES),
    );
    await eventually('sum(rolegate_check_duration_seconds_count)', is(TOTAL));
    await eventually('rolegate_check_duration_seconds_count{decision="allow"}', is(ALLOWS));
    await eventually(
      'rolegate_check_duration_seconds_bucket{decision="allow",le="+Inf"}',
      is(ALLOWS),
    );

    const p99 = await eventually(DASHBOARD_P99, (v) => Number.isFinite(v));
    expect(p99).toBeGreaterThan(0);
    expect(p99).toBeLessThanOrEqual(5);
    const overall = await eventually(
      'histogram_quantile(0.5, sum by (le) (rolegate_check_duration_seconds_bucket))',
      (v) => Number.isFinite(v),
    );
    expect(overall).toBeGreaterThan(0);
  });

  it('exposes the identity, config and process metrics', async () => {
    await eventually('sum(rolegate_jwks_fetches_total{result="success"})', (v) => v >= 1);
    await eventually('rolegate_token_cache_lookups_total{result="hit"}', (v) => v >= 1);
    await eventually('rolegate_policy_statements', (v) => v >= 1);
    await eventually('rolegate_config_reloads_total{result="failure"}', (v) => v === 0);
    await eventually('rolegate_process_cpu_seconds_total', (v) => v > 0);
    // Every family rolegate exposes is prefixed; its own (not prom-client's
    // default process set, which has e.g. the gauge nodejs_active_resources_total)
    // follow the counter/_total convention.
    const text = await (await fetch(`http://127.0.0.1:${rolegate.adminPort}/metrics`)).text();
    const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({
      name: m[1] ?? '',
      type: m[2] ?? '',
    }));
    expect(families.length).toBeGreaterThan(10);
    for (const { name } of families) expect(name).toMatch(/^rolegate_[a-z0-9_]+$/);
    const own = families.filter(({ name }) => !/^rolegate_(nodejs|process)_/.test(name));
    expect(own.length).toBeGreaterThan(5);
    // A counter, and only a counter, ends in _total.
    expect(own.map(({ name, type }) => `${name} ${type} ${name.endsWith('_total')}`)).toEqual(
      own.map(({ name, type }) => `${name} ${type} ${type === 'counter'}`),
    );
    // No label carries a subject or path.
    const series = await prometheus.query('{__name__=~"rolegate_.+", job="rolegate"}');
    for (const s of series) {
      const text = JSON.stringify(s.metric);
      expect(text).not.toContain('alice');
      expect(text).not.toContain('/orders');
    }
  });

  it('the Grafana dashboard has the required panels and every query runs', async () => {
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    for (const needed of [
      'rolegate_check_total',
      'rolegate_check_duration_seconds_bucket',
      'rolegate_config_reloads_total{job=~"$job",result="failure"}',
      'rolegate_jwks_fetches_total{job=~"$job",result="failure"}',
      'rolegate_sts_calls_total{job=~"$job",result="failure"}',
    ]) {
      expect(exprs.some((e) => e.includes(needed))).toBe(true);
    }
    for (const expr of exprs) await expect(prometheus.query(asQuery(expr))).resolves.toBeDefined();
    const decisions = await prometheus.query(asQuery(exprs[0] ?? ''));
    expect(decisions.map((s) => s.metric['decision']).sort()).toEqual(['allow', 'deny']);
  });

  it('the quickstart Prometheus config is valid', () => {
    const promtool = join(dirname(findPrometheus()), 'promtool');
    const out = execFileSync(promtool, ['check', 'config', join(OBSERVE_DIR, 'prometheus.yml')], {
      encoding: 'utf8',
    });
    expect(out).toContain('SUCCESS');
  });

  it('writes every decision to the configured audit file', async () => {
    // rolegate keeps running: its periodic flush (1 s) writes the records.
    const records = await auditRecords(TOTAL);
    expect(records).toHaveLength(TOTAL);
    expect(records.filter((r) => r.audit['decision'] === 'allow')).toHaveLength(ALLOWS);
    for (const r of records) expect(Number.isNaN(Date.parse(r.time))).toBe(false);
  });
});

describe('check spans behind Envoy', () => {
  it('joins the trace named by the client traceparent', async () => {
    // Its own rolegate (no audit sampling of allows) and Envoy, on the shared tracing.
    const dir = mkdtempSync(join(tmpdir(), 'rolegate-trace-'));
    const configFile = join(dir, 'rolegate.yaml');
    writeFileSync(configFile, stringify({ ...config(), audit: { allowSampleRate: 0 } }));
    const audit = captureLogger();
    const second = await startRolegate({
      configFile,
      grpcPort: 0,
      adminPort: 0,
      logger: ops.logger,
      auditLogger: audit.logger,
      tracing,
      watch: false,
    });
    const proxy = new EnvoyPeer({ rolegatePort: second.grpcPort, upstreamPort: upstream.port });
    try {
      await proxy.start();
      await proxy.waitForCluster('rolegate');
      spans.reset();
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      const res = await fetch(proxy.url('/orders/9'), {
        headers: {
          authorization: `Bearer ${await idp.mint({}, { subject: 'alice' })}`,
          traceparent: `00-${traceId}-b7ad6b7169203331-01`,
        },
      });
      expect(res.status).toBe(200);
      // On an allow the decision id goes to the upstream, which echoes its request headers.
      const echoed = (await res.json()) as { headers: Record<string, string | undefined> };
      const decisionId = echoed.headers['x-rolegate-decision-id'];
      expect(decisionId).toMatch(/^\S+$/);
      const traced = spans.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
      expect(traced).toHaveLength(1);
      const [span] = traced;
      expect(span?.spanContext().traceId).toBe(traceId);
      expect(span?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
      expect(span?.attributes).toMatchObject({
        'rolegate.decision': 'allow',
        'rolegate.reason': 'OK',
        'rolegate.role': 'arn:rolegate:iam:::role/orders-reader',
        'rolegate.determining': ['identity:read/Read:Allow'],
      });
      expect(span?.attributes['rolegate.decision_id']).toBe(decisionId);
      // Sampling rate 0: the allow left no audit record.
      expect(audit.lines).toHaveLength(0);
    } finally {
      await proxy.stop();
      await second.stop();
    }
  }, 60_000);
});
