/**
 * The AWS capability as the composition root sees it: keeps the IAM sync in
 * step with the config file, merges IAM roles into each configuration generation,
 * and turns an allow on a credentials route into upstream credential
 * headers (or a deny). rolegate's own AWS credentials always come from the
 * SDK's default provider chain: environment, web identity (IRSA),
 * container, instance.
 */
import { STSClient } from '@aws-sdk/client-sts';
import { decodeJwt } from 'jose';
import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import type { CheckOutcome } from '../decision/outcome.js';
import type { CompiledConfig, CheckSettings } from '../generation/compiled-config.js';
import { errorCodeOf } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import type { CacheMetrics } from '../observe/metrics.js';
import {
  credentialHeaderNames,
  DEFAULT_CREDENTIAL_HEADERS,
  DEFAULT_STS_CACHE_MAX_BYTES,
  DEFAULT_STS_TIMEOUT_MS,
  type AwsConfig,
} from './config.js';
import { directIamReader, type IamReader, type IamReadRequest } from './iam-reader.js';
import { compileIamRoles, type IamSnapshot } from './iam-source.js';
import { createIamSync, type IamSync } from './iam-sync.js';
import { isIamRole, mergeIamRoles } from './merge.js';
import { createStsBroker, stsCalls, type StsBroker } from './sts-broker.js';

export interface AwsIntegrationOptions {
  readonly logger: Logger;
  /** Clock in epoch ms. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Metrics go here when given: the STS counter at once, the IAM sync
   * metrics only while the config has an `aws.iam` section (a file-only
   * deployment exports none, so no staleness alert fires on it).
   */
  readonly registry?: Registry;
  /** The credential cache's size and eviction metrics (`cache="sts_credentials"`). */
  readonly caches?: CacheMetrics;
  /** Called after a sync changed the IAM roles: recompose the generation. */
  readonly onRolesChanged: () => void;
  /**
   * Who reads IAM for a sync. Default: this process, directly. A cluster
   * worker asks its primary, which reads once for every worker.
   */
  readonly iamReader?: IamReader;
}

/** What an allow on a credentials route adds: the outcome (maybe now a deny) and headers. */
/** The options the AWS integration reads: a Check's, plus its own `aws` section. */
export type RolegateConfig = CheckSettings & { readonly aws?: AwsConfig };

export interface CredentialsStep {
  readonly outcome: CheckOutcome;
  readonly headers: Readonly<Record<string, string>>;
}

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
  stop(): void;
}

/** The SDK client settings (region, endpoint) of the `aws` section. */
export function clientConfig(aws: AwsConfig | undefined): { region?: string; endpoint?: string } {
  return {
    ...(aws?.region === undefined ? {} : { region: aws.region }),
    ...(aws?.endpoint === undefined ? {} : { endpoint: aws.endpoint }),
  };
}

/** True when the token is the one the principal was verified from (same iss and sub). */
function tokenOf(outcome: CheckOutcome, token: string | undefined): string | undefined {
  if (token === undefined || outcome.principal?.kind !== 'jwt') return undefined;
  try {
    const claims = decodeJwt(token);
    return claims.iss === outcome.principal.issuer && claims.sub === outcome.principal.subject
      ? token
      : undefined;
  } catch {
    return undefined;
  }
}

/** Creates the integration; nothing talks to AWS until `configure` or a credentials route. */
export function createAwsIntegration(options: AwsIntegrationOptions): AwsIntegration {
  const { logger } = options;
  const now = options.now ?? Date.now;
  const registers = options.registry ? [options.registry] : [];
  // Registered by `showIamMetrics` only while IAM sync is configured.
  const metrics = {
    lastSync: new Gauge({
      name: 'rolegate_iam_last_sync_success_timestamp_seconds',
      help: 'Time of the last successful IAM sync (epoch seconds).',
      registers: [],
    }),
    syncs: new Counter({
      name: 'rolegate_iam_syncs_total',
      help: 'IAM syncs, by result (success|failure).',
      labelNames: ['result'] as const,
      registers: [],
    }),
    iamRoles: new Gauge({
      name: 'rolegate_iam_roles',
      help: 'Roles loaded from IAM (loaded|invalid|shadowed).',
      labelNames: ['state'] as const,
      registers: [],
    }),
    sts: new Counter({
      name: 'rolegate_sts_calls_total',
      help: 'STS calls for upstream credentials, by API and result (success|failure).',
      labelNames: ['api', 'result'] as const,
      registers,
    }),
  };

  const iamMetrics: readonly [string, Metric][] = [
    ['rolegate_iam_last_sync_success_timestamp_seconds', metrics.lastSync],
    ['rolegate_iam_syncs_total', metrics.syncs as Metric],
    ['rolegate_iam_roles', metrics.iamRoles as Metric],
  ];
  /** Adds the IAM sync metrics to the registry, or takes them out (reset, for a later return). */
  const showIamMetrics = (show: boolean) => {
    const registry = options.registry;
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
      metrics.syncs.inc({ result: 'success' }, 0);
      metrics.syncs.inc({ result: 'failure' }, 0);
    }
  };

  const readIam = options.iamReader ?? directIamReader(now);
  let sync: IamSync | undefined;
  let syncKey = '';
  let snapshot: IamSnapshot | undefined;
  let broker: { key: string; broker: StsBroker } | undefined;
  let reportedClashes = '';

  const brokerFor = (aws: AwsConfig | undefined): StsBroker => {
    const key = JSON.stringify([clientConfig(aws), aws?.sts ?? null]);
    if (broker?.key !== key) {
      const settings = aws?.sts ?? {
        durationSeconds: 3600,
        sessionTags: {},
        webIdentity: 'auto' as const,
        timeoutMs: DEFAULT_STS_TIMEOUT_MS,
        cacheEntries: 1000,
        cacheMaxBytes: DEFAULT_STS_CACHE_MAX_BYTES,
      };
      broker = {
        key,
        broker: createStsBroker({
          calls: stsCalls(new STSClient(clientConfig(aws)), settings.timeoutMs),
          settings,
          now,
          onCall: (api, ok) => metrics.sts.inc({ api, result: ok ? 'success' : 'failure' }),
          ...(options.caches ? { cacheHooks: options.caches.hooks('sts_credentials') } : {}),
        }),
      };
      options.caches?.track('sts_credentials', broker.broker.cache);
    }
    return broker.broker;
  };

  return {
    async configure(config) {
      const iam = config.aws?.iam;
      const key = iam ? JSON.stringify([clientConfig(config.aws), iam]) : '';
      if (key === syncKey) return;
      sync?.stop();
      sync = undefined;
      syncKey = key;
      // Roles chosen by an old selection must not outlive it.
      const hadRoles = snapshot !== undefined;
      snapshot = undefined;
      if (hadRoles) options.onRolesChanged();
      showIamMetrics(iam !== undefined);
      if (!iam) return;
      const request: IamReadRequest = { client: clientConfig(config.aws), iam };
      const mine: IamSync = createIamSync({
        intervalMs: iam.refreshSeconds * 1000,
        jitter: iam.jitter,
        now,
        load: async () =>
          compileIamRoles(await readIam(request), { roleArnAsName: iam.roleArnAsName }),
        onUpdate(next) {
          if (sync !== mine) return;
          snapshot = next;
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
          logger.info(
            { roles: next.roles.length, skipped: next.errors.length },
            'IAM roles synced',
          );
          options.onRolesChanged();
        },
        onError(err, retryInMs) {
          if (sync !== mine) return;
          metrics.syncs.inc({ result: 'failure' });
          logger.error(
            {
              code: 'ERR_IAM_SYNC',
              error: err instanceof Error ? err.name : 'error',
              status: (err as { $metadata?: { httpStatusCode?: number } })?.$metadata
                ?.httpStatusCode,
              retryInMs,
              lastSuccess: mine.lastSuccess(),
            },
            'IAM sync failed; keeping the last good set of IAM roles',
          );
        },
      });
      sync = mine;
      await mine.syncNow();
    },

    compose(file) {
      const { compiled, clashes } = mergeIamRoles(file, snapshot);
      metrics.iamRoles.set({ state: 'shadowed' }, clashes.length);
      // Report a clash once, not on every recompose.
      const summary = JSON.stringify(clashes.map((c) => c.arn));
      if (summary !== reportedClashes) {
        reportedClashes = summary;
        for (const c of clashes) {
          logger.warn({ code: c.code, role: c.roleName, arn: c.arn }, c.message);
        }
      }
      return compiled;
    },

    async upstreamCredentials(outcome, config, token) {
      const mode = outcome.route?.credentials;
      if (!outcome.allowed || mode === undefined || !outcome.principal || !outcome.role) {
        return { outcome, headers: {} };
      }
      const names = config.aws?.sts.headers;
      try {
        const role = outcome.role;
        const webToken = tokenOf(outcome, token);
        const creds = await brokerFor(config.aws).credentials({
          roleArn: role.arn,
          principal: outcome.principal,
          ...(webToken === undefined ? {} : { token: webToken }),
          ...(isIamRole(role) ? { webIdentityProviders: role.webIdentityProviders } : {}),
        });
        const h = names ?? DEFAULT_CREDENTIAL_HEADERS;
        return {
          outcome,
          headers: {
            [h.accessKeyId]: creds.accessKeyId,
            [h.secretAccessKey]: creds.secretAccessKey,
            [h.sessionToken]: creds.sessionToken,
            [h.expiration]: new Date(creds.expiration).toISOString(),
          },
        };
      } catch (err) {
        const code = errorCodeOf(err) === 'ERR_INTERNAL' ? 'ERR_INTERNAL' : 'ERR_STS_FAILED';
        logger.warn(
          {
            code,
            role: outcome.role.arn,
            decisionId: outcome.decisionId,
            detail: err instanceof Error ? err.message : 'error',
            optional: mode === 'optional',
          },
          mode === 'optional'
            ? 'upstream credentials unavailable; continuing without them (route marks them optional)'
            : 'upstream credentials unavailable; denying',
        );
        if (mode === 'optional') return { outcome, headers: {} };
        return {
          outcome: { ...outcome, allowed: false, status: 403, reason: code },
          headers: {},
        };
      }
    },

    ownedHeaders: (config) => credentialHeaderNames(config.aws),
    lastIamSync: () => sync?.lastSuccess(),
    syncNow: () => sync?.syncNow() ?? Promise.resolve(false),
    stop() {
      sync?.stop();
      sync = undefined;
    },
  };
}
