/**
 * Composition root: config -> pipeline -> servers, hot reload, and the
 * SIGTERM drain. Tests, benchmarks and the CLI all start rolegate here.
 */
import { randomUUID } from 'node:crypto';
import { resolve as resolvePath } from 'node:path';
import { createAwsIntegration } from './aws/integration.js';
import { settledWithin } from './settled-within.js';
import type { IamReader } from './aws/iam-reader.js';
import type { Generation } from './check/check.js';
import { createCheckHandler, createCheckPipeline, type ShadowCandidate } from './check/handler.js';
import { createHttpCheckHandler } from './check/http-handler.js';
import type { LoadedConfig } from './config/compile.js';
import {
  baseDirOf,
  ConfigError,
  loadConfig,
  STDIN_NAME,
  type ConfigSource,
} from './config/load.js';
import { RolegateError } from './errors.js';
import { watchConfig, type ConfigWatcher } from './config/watch.js';
import { createJwtVerifier, type PrefetchingJwtVerifier } from './identity/jwt.js';
import { createAuditor, type Auditor } from './observe/audit.js';
import { createAuditLogger, createLogger, flushLogger, type Logger } from './observe/logger.js';
import { createMetrics, type Metrics } from './observe/metrics.js';
import {
  TracingConfigError,
  tracingFromEnv,
  TRACING_OFF,
  type Tracing,
} from './observe/tracing.js';
import { DENY_BODY } from './response/check-response.js';
import { startGrpcServer, type GrpcServer } from './transport/grpc/server.js';
import { RpcCode, type CheckResponse } from './transport/grpc/messages.js';
import { startAdminServer, type AdminServer } from './transport/http/admin.js';
import {
  startHttpCheckServer,
  type HttpAnswer,
  type HttpCheckServer,
} from './transport/http/check-server.js';
import { listenError } from './transport/listen-error.js';
import { startAccess, type AccessRuntime } from './access-wiring.js';

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
  /** Operational log (default: JSON on stderr). */
  readonly logger?: Logger;
  /** Audit log (default: JSON on stdout). */
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
  /** Watch the config file for changes. Default true. */
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

/** A deny for a handler that threw despite the pipeline's own guards. */
function internalErrorResponse(): CheckResponse {
  return {
    status: { code: RpcCode.PERMISSION_DENIED },
    denied_response: { status: { code: 'Forbidden' }, body: DENY_BODY[403] },
  };
}

/** The HTTP check's deny for a handler that threw: the same 403 body. */
function internalErrorAnswer(): HttpAnswer {
  return { status: 403, headers: { 'content-type': 'application/json' }, body: DENY_BODY[403] };
}

/** Tracing from the `OTEL_*` variables; settings it cannot honour become `ERR_TRACING_CONFIG`. */
function tracingOrError(): Tracing {
  try {
    return tracingFromEnv();
  } catch (err) {
    if (err instanceof TracingConfigError)
      throw new RolegateError('ERR_TRACING_CONFIG', err.message);
    throw err;
  }
}

/**
 * Loads the config (refusing an invalid one) and starts the gRPC and admin
 * servers. Throws {@link ConfigError} for an unusable config and a
 * `RolegateError` (`ERR_LISTEN_*`) for a listener that cannot bind.
 */
export async function startRolegate(options: StartOptions): Promise<Rolegate> {
  const logger = options.logger ?? createLogger(process.env['ROLEGATE_LOG_LEVEL'] ?? 'info', 2);
  const now = options.now ?? Date.now;
  const observe = options.observability ?? true;
  const metrics = createMetrics(options.defaultMetrics ?? true);
  const tracing = observe ? (options.tracing ?? tracingOrError()) : TRACING_OFF;
  const source: ConfigSource =
    options.configText === undefined
      ? { file: options.configFile }
      : { file: options.configFile || STDIN_NAME, text: options.configText };

  const makeVerifier = (config: LoadedConfig): PrefetchingJwtVerifier => {
    const verifier = createJwtVerifier({
      issuers: config.issuers,
      maxTokenBytes: config.settings.tokens.maxBytes,
      cacheEntries: config.settings.tokens.cacheEntries,
      cacheMaxBytes: config.settings.tokens.cacheMaxBytes,
      cacheHooks: metrics.caches.hooks('tokens'),
      prefetchKeys: true,
      now,
      ...(observe
        ? {
            onCacheLookup: (hit: boolean) =>
              metrics.tokenCache.inc({ result: hit ? 'hit' : 'miss' }),
          }
        : {}),
      onJwksFetch: (issuer, result) => metrics.jwksFetches.inc({ issuer, result }),
    });
    // The gauges read the active verifier's cache; a new generation's replaces the old.
    metrics.caches.track('tokens', verifier.cache);
    return verifier;
  };

  const initial = loadConfig(source);
  // The file named in reload log lines: the config file's absolute path, or the stdin label.
  const configName = options.configText === undefined ? resolvePath(source.file) : source.file;
  const auditFile = initial.settings.audit.file;
  const auditLogger =
    options.auditLogger ??
    createAuditLogger(
      auditFile === undefined ? 1 : { file: resolvePath(baseDirOf(source), auditFile) },
    );
  // IAM roles join the file's roles in every generation (docs/aws.md).
  let fileRuntime = initial;
  const aws = createAwsIntegration({
    logger,
    now,
    ...(options.iamReader === undefined ? {} : { iamReader: options.iamReader }),
    registry: metrics.registry,
    caches: metrics.caches,
    onRolesChanged() {
      const next = aws.compose(fileRuntime);
      runtime = { compiled: next, verifier: runtime.verifier };
      metrics.policyStatements.set(next.statementCount);
    },
  });
  const firstVerifier = makeVerifier(initial);
  let runtime: Generation<LoadedConfig> = { compiled: initial, verifier: firstVerifier };
  await aws.configure(initial.settings);
  runtime = { compiled: aws.compose(initial), verifier: runtime.verifier };
  metrics.policyStatements.set(runtime.compiled.statementCount);
  metrics.config.applied(initial.sources?.hash ?? '', now());
  for (const w of initial.warnings) logger.warn({ warning: w }, 'policy warning');

  const swap = (loaded: LoadedConfig) => {
    const previousHash = fileRuntime.sources?.hash;
    fileRuntime = loaded;
    configureShadow(loaded);
    void aws.configure(loaded.settings);
    const next = aws.compose(loaded);
    const sameIssuers =
      JSON.stringify(next.issuers) === JSON.stringify(runtime.compiled.issuers) &&
      JSON.stringify(next.settings.tokens) === JSON.stringify(runtime.compiled.settings.tokens);
    // Keep the verifier (and its key and token caches) when issuers did not change.
    runtime = { compiled: next, verifier: sameIssuers ? runtime.verifier : makeVerifier(next) };
    metrics.configReloads.inc({ result: 'success' });
    metrics.config.applied(loaded.sources?.hash ?? '', now());
    metrics.policyStatements.set(next.statementCount);
    logger.info(
      {
        file: configName,
        hash: loaded.sources?.hash,
        previousHash,
        statements: next.statementCount,
        roles: next.roles.length,
      },
      'config reloaded',
    );
    for (const w of next.warnings) logger.warn({ warning: w }, 'policy warning');
  };
  const reloadFailed = (err: Error) => {
    metrics.configReloads.inc({ result: 'failure' });
    metrics.config.failed();
    const findings = err instanceof ConfigError ? err.findings : [];
    logger.error(
      {
        // The file at fault (a policy or key file, or the config itself).
        file: findings.find((f) => f.file !== undefined)?.file ?? configName,
        code: err instanceof ConfigError ? err.code : 'ERR_CONFIG_INVALID',
        problems: err instanceof ConfigError ? err.problems : [err.message],
        // The generation that stays active.
        hash: fileRuntime.sources?.hash,
      },
      'config reload failed; keeping the last good config',
    );
  };

  // Shadow mode (docs/safe-changes.md): the candidate named by the live
  // config's `shadow.config`, loaded and hot reloaded on its own; a broken
  // candidate is logged and never stops or changes the live service.
  interface ShadowState {
    readonly file: string;
    candidate?: ShadowCandidate;
    watcher?: ConfigWatcher;
  }
  let shadow: ShadowState | undefined;
  const configureShadow = (config: LoadedConfig): void => {
    const rel = config.settings.shadow.config;
    const file = rel === undefined ? undefined : resolvePath(baseDirOf(source), rel);
    if (file === shadow?.file) return;
    shadow?.watcher?.close();
    shadow = undefined;
    if (file === undefined) return;
    const state: ShadowState = { file };
    shadow = state;
    const applied = (loaded: LoadedConfig): void => {
      state.candidate = {
        config: loaded,
        ...(loaded.sources?.hash === undefined ? {} : { hash: loaded.sources.hash }),
      };
      logger.info({ file, hash: loaded.sources?.hash }, 'shadow candidate loaded');
    };
    const failed = (err: Error): void => {
      logger.error(
        {
          file,
          code: err instanceof ConfigError ? err.code : 'ERR_CONFIG_INVALID',
          problems: err instanceof ConfigError ? err.problems : [err.message],
          hash: state.candidate?.hash,
        },
        'shadow candidate invalid; keeping the last good candidate',
      );
    };
    try {
      applied(loadConfig(file));
    } catch (err) {
      failed(err instanceof Error ? err : new Error(String(err)));
    }
    if (options.watch !== false) {
      state.watcher = watchConfig(file, { onReload: applied, onReloadError: failed });
    }
  };
  configureShadow(initial);

  const auditor: Auditor | undefined = observe
    ? createAuditor(
        auditLogger,
        () => runtime.compiled.settings.audit.allowSampleRate,
        Math.random,
        () => fileRuntime.sources?.hash,
        () => runtime.compiled.settings.audit.format,
        now,
      )
    : undefined;
  let draining = false;
  // /readyz says ready only while the gRPC health says SERVING: a pod must not
  // count as ready (and let a rolling update stop the next one) before then.
  let serving = false;
  const decisions = { allow: 0, deny: 0 };

  const { grpc: grpcListen, admin: adminListen } = initial.settings.server;
  const grpcPort = options.grpcPort ?? grpcListen.port;
  const adminPort = options.adminPort ?? adminListen.port;
  // A listener that cannot bind stops everything started so far, so the process can exit.
  const abandon = async (err: unknown, grpcStarted?: GrpcServer): Promise<never> => {
    aws.stop();
    shadow?.watcher?.close();
    await access?.stop();
    await grpcStarted?.drain(0);
    if (!options.tracing) await tracing.shutdown();
    await flushLogger(auditLogger);
    throw err;
  };
  // A replica that reports SERVING before its issuers' keys are in would
  // answer its first calls after a (rolling) restart with 401s or a slow
  // key fetch; Envoy keeps it out of rotation until then (bounded wait).
  const keysIn = (): Promise<boolean> =>
    settledWithin(firstVerifier.keysPrefetched(), STARTUP_KEYS_WAIT_MS);
  // A cluster worker's health check answers for that worker alone, while
  // Envoy's Checks may reach its sibling on another connection: a worker
  // that listened before its keys were in would decide them with 401s.
  if (options.listenOnceReady === true) await keysIn();
  // Just-in-time access: store, grant cache and API, when enabled (docs/access.md).
  let access: AccessRuntime | undefined;
  try {
    access = initial.settings.access.enabled
      ? await startAccess({
          config: initial.settings.access,
          baseDir: baseDirOf(source),
          runtime: () => runtime,
          now,
          registry: metrics.registry,
          auditLogger,
          logger,
          ...(options.accessPort === undefined ? {} : { port: options.accessPort }),
        })
      : undefined;
  } catch (err) {
    await abandon(err);
  }
  const handlerDeps = {
    generation: () => runtime,
    now,
    newId: randomUUID,
    aws,
    tracing,
    decisions,
    shadow: () => shadow?.candidate,
    ...(access ? { grants: access.grants } : {}),
    ...(auditor ? { observe: { metrics, auditor } } : {}),
  };
  // One pipeline, two transports: gRPC and the HTTP check endpoint.
  const pipeline = createCheckPipeline(handlerDeps);
  const grpcServer: GrpcServer = await startGrpcServer({
    host: grpcListen.host,
    port: grpcPort,
    handle: createCheckHandler(handlerDeps, pipeline),
    onHandlerError(err) {
      decisions.deny++;
      if (observe) metrics.checks.inc({ decision: 'deny', reason: 'ERR_INTERNAL' });
      logger.error({ err: err instanceof Error ? err.message : String(err) }, 'check failed');
      return internalErrorResponse();
    },
  }).catch((err: unknown) =>
    abandon(
      listenError(err, {
        listener: 'gRPC',
        host: grpcListen.host,
        port: grpcPort,
        setting: 'server.grpc.port',
      }),
    ),
  );
  const noAdmin: AdminServer = { port: 0, close: () => Promise.resolve() };
  const admin: AdminServer =
    options.admin === false
      ? noAdmin
      : await startAdminServer({
          host: adminListen.host,
          port: adminPort,
          registry: metrics.registry,
          ready: () => serving && !draining,
        }).catch((err: unknown) =>
          abandon(
            listenError(err, {
              listener: 'admin',
              host: adminListen.host,
              port: adminPort,
              setting: 'server.admin.port',
            }),
            grpcServer,
          ),
        );

  const httpListen = initial.settings.server.http;
  const httpPort = options.httpPort ?? httpListen.port;
  const httpCheck: HttpCheckServer | undefined = httpListen.enabled
    ? await startHttpCheckServer({
        host: httpListen.host,
        port: httpPort,
        options: () => runtime.compiled.settings.server.http,
        handle: createHttpCheckHandler(pipeline),
        onError(err) {
          decisions.deny++;
          if (observe) metrics.checks.inc({ decision: 'deny', reason: 'ERR_INTERNAL' });
          logger.error({ err: err instanceof Error ? err.message : String(err) }, 'check failed');
          return internalErrorAnswer();
        },
      }).catch(async (err: unknown) => {
        await admin.close();
        return abandon(
          listenError(err, {
            listener: 'HTTP check',
            host: httpListen.host,
            port: httpPort,
            setting: 'server.http.port',
          }),
          grpcServer,
        );
      })
    : undefined;

  const watcher: ConfigWatcher | undefined =
    options.watch === false || options.configText !== undefined
      ? undefined
      : watchConfig(
          options.configFile,
          { onReload: swap, onReloadError: reloadFailed },
          initial.sources ? { files: initial.sources.files } : {},
        );

  if (options.listenOnceReady !== true) await keysIn();
  grpcServer.serving();
  serving = true;
  logger.info(
    {
      grpcPort: grpcServer.port,
      // A cluster worker has none: the primary serves the admin listener.
      adminPort: options.admin === false ? undefined : admin.port,
      httpPort: httpCheck?.port,
      roles: initial.roles.length,
      file: configName,
      hash: initial.sources?.hash,
    },
    'rolegate serving',
  );

  return {
    grpcPort: grpcServer.port,
    adminPort: admin.port,
    httpPort: httpCheck?.port,
    ...(access ? { accessPort: access.port } : {}),
    metrics,
    decisions,
    current: () => runtime.compiled,
    lastIamSync: () => aws.lastIamSync(),
    reload() {
      // The watcher also re-arms on the files the new config references.
      if (watcher) return watcher.reload();
      try {
        swap(loadConfig(source));
      } catch (err) {
        reloadFailed(err instanceof Error ? err : new Error(String(err)));
        throw err;
      }
    },
    async stop() {
      draining = true;
      watcher?.close();
      shadow?.watcher?.close();
      aws.stop();
      const { shutdownDelaySeconds, drainSeconds } = runtime.compiled.settings.server;
      // Keep answering while Envoy's health checker sees NOT_SERVING and moves
      // traffic away; closing at once would turn in-flight retries into denies.
      grpcServer.notServing();
      if (shutdownDelaySeconds > 0) {
        await new Promise((resolve) => setTimeout(resolve, shutdownDelaySeconds * 1000));
      }
      await grpcServer.drain(drainSeconds * 1000);
      await httpCheck?.close();
      await admin.close();
      await access?.stop();
      if (!options.tracing) await tracing.shutdown();
      await flushLogger(auditLogger);
      logger.info('rolegate stopped');
    },
  };
}
