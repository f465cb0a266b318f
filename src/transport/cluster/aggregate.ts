/**
 * One `/metrics` for a cluster: the primary's own series plus every
 * worker's, merged with prom-client's aggregator. Counters and histograms
 * are summed (calls, cache sizes and process CPU/memory add up across
 * processes); the rules below cover the series where a sum would lie.
 */
import { AggregatorRegistry, type Aggregator, type Registry } from 'prom-client';
import type { MetricsJson } from './protocol.js';

/**
 * How a worker series combines, by name. The primary owns the config
 * generation (it validates and orders every reload), so the workers'
 * `rolegate_config_*` series are dropped for the primary's; the statement
 * count is the same in every worker of one generation.
 */
const RULES: Readonly<Record<string, Aggregator>> = {
  rolegate_policy_statements: 'max',
};
const PRIMARY_OWNED = /^rolegate_config_/;

/**
 * The aggregated registry: `primary` (the primary's `getMetricsAsJSON()`)
 * and one entry per worker that answered. Names the primary owns are taken
 * from it alone; a per-name rule overrides the series' own aggregator.
 */
export function aggregateMetrics(primary: MetricsJson, workers: readonly MetricsJson[]): Registry {
  const owned = new Set(primary.filter((m) => PRIMARY_OWNED.test(m.name)).map((m) => m.name));
  const withRule = (m: MetricsJson[number]): MetricsJson[number] => {
    const rule = RULES[m.name];
    return rule === undefined ? m : { ...m, aggregator: rule };
  };
  return AggregatorRegistry.aggregate([
    primary.map(withRule),
    ...workers.map((metrics) => metrics.filter((m) => !owned.has(m.name)).map(withRule)),
  ]);
}
