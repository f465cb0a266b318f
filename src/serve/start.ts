/**
 * `startRolegate`: config -> generation -> pipeline -> listeners, hot
 * reload, and the SIGTERM drain. Tests, benchmarks, `rolegate serve` and
 * each cluster worker start rolegate here.
 */
import { randomUUID } from 'node:crypto';
import { resolve as resolvePath } from 'node:path';
import type { IamReader } from '../aws/iam-reader.js';
import { createCheckPipeline, type CheckHandlerDeps } from '../check/handler.js';
import type { LoadedConfig } from '../config/compile.js';
import { logLevelOf, processEnvironment } from '../config/environment.js';
import { baseDirOf, loadConfig, STDIN_NAME, type ConfigSource } from '../config/load.js';
import { RolegateError } from '../errors.js';
import { createAuditor, type Auditor } from '../observe/audit.js';
import { createAuditLogger, createLogger, flushLogger, type Logger } from '../observe/logger.js';
import { createMetrics, type Metrics } from '../observe/metrics.js';
import {
  TracingConfigError,
  tracingFromEnv,
  TRACING_OFF,
  type Tracing,
} from '../observe/tracing.js';
import { settledWithin } from '../settled-within.js';
import { followConfig } from './config-follower.js';
import { createGenerations, type Generations } from './generations.js';
import { openListeners, type Listeners } from './listeners.js';

export interface StartOptions {
  /** The config file; only a label (default `<stdin>`) when `configText` is given. */
  readonly configFile: string;
  /**
   * The config itself (e.g. read from standard input); then `configFile` is
   * not read, relative file names resolve from the working directory, and
   * nothing is watched: SIGHUP and `reload()` re-apply the same text.
   * Default: read `configFile`.
   */
  readonly configText?: string;
  /** Operational log (default: JSON on stderr at `ROLEGATE_LOG_LEVEL`). */
  readonly logger?: Logger;
  /** Audit log (default: JSON on stdout, or `audit.file`). */
  readonly auditLogger?: Logger;
  /** Who reads IAM for `aws.iam` syncs (default: this process; a cluster worker asks its primary). */
  readonly iamReader?: IamReader;
  /** Override the config's listen ports (0 = any free port); for tests. */
  readonly grpcPort?: number;
  readonly adminPort?: number;
  /**
   * Start the admin listener (/healthz, /readyz, /metrics). Default true;
   * a cluster worker passes false because the primary serves it for all
   * workers (docs/workers.md).
   */
  readonly admin?: boolean;
  /** Override `server.http.port` (0 = any free port); for tests. The listener starts only when `server.http.enabled`. */
  readonly httpPort?: number;
  /** Override `access.listen.port` (0 = any free port); for tests. */
  readonly accessPort?: number;
  /** Clock in epoch ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Watch the config file (and the shadow candidate's) for changes. Default true. */
  readonly watch?: boolean;
  /** Default process metrics. Default true. */
  readonly defaultMetrics?: boolean;
  /**
   * Audit records, metric updates and spans for each check. Default true;
   * false (benchmarks only) skips them entirely: /metrics still answers,
   * but the check and token-cache series stay at zero.
   */
  readonly observability?: boolean;
  /** Tracing; default from the standard `OTEL_*` environment variables (off unless they ask). */
  readonly tracing?: Tracing;
  /**
   * Open the gRPC, HTTP check and access API listeners only once the
   * issuers' keys are in (bounded by {@link STARTUP_KEYS_WAIT_MS}), instead
   * of binding at once and reporting NOT_SERVING meanwhile. Default false; a
   * cluster worker passes true: its listening sockets are shared, and the
   * primary hands a new connection to any worker that listens, whatever
   * that worker's health says (docs/workers.md).
   */
  readonly listenOnceReady?: boolean;
  /**
   * This cluster worker's slot of `of` workers: each configured cache bound
   * (`tokens.cache*`, `aws.sts.cache*`) is split between them so the process
   * group holds at most the bound (docs/workers.md). Default: the whole bound.
   */
  readonly cacheShare?: { readonly slot: number; readonly of: number };
}

export interface Rolegate {
  readonly grpcPort: number;
  /** The admin listener's port; 0 when started with `admin: false`. */
  readonly adminPort: number;
  /** The HTTP check listener's port; undefined when `server.http.enabled` is false. */
  readonly httpPort: number | undefined;
  /** The access API port, when `access.enabled`. */
  readonly accessPort?: number;
  readonly metrics: Metrics;
  /** Decisions since start, for quick reads (benchmarks) without scraping metrics. */
  readonly decisions: { allow: number; deny: number };
  /** The active config generation. */
  current(): LoadedConfig;
  /** Epoch ms of the last successful AWS IAM sync; undefined without one (docs/aws.md). */
  lastIamSync(): number | undefined;
  /** Syncs IAM now (false on failure or without `aws.iam`); never rejects. */
  syncIam(): Promise<boolean>;
  /** Reloads the config now; throws on an invalid file (the old one stays active). */
  reload(): void;
  /** Health NOT_SERVING, drain in-flight calls within the configured deadline, close. */
  stop(): Promise<void>;
}

/**
 * Longest start-up wait for the issuers' keys before reporting SERVING (each
 * fetch is bounded by its own timeout too); an issuer that is down at start
 * only delays SERVING this long, then its tokens get 401 as before.
 */
export const STARTUP_KEYS_WAIT_MS = 5_000;

/** Tracing from the `OTEL_*` variables; settings it cannot honour become `ERR_TRACING_CONFIG`. */
async function tracingOrError(): Promise<Tracing> {
  try {
    return await tracingFromEnv(processEnvironment());
  } catch (err) {
    if (err instanceof TracingConfigError)
      throw new RolegateError('ERR_TRACING_CONFIG', err.message);
    throw err;
  }
}

function sourceOf(options: StartOptions): ConfigSource {
  return options.configText === undefined
    ? { file: options.configFile }
    : { file: options.configFile || STDIN_NAME, text: options.configText };
}

function auditLoggerOf(options: StartOptions, initial: LoadedConfig, source: ConfigSource): Logger {
  if (options.auditLogger) return options.auditLogger;
  const file = initial.settings.audit.file;
  return createAuditLogger(file === undefined ? 1 : { file: resolvePath(baseDirOf(source), file) });
}

function auditorOf(generations: Generations, logger: Logger, now: () => number): Auditor {
  const settings = () => generations.current().compiled.settings.audit;
  return createAuditor(
    logger,
    () => settings().allowSampleRate,
    Math.random,
    () => generations.fileConfig().sources?.hash,
    () => settings().format,
    now,
  );
}

/**
 * Loads the config (refusing an invalid one) and starts the listeners.
 * Throws `ConfigError` for an unusable config and a `RolegateError`
 * (`ERR_LISTEN_*`) for a listener that cannot bind, having stopped what it
 * started.
 */
export async function startRolegate(options: StartOptions): Promise<Rolegate> {
  const logger = options.logger ?? createLogger(logLevelOf(), 2);
  const now = options.now ?? Date.now;
  const observe = options.observability ?? true;
  const metrics = createMetrics(options.defaultMetrics ?? true);
  const tracing = observe ? (options.tracing ?? (await tracingOrError())) : TRACING_OFF;
  const source = sourceOf(options);
  const initial = loadConfig(source);
  // Log lines name the config file by its absolute path, or the stdin label.
  const configName = options.configText === undefined ? resolvePath(source.file) : source.file;
  const auditLogger = auditLoggerOf(options, initial, source);
  const generations = await createGenerations({
    initial,
    baseDir: baseDirOf(source),
    logger,
    metrics,
    configName,
    now,
    countTokenCache: observe,
    ...(options.watch === undefined ? {} : { watch: options.watch }),
    ...(options.iamReader === undefined ? {} : { iamReader: options.iamReader }),
    ...(options.cacheShare === undefined ? {} : { cacheShare: options.cacheShare }),
  });
  const decisions = { allow: 0, deny: 0 };
  const auditor = observe ? auditorOf(generations, auditLogger, now) : undefined;
  // A replica that reports SERVING before its issuers' keys are in would
  // answer its first calls after a (rolling) restart with 401s or a slow
  // key fetch; Envoy keeps it out of rotation until then (bounded wait).
  const keysIn = () => settledWithin(generations.keysPrefetched(), STARTUP_KEYS_WAIT_MS);
  // A cluster worker's listening sockets are shared: it listens only once able to decide.
  if (options.listenOnceReady === true) await keysIn();

  const releaseOnFailure = async () => {
    await generations.stop();
    if (!options.tracing) await tracing.shutdown();
    await flushLogger(auditLogger);
  };
  const listeners: Listeners = await openListeners({
    options,
    initial,
    baseDir: baseDirOf(source),
    generations,
    metrics,
    logger,
    auditLogger,
    now,
    decisions,
    countFailures: observe,
    pipeline: (access) =>
      createCheckPipeline({
        generation: () => generations.current(),
        now,
        newId: randomUUID,
        aws: generations.aws,
        tracing,
        decisions,
        shadow: () => generations.shadow(),
        ...(access ? { grants: access.grants } : {}),
        ...(auditor ? { observe: { metrics, auditor } } : {}),
      } satisfies CheckHandlerDeps),
  }).catch(async (err: unknown) => {
    await releaseOnFailure();
    throw err;
  });

  const follower = followConfig(
    source,
    initial,
    {
      onReload: (loaded) => generations.apply(loaded),
      onReloadError: (err) => generations.failed(err),
    },
    options.watch !== false,
  );
  if (options.listenOnceReady !== true) await keysIn();
  listeners.serving();
  logger.info(
    {
      grpcPort: listeners.grpcPort,
      // A cluster worker has none: the primary serves the admin listener.
      adminPort: options.admin === false ? undefined : listeners.adminPort,
      httpPort: listeners.httpPort,
      roles: initial.roles.length,
      file: configName,
      hash: initial.sources?.hash,
    },
    'rolegate serving',
  );

  return {
    grpcPort: listeners.grpcPort,
    adminPort: listeners.adminPort,
    httpPort: listeners.httpPort,
    ...(listeners.accessPort === undefined ? {} : { accessPort: listeners.accessPort }),
    metrics,
    decisions,
    current: () => generations.current().compiled,
    lastIamSync: () => generations.aws.lastIamSync(),
    syncIam: () => generations.aws.syncNow(),
    reload: () => follower.reload(),
    async stop() {
      follower.close();
      // The fleet lease is given up while Checks drain, so another replica reads IAM at once.
      const leaving = generations.stop();
      await listeners.drain(generations.current().compiled.settings.server);
      await leaving;
      if (!options.tracing) await tracing.shutdown();
      await flushLogger(auditLogger);
      logger.info('rolegate stopped');
    },
  };
}
