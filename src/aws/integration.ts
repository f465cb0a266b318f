/**
 * The AWS capability as the composition root sees it: keeps the IAM sync in
 * step with the config file, merges IAM roles into each configuration generation,
 * and turns an allow on a credentials route into upstream credential
 * headers (or a deny). rolegate's own AWS credentials always come from the
 * SDK's default provider chain: environment, web identity (IRSA),
 * container, instance.
 *
 * The parts, each in its own module: metrics (integration-metrics.ts), the
 * IAM sync's lifecycle (iam-lifecycle.ts), the STS credentials step
 * (upstream-credentials.ts); role composition is here.
 */
import type { Registry } from 'prom-client';
import type { CacheShare } from '../cache/share.js';
import type { CheckOutcome } from '../decision/outcome.js';
import type { CompiledConfig, CheckSettings } from '../generation/compiled-config.js';
import type { Logger } from '../observe/logger.js';
import type { CacheMetrics } from '../observe/metrics.js';
import { credentialHeaderNames, type AwsConfig } from './config.js';
import type { FleetStatus } from './fleet.js';
import { createIamLifecycle } from './iam-lifecycle.js';
import { directIamReader, type IamReader } from './iam-reader.js';
import type { IamSnapshot } from './iam-source.js';
import { createAwsMetrics, type AwsMetrics } from './integration-metrics.js';
import { mergeIamRoles } from './merge.js';
import { createCredentialsStep, type CredentialsStep } from './upstream-credentials.js';

export { clientConfig } from './client-config.js';
export type { CredentialsStep } from './upstream-credentials.js';

/** Options of {@link createAwsIntegration}; only `logger` and `onRolesChanged` are required. */
export interface AwsIntegrationOptions {
  readonly logger: Logger;
  /** Clock in epoch ms. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Metrics go here when given: the STS counter at once, the IAM sync
   * metrics only while the config has an `aws.iam` section (a file-only
   * deployment exports none, so no staleness alert fires on it). Default:
   * none exported.
   */
  readonly registry?: Registry;
  /** The credential cache's size and eviction metrics (`cache="sts_credentials"`). Default: none. */
  readonly caches?: CacheMetrics;
  /** This process's part of the `aws.sts` cache bounds with `server.workers`. Default: all. */
  readonly cacheShare?: CacheShare;
  /** Called after a sync changed the IAM roles: recompose the generation. */
  readonly onRolesChanged: () => void;
  /**
   * Who reads IAM for a sync. Default: this process, directly. A cluster
   * worker asks its primary, which reads once for every worker.
   */
  readonly iamReader?: IamReader;
  /** Environment variables (the fleet's database URL). Default: none set. */
  readonly env?: (name: string) => string | undefined;
}

/** The options the AWS integration reads: a Check's, plus its own `aws` section. */
export type RolegateConfig = CheckSettings & { readonly aws?: AwsConfig };

/** What the composition root calls; one instance lives as long as the process. */
export interface AwsIntegration {
  /** Starts, restarts or stops the IAM sync for a (re)loaded config; resolves after its first load. */
  configure(config: RolegateConfig): Promise<void>;
  /** A file-loaded config with the current IAM roles merged in. */
  compose<R extends CompiledConfig>(file: R): R;
  /**
   * Adds upstream credentials to an allow whose route asks for them.
   * `token` is the caller's raw token when it has one. Never throws.
   */
  upstreamCredentials(
    outcome: CheckOutcome,
    config: RolegateConfig,
    token: string | undefined,
  ): Promise<CredentialsStep>;
  /** Credential header names, stripped from every inbound request. */
  ownedHeaders(config: RolegateConfig): readonly string[];
  /** Epoch ms of the last successful IAM sync, or undefined. */
  lastIamSync(): number | undefined;
  /** Syncs IAM now; false on failure or without an IAM source. Never rejects. */
  syncNow(): Promise<boolean>;
  /** The IAM fleet as this replica sees it (`aws.iam.fleet`), else undefined. */
  fleet(): FleetStatus | undefined;
  /** Throws (ERR_IAM_FLEET) when `configure` could not apply `config`; changes nothing. */
  preflight(config: RolegateConfig): void;
  /** Stops the IAM sync; resolves once a fleet lease is given up. */
  stop(): Promise<void>;
}

/** Creates the integration; nothing talks to AWS until `configure` or a credentials route. */
export function createAwsIntegration(options: AwsIntegrationOptions): AwsIntegration {
  const { logger } = options;
  const now = options.now ?? Date.now;
  const metrics = createAwsMetrics(options.registry);
  const iam = createIamLifecycle({
    logger,
    now,
    metrics,
    readIam: options.iamReader ?? directIamReader(now),
    onRolesChanged: options.onRolesChanged,
    env: options.env ?? (() => undefined),
    // A given reader belongs to a cluster primary, which is the fleet member.
    joinFleet: options.iamReader === undefined,
  });
  const credentials = createCredentialsStep({
    logger,
    now,
    onStsCall: (api, ok) => metrics.sts.inc({ api, result: ok ? 'success' : 'failure' }),
    ...(options.caches ? { caches: options.caches } : {}),
    ...(options.cacheShare ? { cacheShare: options.cacheShare } : {}),
  });
  const compose = roleComposer(logger, metrics);
  return {
    configure: (config) => iam.configure(config.aws),
    compose: (file) => compose(file, iam.snapshot()),
    upstreamCredentials: (outcome, config, token) => credentials(outcome, config.aws, token),
    ownedHeaders: (config) => credentialHeaderNames(config.aws),
    lastIamSync: () => iam.lastSuccess(),
    syncNow: () => iam.syncNow(),
    fleet: () => iam.fleet(),
    preflight: (config) => iam.preflight(config.aws),
    stop: () => iam.stop(),
  };
}

/**
 * Merges the IAM roles into a file-loaded config. A role in both (same name
 * or ARN) keeps the file's version; each such clash is logged once, not on
 * every recompose, and counted as `rolegate_iam_roles{state="shadowed"}`.
 */
function roleComposer(
  logger: Logger,
  metrics: AwsMetrics,
): <R extends CompiledConfig>(file: R, snapshot: IamSnapshot | undefined) => R {
  let reportedClashes = '';
  return (file, snapshot) => {
    const { compiled, clashes } = mergeIamRoles(file, snapshot);
    metrics.iamRoles.set({ state: 'shadowed' }, clashes.length);
    const summary = JSON.stringify(clashes.map((c) => c.arn));
    if (summary !== reportedClashes) {
      reportedClashes = summary;
      for (const c of clashes) {
        logger.warn({ code: c.code, role: c.roleName, arn: c.arn }, c.message);
      }
    }
    return compiled;
  };
}
