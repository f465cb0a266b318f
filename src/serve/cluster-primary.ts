/**
 * `rolegate serve` with `server.workers` > 1 (docs/workers.md): this
 * primary validates the config once, forks the workers (they share the
 * gRPC, HTTP check and access API listening sockets), serves the admin
 * listener with one aggregated /metrics and a /config of its own (the
 * generation it validated and the one each worker serves), orders every
 * reload by config hash, reads IAM once for all of them, and on SIGTERM
 * drains them all.
 */
import cluster, { type Worker } from 'node:cluster';
import { resolve as resolvePath } from 'node:path';
import { countedIamReader, directIamReader, sharedIamReader } from '../aws/iam-reader.js';
import type { LoadedConfig } from '../config/compile.js';
import { logLevelOf, processEnvironment } from '../config/environment.js';
import type { ConfigSource } from '../config/load.js';
import { errorCodeOf, isErrorCode, RolegateError } from '../errors.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { createMetrics, createPrimaryMetrics, type Metrics } from '../observe/metrics.js';
import { aggregateMetrics } from '../transport/cluster/aggregate.js';
import { parseFromWorker } from '../transport/cluster/protocol.js';
import { configDump, fleetReadiness, type WorkerGeneration } from './config-dump.js';
import { createPrimaryFleet } from './primary-fleet.js';
import type { GenerationStatus } from './generations.js';
import { workerExecArgv } from './worker-flags.js';
import { startAdminServer, type AdminServer } from '../transport/http/admin.js';
import { listenError } from '../transport/listen-error.js';
import { followConfig, type ConfigFollower } from './config-follower.js';
import { recordReloaded, recordReloadFailed, type ReloadRecorder } from './reload-log.js';
import { WorkerPool } from './worker-pool.js';

/** Options of {@link startClusterPrimary}. */
export interface ClusterPrimaryOptions {
  readonly source: ConfigSource;
  /** The config the primary already loaded and validated from `source`. */
  readonly initial: LoadedConfig;
  /** Worker processes, at least 2. */
  readonly workers: number;
  /** Operational log. Default: JSON on stderr at `ROLEGATE_LOG_LEVEL`. */
  readonly logger?: Logger;
}

/** A serving primary. */
export interface ClusterPrimary {
  /** Re-reads the config; the workers load it once it is valid. Never throws (a failure is logged). */
  reload(): void;
  /** Drains every worker (bounded by the drain settings), then closes the admin listener. */
  stop(): Promise<void>;
}

/** One /metrics scrape: the primary's series plus every worker that answers in time. */
async function scrape(metrics: Metrics, pool: WorkerPool): Promise<string> {
  const workers = await pool.metrics();
  const primary = await metrics.registry.getMetricsAsJSON();
  return aggregateMetrics(primary, workers).metrics();
}

/**
 * The generation each live worker last said it serves, heard on the cluster
 * channel beside the pool (which keeps its own count for readiness).
 */
function followWorkerGenerations(): { list(): WorkerGeneration[]; stop(): void } {
  const heard = new Map<number, WorkerGeneration>();
  const onMessage = (worker: Worker, raw: unknown): void => {
    const msg = parseFromWorker(raw);
    if (msg?.kind !== 'serving' && msg?.kind !== 'loaded') return;
    heard.set(worker.id, { id: worker.id, pid: worker.process.pid, hash: msg.hash });
  };
  const onExit = (worker: Worker): void => {
    heard.delete(worker.id);
  };
  cluster.on('message', onMessage);
  cluster.on('exit', onExit);
  return {
    list: () => [...heard.values()].sort((a, b) => a.id - b.id),
    stop() {
      cluster.off('message', onMessage);
      cluster.off('exit', onExit);
    },
  };
}

/** The primary's side of /config's `generation`: the one it validated last, since when, and its reloads. */
function generationHistory(
  initial: LoadedConfig,
  now: () => number,
): { status(): GenerationStatus; applied(loaded: LoadedConfig): void; failed(): void } {
  let status: GenerationStatus = {
    hash: initial.sources?.hash ?? '',
    appliedAt: now(),
    reloadsSucceeded: 0,
    reloadsFailed: 0,
  };
  return {
    status: () => status,
    applied(loaded) {
      const hash = loaded.sources?.hash ?? '';
      status = { ...status, hash, appliedAt: now(), reloadsSucceeded: status.reloadsSucceeded + 1 };
    },
    failed() {
      status = { ...status, reloadsFailed: status.reloadsFailed + 1, lastFailedAt: now() };
    },
  };
}

/**
 * Starts the admin listener, then the workers; resolves once every worker
 * serves. Throws (having stopped what it started) when one cannot.
 */
export async function startClusterPrimary(options: ClusterPrimaryOptions): Promise<ClusterPrimary> {
  const env = processEnvironment();
  const logger = options.logger ?? createLogger(logLevelOf(env), 2);
  const { source, initial } = options;
  let active = initial;
  const history = generationHistory(initial, Date.now);
  const metrics = createMetrics(true);
  metrics.config.applied(initial.sources?.hash ?? '', Date.now());
  metrics.policyStatements.set(initial.statementCount);
  const configName = source.text === undefined ? resolvePath(source.file) : source.file;
  const recorder: ReloadRecorder = { logger, metrics, configName, now: Date.now };

  const primaryMetrics = createPrimaryMetrics(metrics.registry);
  // With aws.iam.fleet, this primary is the replica's one member of the fleet.
  let syncWorkers = (): void => undefined;
  const fleet = createPrimaryFleet({
    inner: sharedIamReader(countedIamReader(directIamReader(), primaryMetrics.iamRead)),
    env: (name) => env[name],
    logger,
    registry: metrics.registry,
    syncWorkers: () => syncWorkers(),
  });
  await fleet.configure(initial);
  const workers = new WorkerPool(
    {
      source,
      count: options.workers,
      logger,
      // Every worker's IAM sync reads through here: one read of IAM serves them all.
      readIam: fleet.read,
      // Workers are fresh heaps: the short-scavenge young generation unless the user chose one.
      execArgv: workerExecArgv(process.execArgv, env['NODE_OPTIONS']),
      onRestart: primaryMetrics.restarted,
    },
    initial.sources?.hash ?? '',
  );
  syncWorkers = () => workers.syncIam();
  primaryMetrics.trackWorkers(() => workers.counts());
  const workerGenerations = followWorkerGenerations();

  // The admin listener first: liveness answers from the start, /readyz says 503 until
  // every worker serves (after the workers, a probe could see gRPC SERVING and then a
  // refused /healthz in between).
  const { host, port } = initial.settings.server.admin;
  const admin: AdminServer = await startAdminServer({
    host,
    port,
    ready: () => workers.ready(),
    // Key sets and IAM roles live in each worker; the primary shows what it validated.
    config: () =>
      configDump({
        scope: 'cluster-primary',
        file: active,
        status: history.status(),
        workers: workerGenerations.list(),
        fleet: fleet.status(),
        now: Date.now(),
      }),
    readyDetail: () => fleetReadiness(fleet.status(), Date.now()),
    registry: {
      contentType: metrics.registry.contentType,
      metrics: () => scrape(metrics, workers),
    },
  }).catch(async (err: unknown) => {
    workerGenerations.stop();
    await fleet.close();
    throw listenError(err, { listener: 'admin', host, port, setting: 'server.admin.port' });
  });
  const failure = await workers.start();
  if (failure !== undefined) {
    workerGenerations.stop();
    await admin.close();
    await workers.stop(5000);
    await fleet.close();
    throw new RolegateError(
      isErrorCode(failure.code) ? failure.code : 'ERR_LISTEN_FAILED',
      failure.message,
    );
  }

  const follower: ConfigFollower = followConfig(source, initial, {
    onReload(loaded) {
      const previousHash = active.sources?.hash;
      active = loaded;
      history.applied(loaded);
      recordReloaded(recorder, loaded, previousHash, 'config reloaded; loading in workers');
      // The workers load at once; a fleet database unreachable now keeps the running membership.
      fleet.configure(loaded).catch((err: unknown) => {
        logger.error(
          { code: errorCodeOf(err), error: err instanceof Error ? err.message : String(err) },
          'IAM fleet not reconfigured; the running membership stays',
        );
      });
      workers.load(loaded.sources?.hash ?? '');
    },
    onReloadError(err) {
      history.failed();
      recordReloadFailed(
        recorder,
        err,
        active.sources?.hash,
        'config reload failed; every worker keeps the last good config',
      );
    },
  });
  logger.info(
    {
      workers: options.workers,
      grpcPort: active.settings.server.grpc.port,
      adminPort: admin.port,
      file: configName,
      hash: active.sources?.hash,
    },
    'rolegate serving',
  );

  return {
    reload() {
      try {
        follower.reload();
      } catch {
        // Logged by onReloadError; the workers keep the last good generation.
      }
    },
    async stop() {
      follower.close();
      logger.info({ workers: workers.size }, 'draining all workers');
      // Each worker turns health NOT_SERVING, waits shutdownDelaySeconds, drains.
      const { shutdownDelaySeconds, drainSeconds } = active.settings.server;
      // The lease is given up first: another replica reads IAM while these drain.
      const leaving = fleet.close();
      await workers.stop((shutdownDelaySeconds + drainSeconds) * 1000 + 10_000);
      await leaving;
      await admin.close();
      workerGenerations.stop();
      logger.info('rolegate stopped');
    },
  };
}
