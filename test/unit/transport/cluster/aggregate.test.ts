import { describe, expect, it } from '@jest/globals';
import { Counter, Gauge, Registry } from 'prom-client';
import { createMetrics } from '../../../../src/observe/metrics.js';
import { aggregateMetrics } from '../../../../src/transport/cluster/aggregate.js';

/** A worker's metric set after `allow` allows, serving generation `hash` with `statements`. */
async function worker(slot: string, allow: number, hash: string, statements: number) {
  const m = createMetrics(false);
  m.config.applied(hash, 1_000);
  m.policyStatements.set(statements);
  for (let i = 0; i < allow; i++) m.checks.inc({ decision: 'allow', reason: 'OK' });
  new Counter({
    name: 'rolegate_worker_checks_total',
    help: 'per worker',
    labelNames: ['worker'],
    registers: [m.registry],
  }).inc({ worker: slot }, allow);
  return m.registry.getMetricsAsJSON();
}

/** The value of one series in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('aggregateMetrics', () => {
  it('sums counters, keeps per-worker labels apart, and takes config series from the primary', async () => {
    const primary = createMetrics(false);
    primary.config.applied('new', 2_000);
    const registry = aggregateMetrics(await primary.registry.getMetricsAsJSON(), [
      await worker('1', 3, 'new', 5),
      await worker('2', 4, 'old', 5),
    ]);
    const text = await registry.metrics();
    expect(sample(text, 'rolegate_check_total{decision="allow",reason="OK"}')).toBe(7);
    expect(sample(text, 'rolegate_worker_checks_total{worker="1"}')).toBe(3);
    expect(sample(text, 'rolegate_worker_checks_total{worker="2"}')).toBe(4);
    // Not 10 (a sum) and not the primary's unset 0: every worker holds the same statements.
    expect(sample(text, 'rolegate_policy_statements')).toBe(5);
    // The primary's generation only: one series, value 1, not one per worker.
    expect(sample(text, 'rolegate_config_info{hash="new"}')).toBe(1);
    expect(text).not.toContain('hash="old"');
    expect(sample(text, 'rolegate_config_last_reload_success_timestamp_seconds')).toBe(2);
  });

  it('honours a series own aggregator (prom-client marks some process metrics)', async () => {
    const one = new Registry();
    new Gauge({ name: 'lag', help: 'h', registers: [one], aggregator: 'average' }).set(2);
    const two = new Registry();
    new Gauge({ name: 'lag', help: 'h', registers: [two], aggregator: 'average' }).set(4);
    const text = await aggregateMetrics(await one.getMetricsAsJSON(), [
      await two.getMetricsAsJSON(),
    ]).metrics();
    expect(sample(text, 'lag')).toBe(3);
  });

  it('serves the primary alone when no worker answered', async () => {
    const primary = createMetrics(false);
    primary.config.applied('h', 0);
    const text = await aggregateMetrics(await primary.registry.getMetricsAsJSON(), []).metrics();
    expect(sample(text, 'rolegate_config_info{hash="h"}')).toBe(1);
  });
});
