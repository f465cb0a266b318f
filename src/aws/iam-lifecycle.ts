/**
 * The IAM sync kept in step with the configuration: started when the
 * config gains an `aws.iam` section, restarted when that section (or the
 * region or endpoint) changes, stopped when it goes. Holds the last good
 * snapshot of IAM roles for the integration to merge.
 */
import type { Logger } from '../observe/logger.js';
import { clientConfig } from './client-config.js';
import type { AwsConfig } from './config.js';
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
  stop(): void;
}

/** Starts nothing by itself: the first `configure` with an `aws.iam` section starts the sync. */
export function createIamLifecycle(options: IamLifecycleOptions): IamLifecycle {
  const { logger, metrics } = options;
  let sync: IamSync | undefined;
  let syncKey = '';
  let snapshot: IamSnapshot | undefined;

  const start = (aws: AwsConfig, iam: NonNullable<AwsConfig['iam']>): IamSync => {
    const request: IamReadRequest = { client: clientConfig(aws), iam };
    const mine: IamSync = createIamSync({
      intervalMs: iam.refreshSeconds * 1000,
      jitter: iam.jitter,
      now: options.now,
      load: async () =>
        compileIamRoles(await options.readIam(request), { roleArnAsName: iam.roleArnAsName }),
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
      if (key === syncKey) return;
      sync?.stop();
      sync = undefined;
      syncKey = key;
      // Roles chosen by an old selection must not outlive it.
      const hadRoles = snapshot !== undefined;
      snapshot = undefined;
      if (hadRoles) options.onRolesChanged();
      metrics.showIamMetrics(iam !== undefined);
      if (!aws || !iam) return;
      const mine = start(aws, iam);
      sync = mine;
      await mine.syncNow();
    },
    snapshot: () => snapshot,
    lastSuccess: () => sync?.lastSuccess(),
    syncNow: () => sync?.syncNow() ?? Promise.resolve(false),
    stop() {
      sync?.stop();
      sync = undefined;
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
  logger.error(
    {
      code: 'ERR_IAM_SYNC',
      error: err instanceof Error ? err.name : 'error',
      status: (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode,
      retryInMs,
      lastSuccess,
    },
    'IAM sync failed; keeping the last good set of IAM roles',
  );
}
