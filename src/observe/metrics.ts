/**
 * Prometheus metrics (prom-client) in a registry of our own, so tests and
 * several servers in one process never collide. Labels stay bounded: the
 * reason label takes catalogue codes only.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly checks: Counter<'decision' | 'reason'>;
  readonly checkDuration: Histogram<'decision'>;
  readonly configReloads: Counter<'result'>;
  readonly policyStatements: Gauge;
  readonly tokenCache: Counter<'result'>;
}

/** Creates the metric set. `defaults` (default true) adds process metrics. */
export function createMetrics(defaults = true): Metrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'rolegate_' });
  return {
    registry,
    checks: new Counter({
      name: 'rolegate_check_total',
      help: 'Authorization decisions, by decision (allow|deny) and reason code.',
      labelNames: ['decision', 'reason'] as const,
      registers: [registry],
    }),
    checkDuration: new Histogram({
      name: 'rolegate_check_duration_seconds',
      help: 'Time to decide one Check call, from receipt to response.',
      labelNames: ['decision'] as const,
      // Decisions take tens of microseconds; token fetches can take far longer.
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1],
      registers: [registry],
    }),
    configReloads: new Counter({
      name: 'rolegate_config_reloads_total',
      help: 'Configuration reloads, by result (success|failure).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    policyStatements: new Gauge({
      name: 'rolegate_policy_statements',
      help: 'Policy statements in the active configuration.',
      registers: [registry],
    }),
    tokenCache: new Counter({
      name: 'rolegate_token_cache_total',
      help: 'Verified-token cache lookups, by result (hit|miss).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
}
