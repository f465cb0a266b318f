/**
 * The AWS integration's Prometheus metrics. The STS counter is exported
 * from the start; the IAM sync metrics only while the config has an
 * `aws.iam` section, so a file-only deployment exports none of them and no
 * staleness alert fires on it.
 */
import { Counter, Gauge, type Metric, type Registry } from 'prom-client';

/** The integration's metrics; the IAM ones count even while not exported. */
export interface AwsMetrics {
  /** `rolegate_iam_last_sync_success_timestamp_seconds`. */
  readonly lastSync: Gauge;
  /** `rolegate_iam_syncs_total{result}`. */
  readonly syncs: Counter<'result'>;
  /** `rolegate_iam_roles{state}`: loaded, invalid or shadowed. */
  readonly iamRoles: Gauge<'state'>;
  /** `rolegate_sts_calls_total{api,result}`. */
  readonly sts: Counter<'api' | 'result'>;
  /** `rolegate_iam_fleet_reader`: 1 while this process holds the fleet's reader lease. */
  readonly fleetReader: Gauge;
  /** Adds the IAM sync metrics to the registry, or takes them out (reset, for a later return). */
  showIamMetrics(show: boolean): void;
}

/**
 * `rolegate_iam_fleet_reader`, registered in `registers`: a single process's
 * (shown with the IAM metrics) and a cluster primary's (the replica's member).
 */
export function fleetReaderGauge(registers: Registry[]): Gauge {
  return new Gauge({
    name: 'rolegate_iam_fleet_reader',
    help: "1 while this replica is the fleet's IAM reader (holds the lease, aws.iam.fleet), else 0. With a fleet, time() - rolegate_iam_last_sync_success_timestamp_seconds is the age of the snapshot it decides with.",
    registers,
  });
}

/** The metrics; without a registry they still count, but nothing exports them. */
export function createAwsMetrics(registry: Registry | undefined): AwsMetrics {
  // The IAM ones are registered by `showIamMetrics`, not here.
  const lastSync = new Gauge({
    name: 'rolegate_iam_last_sync_success_timestamp_seconds',
    help: 'Time of the last successful IAM sync (epoch seconds).',
    registers: [],
  });
  const syncs = new Counter({
    name: 'rolegate_iam_syncs_total',
    help: 'IAM syncs, by result (success|failure).',
    labelNames: ['result'] as const,
    registers: [],
  });
  const iamRoles = new Gauge({
    name: 'rolegate_iam_roles',
    help: 'Roles loaded from IAM (loaded|invalid|shadowed).',
    labelNames: ['state'] as const,
    registers: [],
  });
  const fleetReader = fleetReaderGauge([]);
  const sts = new Counter({
    name: 'rolegate_sts_calls_total',
    help: 'STS calls for upstream credentials, by API and result (success|failure).',
    labelNames: ['api', 'result'] as const,
    registers: registry ? [registry] : [],
  });
  const iamMetrics: readonly [string, Metric][] = [
    ['rolegate_iam_last_sync_success_timestamp_seconds', lastSync],
    ['rolegate_iam_syncs_total', syncs as Metric],
    ['rolegate_iam_roles', iamRoles as Metric],
    ['rolegate_iam_fleet_reader', fleetReader],
  ];
  const showIamMetrics = (show: boolean) => {
    if (!registry) return;
    const shown = registry.getSingleMetric('rolegate_iam_syncs_total') !== undefined;
    if (show === shown) return;
    for (const [name, m] of iamMetrics) {
      if (show) {
        registry.registerMetric(m);
      } else {
        registry.removeSingleMetric(name);
        m.reset();
      }
    }
    if (show) {
      // Both series from the start, so rate() and alerts see zeros.
      syncs.inc({ result: 'success' }, 0);
      syncs.inc({ result: 'failure' }, 0);
    }
  };
  return { lastSync, syncs, iamRoles, sts, fleetReader, showIamMetrics };
}
