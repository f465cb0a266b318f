import { describe, expect, it } from '@jest/globals';
import { ExpiringLru } from '../../../src/cache/expiring-lru.js';
import { CHECK_DURATION_BUCKETS, createMetrics } from '../../../src/observe/metrics.js';

const OWN = [
  ['rolegate_check_total', 'counter', ['decision', 'reason']],
  ['rolegate_check_duration_seconds', 'histogram', ['decision']],
  ['rolegate_config_reloads_total', 'counter', ['result']],
  ['rolegate_config_info', 'gauge', ['hash']],
  ['rolegate_config_last_reload_success_timestamp_seconds', 'gauge', []],
  ['rolegate_config_last_reload_successful', 'gauge', []],
  ['rolegate_policy_statements', 'gauge', []],
  ['rolegate_token_cache_lookups_total', 'counter', ['result']],
  ['rolegate_jwks_fetches_total', 'counter', ['issuer', 'result']],
  ['rolegate_cache_entries', 'gauge', ['cache']],
  ['rolegate_cache_bytes', 'gauge', ['cache']],
  ['rolegate_cache_max_entries', 'gauge', ['cache']],
  ['rolegate_cache_max_bytes', 'gauge', ['cache']],
  ['rolegate_cache_evictions_total', 'counter', ['cache']],
  ['rolegate_cache_oversize_total', 'counter', ['cache']],
  ['rolegate_cache_admissions_refused_total', 'counter', ['cache']],
  ['rolegate_shadow_decisions_total', 'counter', ['live', 'candidate']],
  ['rolegate_statement_matches_total', 'counter', ['role', 'policy', 'statement']],
] as const;

/** Labels that could carry unbounded, caller-controlled values. */
const FORBIDDEN_LABELS = ['subject', 'sub', 'path', 'user', 'principal', 'token', 'request_id'];

describe('metrics', () => {
  it('registers exactly the documented metrics, named by Prometheus conventions', async () => {
    const m = createMetrics(false);
    const json = await m.registry.getMetricsAsJSON();
    expect(json.map((x) => x.name).sort()).toEqual(OWN.map(([n]) => n).sort());
    for (const [name, type, labels] of OWN) {
      const metric = m.registry.getSingleMetric(name) as unknown as {
        labelNames: string[];
        help: string;
      };
      expect(json.find((x) => x.name === name)?.type).toBe(type);
      expect([...metric.labelNames].sort()).toEqual([...labels].sort());
      expect(metric.help.length).toBeGreaterThan(10);
      expect(name).toMatch(/^rolegate_[a-z_]+$/);
      // A counter, and only a counter, ends in _total.
      expect(`${name} ${type} ${name.endsWith('_total')}`).toBe(
        `${name} ${type} ${type === 'counter'}`,
      );
      for (const l of metric.labelNames) expect(FORBIDDEN_LABELS).not.toContain(l);
    }
  });

  it('shows one config hash at a time, the last good load time and whether the last reload worked', async () => {
    const m = createMetrics(false);
    m.config.applied('0123456789ab', 1_780_000_000_000);
    m.config.applied('ba9876543210', 1_780_000_060_500);
    let text = await m.registry.metrics();
    expect(text.match(/^rolegate_config_info\{.*$/gm)).toEqual([
      'rolegate_config_info{hash="ba9876543210"} 1',
    ]);
    expect(text).toContain('rolegate_config_last_reload_success_timestamp_seconds 1780000060.5');
    expect(text).toContain('rolegate_config_last_reload_successful 1');
    m.config.failed();
    text = await m.registry.metrics();
    expect(text).toContain('rolegate_config_last_reload_successful 0');
    expect(text).toContain('rolegate_config_info{hash="ba9876543210"} 1');
    expect(text).toContain('rolegate_config_last_reload_success_timestamp_seconds 1780000060.5');
  });

  it('has histogram buckets that resolve sub-millisecond checks', () => {
    const subMs = CHECK_DURATION_BUCKETS.filter((b) => b < 0.001);
    expect(subMs.length).toBeGreaterThanOrEqual(5);
    expect(CHECK_DURATION_BUCKETS[0]).toBeLessThanOrEqual(0.00001);
    expect([...CHECK_DURATION_BUCKETS].sort((a, b) => a - b)).toEqual(CHECK_DURATION_BUCKETS);
  });

  it('exposes zero-valued failure and miss series before any event', async () => {
    const text = await createMetrics(false).registry.metrics();
    for (const line of [
      'rolegate_config_reloads_total{result="failure"} 0',
      'rolegate_token_cache_lookups_total{result="hit"} 0',
      'rolegate_token_cache_lookups_total{result="miss"} 0',
    ]) {
      expect(text).toContain(line);
    }
  });

  it('records checks with decision and reason, and observes durations', async () => {
    const m = createMetrics(false);
    m.checks.inc({ decision: 'deny', reason: 'ERR_IMPLICIT_DENY' });
    m.checkDuration.observe({ decision: 'deny' }, 0.00004);
    m.jwksFetches.inc({ issuer: 'https://idp.example.com', result: 'failure' });
    const text = await m.registry.metrics();
    expect(text).toContain('rolegate_check_total{decision="deny",reason="ERR_IMPLICIT_DENY"} 1');
    expect(text).toContain(
      'rolegate_check_duration_seconds_bucket{le="0.00005",decision="deny"} 1',
    );
    expect(text).toContain(
      'rolegate_check_duration_seconds_bucket{le="0.000025",decision="deny"} 0',
    );
    expect(text).toContain(
      'rolegate_jwks_fetches_total{issuer="https://idp.example.com",result="failure"} 1',
    );
  });

  it('publishes each cache entries, bytes, evictions and refusals, following the live cache', async () => {
    const m = createMetrics(false);
    const zero = await m.registry.metrics();
    for (const cache of ['tokens', 'sts_credentials']) {
      expect(zero).toContain(`rolegate_cache_entries{cache="${cache}"} 0`);
      expect(zero).toContain(`rolegate_cache_bytes{cache="${cache}"} 0`);
      expect(zero).toContain(`rolegate_cache_max_bytes{cache="${cache}"} 0`);
      expect(zero).toContain(`rolegate_cache_evictions_total{cache="${cache}"} 0`);
      expect(zero).toContain(`rolegate_cache_oversize_total{cache="${cache}"} 0`);
      expect(zero).toContain(`rolegate_cache_admissions_refused_total{cache="${cache}"} 0`);
    }
    const make = () =>
      new ExpiringLru<string>({
        maxEntries: 2,
        maxBytes: 10_000,
        sizeOf: () => 1000,
        ...m.caches.hooks('tokens'),
      });
    const old = make();
    m.caches.track('tokens', old);
    for (const k of ['a', 'b', 'c']) old.set(k, k, 1e12);
    old.set('huge', 'x', 1e12);
    const sized = new ExpiringLru<string>({
      maxEntries: 2,
      maxBytes: 100,
      ...m.caches.hooks('tokens'),
    });
    sized.set('too-big', 'x'.repeat(500), 1e12);
    const guarded = new ExpiringLru<string>({
      maxEntries: 1,
      maxBytes: 10_000,
      doorkeeper: true,
      ...m.caches.hooks('tokens'),
    });
    for (const k of ['first', 'once', 'twice']) guarded.set(k, k, 1e12);
    let text = await m.registry.metrics();
    expect(text).toContain('rolegate_cache_entries{cache="tokens"} 2');
    expect(text).toContain('rolegate_cache_bytes{cache="tokens"} 2000');
    expect(text).toContain('rolegate_cache_max_entries{cache="tokens"} 2');
    expect(text).toContain('rolegate_cache_max_bytes{cache="tokens"} 10000');
    expect(text).toContain('rolegate_cache_evictions_total{cache="tokens"} 2');
    expect(text).toContain('rolegate_cache_oversize_total{cache="tokens"} 1');
    expect(text).toContain('rolegate_cache_admissions_refused_total{cache="tokens"} 2');
    expect(text).toContain('rolegate_cache_entries{cache="sts_credentials"} 0');
    // A reload's new cache replaces the old one in the gauges.
    m.caches.track('tokens', make());
    text = await m.registry.metrics();
    expect(text).toContain('rolegate_cache_entries{cache="tokens"} 0');
    expect(text).toContain('rolegate_cache_bytes{cache="tokens"} 0');
  });

  it('adds the default process metrics under the rolegate_ prefix', async () => {
    const text = await createMetrics(true).registry.metrics();
    expect(text).toContain('rolegate_process_cpu_seconds_total');
    expect(text).toContain('rolegate_nodejs_eventloop_lag_seconds');
  });

  it('keeps separate registries per instance', async () => {
    const a = createMetrics(false);
    const b = createMetrics(false);
    a.checks.inc({ decision: 'allow', reason: 'OK' });
    expect(await b.registry.metrics()).not.toContain('reason="OK"');
  });
});
