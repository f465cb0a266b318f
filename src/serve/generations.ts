/**
 * The live configuration generation and its one reload path. A generation
 * is the file config with the IAM roles merged in (docs/aws.md) and the
 * token verifier for its issuers; a reload replaces it whole, so a check
 * reads one generation from start to end. The shadow candidate the live
 * config names follows every reload.
 */
import { createAwsIntegration, type AwsIntegration } from '../aws/integration.js';
import type { IamReader } from '../aws/iam-reader.js';
import { errorCodeOf } from '../errors.js';
import type { Generation } from '../check/check.js';
import type { ShadowCandidate } from '../check/handler.js';
import type { LoadedConfig } from '../config/compile.js';
import { processEnvironment } from '../config/environment.js';
import { createJwtVerifier, type PrefetchingJwtVerifier } from '../identity/jwt.js';
import type { Logger } from '../observe/logger.js';
import type { Metrics } from '../observe/metrics.js';
import { observeKeySets, type KeySetObserver, type KeySetState } from './key-sets.js';
import { recordReloaded, recordReloadFailed, type ReloadRecorder } from './reload-log.js';
import { createShadowFollower } from './shadow-follower.js';
import { createCatalogRuntime, type CatalogRuntime } from './catalog.js';

/** What {@link createGenerations} needs. */
export interface GenerationsOptions {
  /** The first generation, already loaded and validated. */
  readonly initial: LoadedConfig;
  /** Directory relative file names of the config resolve from (the shadow candidate's). */
  readonly baseDir: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The config file's name in log lines. */
  readonly configName: string;
  readonly now: () => number;
  /** Count token cache hits and misses (observability on). */
  readonly countTokenCache: boolean;
  /** Watch the shadow candidate's file. Default true. */
  readonly watch?: boolean;
  /** Who reads IAM for `aws.iam` syncs. Default: this process. */
  readonly iamReader?: IamReader;
  /**
   * This worker's slot of `of` sharing every configured cache bound
   * (`server.workers`, docs/workers.md). Default: one process, the whole bound.
   */
  readonly cacheShare?: { readonly slot: number; readonly of: number };
}

/** The active generation's history, for the admin listener's `/config`; times in epoch ms. */
export interface GenerationStatus {
  /** The file config's hash: the `config_hash` of audit records. Empty when it has none. */
  readonly hash: string;
  /** When it became active (the first load, or the reload that applied it). */
  readonly appliedAt: number;
  /** Reloads applied since start (the first load not counted). */
  readonly reloadsSucceeded: number;
  /** Reloads refused since start (the active generation stayed). */
  readonly reloadsFailed: number;
  /** When a reload last failed; absent without one. */
  readonly lastFailedAt?: number;
}

/** The live generation and how it changes. */
export interface Generations {
  /** The generation a check reads (read once per check). */
  current(): Generation<LoadedConfig>;
  /** The config file's own generation (no IAM roles): its hash names the active config. */
  fileConfig(): LoadedConfig;
  /** The shadow candidate, if the live config names one that loaded. */
  shadow(): ShadowCandidate | undefined;
  readonly aws: AwsIntegration;
  /** The Backstage catalog source (`catalog.backstage`), following reloads. */
  readonly catalog: CatalogRuntime;
  /** Hash, time applied and reload counts of the active generation. */
  status(): GenerationStatus;
  /** Each issuer's key set in the active verifier (key ids and fetch times only). */
  keySets(): KeySetState[];
  /** Settles once the first verifier's issuers' keys are fetched (or their fetch failed). */
  keysPrefetched(): Promise<void>;
  /** Makes `loaded` the live generation and records it. */
  apply(loaded: LoadedConfig): void;
  /** Records a reload that failed; the live generation stays. */
  failed(err: Error): void;
  /** Stops following; resolves once the IAM fleet lease (if any) is given up. */
  stop(): Promise<void>;
}

/** True when two configs verify tokens alike, so the verifier (and its caches) can stay. */
function sameIssuers(a: LoadedConfig, b: LoadedConfig): boolean {
  return (
    JSON.stringify(a.issuers) === JSON.stringify(b.issuers) &&
    JSON.stringify(a.settings.tokens) === JSON.stringify(b.settings.tokens)
  );
}

/**
 * Builds the first generation (its IAM roles loaded before it resolves)
 * and the reload path that replaces it.
 */
export async function createGenerations(options: GenerationsOptions): Promise<Generations> {
  const { initial, logger, metrics, now } = options;
  const recorder: ReloadRecorder = { logger, metrics, configName: options.configName, now };
  const shadows = createShadowFollower(options.baseDir, logger, options.watch ?? true);

  // The key sets of the verifier in use: a new verifier gets its own observer.
  let keySets: KeySetObserver | undefined;
  const verifierFor = (config: LoadedConfig): PrefetchingJwtVerifier => {
    const observer = observeKeySets(config.issuers, now);
    keySets = observer;
    const verifier = createJwtVerifier({
      issuers: config.issuers,
      maxTokenBytes: config.settings.tokens.maxBytes,
      cacheEntries: config.settings.tokens.cacheEntries,
      cacheMaxBytes: config.settings.tokens.cacheMaxBytes,
      ...(options.cacheShare ? { cacheShare: options.cacheShare } : {}),
      cacheHooks: metrics.caches.hooks('tokens'),
      prefetchKeys: true,
      now,
      fetchJson: observer.fetchJson,
      ...(options.countTokenCache
        ? {
            onCacheLookup: (hit: boolean) =>
              metrics.tokenCache.inc({ result: hit ? 'hit' : 'miss' }),
          }
        : {}),
      onJwksFetch: (issuer, result) => {
        metrics.jwksFetches.inc({ issuer, result });
        observer.fetched(issuer, result);
      },
    });
    // The gauges read the active verifier's cache; a new generation's replaces the old.
    metrics.caches.track('tokens', verifier.cache);
    return verifier;
  };

  let file = initial;
  const firstVerifier = verifierFor(initial);
  // Every generation reads the same live catalog: a reload does not reset ownership.
  const catalog = createCatalogRuntime({
    logger,
    registry: metrics.registry,
    now,
    env: (name) => processEnvironment()[name],
  });
  let live: Generation<LoadedConfig> = {
    compiled: initial,
    verifier: firstVerifier,
    catalog: catalog.lookup,
  };
  // IAM roles join the file's roles in every generation; a sync that changes them recomposes.
  const aws = createAwsIntegration({
    logger,
    now,
    ...(options.iamReader === undefined ? {} : { iamReader: options.iamReader }),
    env: (name) => processEnvironment()[name],
    registry: metrics.registry,
    caches: metrics.caches,
    ...(options.cacheShare ? { cacheShare: options.cacheShare } : {}),
    onRolesChanged() {
      live = { compiled: aws.compose(file), verifier: live.verifier, catalog: catalog.lookup };
      metrics.policyStatements.set(live.compiled.statementCount);
    },
  });
  await aws.configure(initial.settings);
  await catalog.configure(initial.settings.catalog?.backstage);
  live = { compiled: aws.compose(initial), verifier: firstVerifier, catalog: catalog.lookup };
  metrics.policyStatements.set(live.compiled.statementCount);
  metrics.config.applied(initial.sources?.hash ?? '', now());
  let status: GenerationStatus = {
    hash: initial.sources?.hash ?? '',
    appliedAt: now(),
    reloadsSucceeded: 0,
    reloadsFailed: 0,
  };
  for (const w of initial.warnings) logger.warn({ warning: w }, 'policy warning');
  shadows.follow(initial);

  const failed = (err: Error): void => {
    recordReloadFailed(recorder, err, file.sources?.hash);
    status = { ...status, reloadsFailed: status.reloadsFailed + 1, lastFailedAt: now() };
  };

  return {
    current: () => live,
    fileConfig: () => file,
    shadow: () => shadows.candidate(),
    aws,
    catalog,
    status: () => status,
    keySets: () => keySets?.states() ?? [],
    keysPrefetched: () => firstVerifier.keysPrefetched(),
    apply(loaded) {
      try {
        aws.preflight(loaded.settings);
      } catch (err) {
        failed(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      const previousHash = file.sources?.hash;
      file = loaded;
      shadows.follow(loaded);
      // A fleet database unreachable now keeps the running IAM sync (and its roles).
      aws.configure(loaded.settings).catch((err: unknown) => {
        logger.error(
          { code: errorCodeOf(err), error: err instanceof Error ? err.message : String(err) },
          'IAM source not reconfigured; the running IAM sync stays',
        );
      });
      catalog.configure(loaded.settings.catalog?.backstage).catch(() => undefined);
      const next = aws.compose(loaded);
      const verifier = sameIssuers(next, live.compiled) ? live.verifier : verifierFor(next);
      live = { compiled: next, verifier, catalog: catalog.lookup };
      recordReloaded(recorder, next, previousHash);
      status = {
        ...status,
        hash: loaded.sources?.hash ?? '',
        appliedAt: now(),
        reloadsSucceeded: status.reloadsSucceeded + 1,
      };
      for (const w of next.warnings) logger.warn({ warning: w }, 'policy warning');
    },
    failed,
    stop() {
      shadows.close();
      catalog.stop();
      return aws.stop();
    },
  };
}
