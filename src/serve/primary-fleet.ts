/**
 * A cluster primary as the replica's member of the IAM fleet
 * (`aws.iam.fleet`): one member per replica, whatever its worker count. The
 * workers keep asking the primary to read IAM; a request of a fleet
 * configuration goes through the fleet (the snapshot, or a read of IAM and
 * its publication while this replica holds the lease); a new snapshot, or
 * the lease won, orders every worker to sync. The primary's /config,
 * /readyz and `rolegate_iam_fleet_reader` say which replica reads.
 */
import type { Registry } from 'prom-client';
import { joinConfiguredFleet, type FleetMember, type FleetStatus } from '../aws/fleet.js';
import type { IamReader } from '../aws/iam-reader.js';
import { fleetReaderGauge } from '../aws/integration-metrics.js';
import type { LoadedConfig } from '../config/compile.js';
import { RolegateError } from '../errors.js';
import type { Logger } from '../observe/logger.js';

/** What {@link createPrimaryFleet} needs. */
export interface PrimaryFleetOptions {
  /** The primary's own read of IAM (shared by its workers). */
  readonly inner: IamReader;
  readonly env: (name: string) => string | undefined;
  readonly logger: Logger;
  /** The primary's registry, for `rolegate_iam_fleet_reader`. */
  readonly registry: Registry;
  /** Every worker syncs IAM now. */
  readonly syncWorkers: () => void;
}

/** The primary's fleet membership, following its configuration. */
export interface PrimaryFleet {
  /** What workers' reads go through. */
  readonly read: IamReader;
  /**
   * Joins, rejoins or leaves the fleet for `loaded`'s `aws.iam.fleet`.
   * Rejects (ERR_IAM_FLEET) when the database cannot be reached; the
   * membership before the call stays.
   */
  configure(loaded: LoadedConfig): Promise<void>;
  status(): FleetStatus | undefined;
  close(): Promise<void>;
}

/** Nothing joined until `configure` sees an `aws.iam.fleet` section. */
export function createPrimaryFleet(options: PrimaryFleetOptions): PrimaryFleet {
  const reader = fleetReaderGauge([options.registry]);
  reader.set(0);
  let member: FleetMember | undefined;
  let key = '';
  return {
    // A fleet configuration is never read around the fleet (while joining, or stopping):
    // the worker's sync fails and retries, keeping its last good set.
    read: (request) => {
      if (request.iam.fleet === undefined) return options.inner(request);
      if (member !== undefined) return member.read(request);
      return Promise.reject(
        new RolegateError('ERR_IAM_FLEET', 'this replica is not (or no longer) in the IAM fleet'),
      );
    },
    async configure(loaded) {
      const fleet = loaded.settings.aws?.iam?.fleet;
      const next = fleet === undefined ? '' : JSON.stringify(fleet);
      if (next === key) return;
      const joined =
        fleet === undefined
          ? undefined
          : await joinConfiguredFleet(fleet, {
              env: options.env,
              logger: options.logger,
              inner: options.inner,
              onChange: options.syncWorkers,
              onLease: (held) => reader.set(held ? 1 : 0),
            });
      const old = member;
      member = joined;
      key = next;
      reader.set(0);
      await old?.close();
    },
    status: () => member?.status(),
    async close() {
      const old = member;
      member = undefined;
      key = '';
      await old?.close();
    },
  };
}
