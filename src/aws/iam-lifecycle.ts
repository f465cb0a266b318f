/**
 * The IAM sync kept in step with the configuration: started when the
 * config gains an `aws.iam` section, restarted when that section (or the
 * region or endpoint) changes, stopped when it goes. Holds the last good
 * snapshot of IAM roles for the integration to merge.
 */
import { RolegateError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import { clientConfig } from './client-config.js';
import type { AwsConfig } from './config.js';
import { fleetUrl, joinConfiguredFleet, type FleetMember, type FleetStatus } from './fleet.js';
import type { IamReader, IamReadRequest } from './iam-reader.js';
import { compileIamRoles, type IamSnapshot } from './iam-source.js';
import { createIamSync, type IamSync } from './iam-sync.js';
import type { AwsMetrics } from './integration-metrics.js';

/** What the lifecycle needs; every field is required (the integration supplies the defaults). */
export interface IamLifecycleOptions {
  readonly logger: Logger;
  /** Clock in epoch ms (no default: the integration passes its own). */
  readonly now: () => number;
  readonly metrics: AwsMetrics;
  /** Reads IAM for each sync. */
  readonly readIam: IamReader;
  /** Called when the snapshot changed: a sync loaded roles, or a reconfiguration dropped them. */
  readonly onRolesChanged: () => void;
  /** The value of an environment variable (the fleet's database URL). */
  readonly env: (name: string) => string | undefined;
  /**
   * Join the fleet of `aws.iam.fleet` from this process. False when
   * `readIam` is a cluster primary's: the primary is the fleet member and
   * tells its workers of new snapshots.
   */
  readonly joinFleet: boolean;
}

/** The IAM sync as the integration drives it. */
export interface IamLifecycle {
  /**
   * Starts, restarts or stops the sync for the config's `aws` section;
   * resolves after a new sync's first load. An unchanged section does
   * nothing, even after `stop`.
   */
  configure(aws: AwsConfig | undefined): Promise<void>;
  /** The last good roles of the current sync, or undefined. */
  snapshot(): IamSnapshot | undefined;
  /** Epoch ms of the current sync's last success, or undefined. */
  lastSuccess(): number | undefined;
  /** Syncs now; false on failure or without a sync. Never rejects. */
  syncNow(): Promise<boolean>;
  /** The fleet as this replica sees it, with `aws.iam.fleet`; else undefined. */
  fleet(): FleetStatus | undefined;
  /**
   * Throws (ERR_IAM_FLEET) when `aws` could not be configured: a fleet
   * section whose database URL variable is unset. Changes nothing.
   */
  preflight(aws: AwsConfig | undefined): void;
  /** Stops the sync; with a fleet, gives the lease up and resolves once that is done. */
  stop(): Promise<void>;
}

/** Starts nothing by itself: the first `configure` with an `aws.iam` section starts the sync. */
export function createIamLifecycle(options: IamLifecycleOptions): IamLifecycle {
  const { logger, metrics } = options;
  let sync: IamSync | undefined;
  let fleet: FleetMember | undefined;
  let syncKey = '';
  /** The configuration whose fleet is being joined, if any. */
  let joining: string | undefined;
  let snapshot: IamSnapshot | undefined;

  /** The fleet member for `iam.fleet`: its reader reads IAM only while it holds the lease. */
  const join = async (iam: NonNullable<AwsConfig['iam']>, trigger: () => IamSync | undefined) => {
    if (iam.fleet === undefined || !options.joinFleet) return undefined;
    return joinConfiguredFleet(iam.fleet, {
      env: options.env,
      logger,
      inner: options.readIam,
      // A new reader reads IAM at once if the fleet's snapshot is due.
      onChange: () => void trigger()?.syncNow(),
      onLease: (held) => metrics.fleetReader.set(held ? 1 : 0),
    });
  };

  const start = (
    aws: AwsConfig,
    iam: NonNullable<AwsConfig['iam']>,
    member: FleetMember | undefined,
  ): IamSync => {
    const request: IamReadRequest = { client: clientConfig(aws), iam };
    const read = member?.read ?? options.readIam;
    const mine: IamSync = createIamSync({
      intervalMs: iam.refreshSeconds * 1000,
      jitter: iam.jitter,
      now: options.now,
      load: async () => compileIamRoles(await read(request), { roleArnAsName: iam.roleArnAsName }),
      // A sync replaced meanwhile may still finish a load; its result is stale.
      onUpdate(next) {
        if (sync !== mine) return;
        snapshot = next;
        recordSync(logger, metrics, next);
        options.onRolesChanged();
      },
      onError(err, retryInMs) {
        if (sync === mine) recordFailure(logger, metrics, err, retryInMs, mine.lastSuccess());
      },
    });
    return mine;
  };

  return {
    async configure(aws) {
      const iam = aws?.iam;
      const key = iam ? JSON.stringify([clientConfig(aws), iam]) : '';
      if (key === syncKey || key === joining) return;
      // Join the fleet before anything changes: a database that cannot be
      // reached refuses this configuration and the running sync stays.
      joining = key;
      // The fleet's notifications reach the sync started below, once it is.
      const started: { sync?: IamSync } = {};
      let member: FleetMember | undefined;
      try {
        member = iam === undefined ? undefined : await join(iam, () => started.sync);
      } finally {
        if (joining === key) joining = undefined;
      }
      // Reconfigured while joining: this configuration is not the current one any more.
      if (joining !== undefined) {
        await member?.close();
        return;
      }
      sync?.stop();
      sync = undefined;
      void fleet?.close();
      fleet = member;
      metrics.fleetReader.set(0);
      syncKey = key;
      // Roles chosen by an old selection must not outlive it.
      const hadRoles = snapshot !== undefined;
      snapshot = undefined;
      if (hadRoles) options.onRolesChanged();
      metrics.showIamMetrics(iam !== undefined);
      if (!aws || !iam) return;
      const mine = start(aws, iam, member);
      started.sync = mine;
      sync = mine;
      await mine.syncNow();
    },
    snapshot: () => snapshot,
    lastSuccess: () => sync?.lastSuccess(),
    syncNow: () => sync?.syncNow() ?? Promise.resolve(false),
    fleet: () => fleet?.status(),
    preflight(aws) {
      const iam = aws?.iam;
      if (iam?.fleet !== undefined && options.joinFleet) fleetUrl(iam.fleet, options.env);
    },
    async stop() {
      sync?.stop();
      sync = undefined;
      const leaving = fleet;
      fleet = undefined;
      await leaving?.close();
    },
  };
}

/** Counts and logs a successful sync, its skipped roles included. */
function recordSync(logger: Logger, metrics: AwsMetrics, next: IamSnapshot): void {
  metrics.syncs.inc({ result: 'success' });
  metrics.lastSync.set(next.syncedAt / 1000);
  metrics.iamRoles.set({ state: 'loaded' }, next.roles.length);
  metrics.iamRoles.set({ state: 'invalid' }, next.errors.length);
  for (const e of next.errors) {
    logger.error(
      { code: e.code, role: e.roleName, arn: e.arn, problems: e.message },
      'IAM role skipped',
    );
  }
  logger.info({ roles: next.roles.length, skipped: next.errors.length }, 'IAM roles synced');
}

/** Counts and logs a failed sync; the last good roles stay in use until one succeeds. */
function recordFailure(
  logger: Logger,
  metrics: AwsMetrics,
  err: unknown,
  retryInMs: number,
  lastSuccess: number | undefined,
): void {
  metrics.syncs.inc({ result: 'failure' });
  // Our own refusals (a fleet snapshot that does not verify) carry their code and a
  // message of ours; an AWS error is named only (its message may quote a request).
  const own = err instanceof RolegateError;
  logger.error(
    {
      code: own ? err.code : 'ERR_IAM_SYNC',
      error: err instanceof Error ? err.name : 'error',
      ...(own ? { message: err.message } : {}),
      status: (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode,
      retryInMs,
      lastSuccess,
    },
    'IAM sync failed; keeping the last good set of IAM roles',
  );
}
