/**
 * `rolegate serve` with `server.workers` > 1 (docs/workers.md): this
 * primary validates the config once, forks the workers (node:cluster: the
 * primary owns the gRPC, HTTP check and access API listening sockets and
 * hands connections to the workers round-robin), serves the admin listener
 * with one aggregated /metrics, orders every reload by config hash, replaces
 * a worker that dies, and on SIGTERM drains all of them before exiting.
 */
import cluster, { type Worker } from 'node:cluster';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge } from 'prom-client';
import {
  countedIamReader,
  directIamReader,
  iamReadError,
  parseIamReadRequest,
  sharedIamReader,
} from '../aws/iam-reader.js';
import type { LoadedConfig } from '../config/compile.js';
import { ConfigError, loadConfig, type ConfigSource } from '../config/load.js';
import { watchConfig, type ConfigWatcher } from '../config/watch.js';
import { isErrorCode, RolegateError } from '../errors.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { createMetrics } from '../observe/metrics.js';
import { aggregateMetrics } from '../transport/cluster/aggregate.js';
import {
  parseFromWorker,
  type FromWorker,
  type MetricsJson,
  type ToWorker,
} from '../transport/cluster/protocol.js';
import { startAdminServer, type AdminServer } from '../transport/http/admin.js';
import { listenError } from '../transport/listen-error.js';
import { settledWithin } from '../settled-within.js';
import { startDevIssuer } from './dev-issuer.js';
import { workerExecArgv } from './worker-flags.js';
import type { CliIo } from './io.js';
import { handleStopSignals } from './stop-signals.js';
import { reportError } from './report.js';

/** Options of {@link runClusterPrimary}. */
export interface ClusterServeOptions {
  readonly source: ConfigSource;
  /** The config the primary already loaded and validated from `source`. */
  readonly initial: LoadedConfig;
  /** Worker processes, at least 2. */
  readonly workers: number;
  /** Also serve the development issuer (in the primary). Default false. */
  readonly devIssuer?: boolean;
  /** Operational log. Default: JSON on stderr at `ROLEGATE_LOG_LEVEL`. */
  readonly logger?: Logger;
}

/** A worker's answer to /metrics later than this is left out of that scrape. */
const METRICS_TIMEOUT_MS = 2000;
/** A worker that lived shorter than this counts as crash-looping: its replacement waits. */
const STABLE_MS = 10_000;

interface Slot {
  readonly slot: number;
  worker: Worker;
  forkedAt: number;
  /** The generation it serves, once serving. */
  hash?: string;
  /** Consecutive short-lived runs (backoff for the replacement). */
  crashes: number;
}

/** How long the primary waits for a SIGKILLed worker to be reaped before exiting itself. */
const KILLED_EXIT_WAIT_MS = 2_000;

const WORKER_ENTRY = fileURLToPath(new URL('./cluster-worker.js', import.meta.url));

/** Serves with `options.workers` workers until a stop signal; resolves to the exit status. */
export async function runClusterPrimary(
  options: ClusterServeOptions,
  io: Pick<CliIo, 'stderr'>,
): Promise<number> {
  const logger = options.logger ?? createLogger(process.env['ROLEGATE_LOG_LEVEL'] ?? 'info', 2);
  const { source, initial, workers: count } = options;
  let hash = initial.sources?.hash ?? '';
  let server = initial.settings.server;
  // Log lines name the config file as a single process does: its absolute path.
  const configName = source.text === undefined ? resolvePath(source.file) : source.file;

  const metrics = createMetrics(true);
  metrics.config.applied(hash, Date.now());
  metrics.policyStatements.set(initial.statementCount);
  new Gauge({
    name: 'rolegate_workers',
    help: 'Worker processes by state: serving (the generation the primary validated last), stale (another generation), starting.',
    labelNames: ['state'] as const,
    registers: [metrics.registry],
    collect() {
      const all = [...slots.values()];
      this.set({ state: 'serving' }, all.filter((s) => s.hash === hash).length);
      this.set(
        { state: 'stale' },
        all.filter((s) => s.hash !== undefined && s.hash !== hash).length,
      );
      this.set({ state: 'starting' }, all.filter((s) => s.hash === undefined).length);
    },
  });
  const restarts = new Counter({
    name: 'rolegate_worker_restarts_total',
    help: 'Workers that exited unexpectedly and were replaced.',
    registers: [metrics.registry],
  });
  restarts.inc(0);

  // Workers are fresh heaps: they get the short-scavenge young generation unless the user chose one.
  cluster.setupPrimary({
    exec: WORKER_ENTRY,
    args: [],
    execArgv: workerExecArgv(process.execArgv, process.env['NODE_OPTIONS']),
  });
  const slots = new Map<number, Slot>();
  // Every worker's IAM sync reads through here: one read of IAM serves them all.
  // The counter is registered at the first read, so a deployment without `aws.iam` exports none.
  let iamReads: Counter<'result'> | undefined;
  const readIam = sharedIamReader(
    countedIamReader(directIamReader(), (ok) => {
      if (iamReads === undefined) {
        iamReads = new Counter({
          name: 'rolegate_iam_reads_total',
          help: 'Reads of AWS IAM made by the primary for all workers (each worker still counts its own syncs in rolegate_iam_syncs_total), by result (success|failure).',
          labelNames: ['result'] as const,
          registers: [metrics.registry],
        });
        // Both series from the first read on, so rate() sees a zero.
        iamReads.inc({ result: 'success' }, 0);
        iamReads.inc({ result: 'failure' }, 0);
      }
      iamReads.inc({ result: ok ? 'success' : 'failure' });
    }),
  );
  let stopping = false;
  let startupFailure: { code: string; message: string } | undefined;
  let metricsId = 0;
  const pendingMetrics = new Map<number, (m: MetricsJson) => void>();
  const post = (worker: Worker, msg: ToWorker) => {
    if (worker.isConnected()) worker.send(msg);
  };

  let startedAll: () => void = () => undefined;
  let failedStart: () => void = () => undefined;
  const allServing = new Promise<boolean>((resolve) => {
    startedAll = () => resolve(true);
    failedStart = () => resolve(false);
  });

  const fork = (slot: number, crashes: number): void => {
    const worker = cluster.fork();
    const state: Slot = { slot, worker, forkedAt: Date.now(), crashes };
    slots.set(slot, state);
    worker.on('online', () => {
      post(worker, {
        rolegate: 1,
        kind: 'start',
        slot,
        file: source.file,
        hash,
        ...(source.text === undefined ? {} : { text: source.text }),
      });
    });
    worker.on('message', (raw: unknown) => {
      const msg = parseFromWorker(raw);
      if (msg) onMessage(state, msg);
    });
    worker.on('exit', (code, signal) => onExit(state, worker, code, signal));
  };

  const onMessage = (state: Slot, msg: FromWorker): void => {
    switch (msg.kind) {
      case 'serving':
        state.hash = msg.hash;
        logger.info(
          { worker: state.slot, pid: state.worker.process.pid, hash: msg.hash },
          'worker serving',
        );
        if (msg.hash !== hash) post(state.worker, { rolegate: 1, kind: 'load', hash });
        if ([...slots.values()].filter((s) => s.hash !== undefined).length === count) startedAll();
        return;
      case 'loaded':
        state.hash = msg.hash;
        if (msg.hash !== hash) {
          logger.warn(
            { worker: state.slot, hash: msg.hash, expected: hash, ok: msg.ok },
            'worker serves another config generation; not ready until it loads the expected one',
          );
        }
        return;
      case 'metrics':
        pendingMetrics.get(msg.id)?.(msg.metrics);
        return;
      case 'iam-read': {
        const worker = state.worker;
        const request = parseIamReadRequest(msg.request);
        const read =
          request === undefined
            ? Promise.reject(new Error('not an IAM read request'))
            : readIam(request);
        read.then(
          (fetch) =>
            post(worker, { rolegate: 1, kind: 'iam-read', id: msg.id, fetch: { ...fetch } }),
          (err: unknown) =>
            post(worker, {
              rolegate: 1,
              kind: 'iam-read',
              id: msg.id,
              error: { ...iamReadError(err) },
            }),
        );
        return;
      }
      case 'failed':
        logger.error({ worker: state.slot, code: msg.code, err: msg.message }, 'worker failed');
        startupFailure ??= { code: msg.code, message: msg.message };
        return;
    }
  };

  const onExit = (state: Slot, worker: Worker, code: number | null, signal: string | null) => {
    if (slots.get(state.slot)?.worker !== worker) return;
    slots.delete(state.slot);
    if (stopping) {
      if (slots.size === 0) allExited();
      return;
    }
    if (!started) {
      // A worker that cannot start (a port in use, a config the disk no longer
      // matches) stops the whole start: the same error a single process gives.
      startupFailure ??= {
        code: 'ERR_LISTEN_FAILED',
        message: `worker ${state.slot} exited before serving (code ${String(code)}, signal ${String(signal)})`,
      };
      failedStart();
      return;
    }
    restarts.inc();
    const crashes = Date.now() - state.forkedAt < STABLE_MS ? state.crashes + 1 : 0;
    const delay = crashes === 0 ? 0 : Math.min(5000, 250 * 2 ** (crashes - 1));
    logger.warn(
      { worker: state.slot, pid: worker.process.pid, code, signal, restartInMs: delay },
      'worker exited; starting a replacement',
    );
    setTimeout(() => {
      if (!stopping) fork(state.slot, crashes);
    }, delay);
  };

  let allExited: () => void = () => undefined;
  const exited = new Promise<void>((resolve) => {
    allExited = resolve;
  });

  /** One scrape: the primary's series plus every worker that answers in time. */
  const collect = async (): Promise<string> => {
    const answers = [...slots.values()].map(
      (s) =>
        new Promise<MetricsJson | undefined>((resolve) => {
          const id = ++metricsId;
          const timer = setTimeout(() => {
            pendingMetrics.delete(id);
            resolve(undefined);
          }, METRICS_TIMEOUT_MS);
          pendingMetrics.set(id, (m) => {
            clearTimeout(timer);
            pendingMetrics.delete(id);
            resolve(m);
          });
          post(s.worker, { rolegate: 1, kind: 'metrics', id });
        }),
    );
    const workers = (await Promise.all(answers)).filter((m) => m !== undefined);
    const primary = await metrics.registry.getMetricsAsJSON();
    return aggregateMetrics(primary, workers).metrics();
  };

  const ready = (): boolean =>
    !stopping &&
    slots.size === count &&
    [...slots.values()].every((s) => s.hash !== undefined && s.hash === hash);

  let issuer: Awaited<ReturnType<typeof startDevIssuer>> | undefined;
  let admin: AdminServer | undefined;
  let started = false;
  try {
    if (options.devIssuer === true) issuer = await startDevIssuer();
    // The admin listener first: liveness answers from the start, `/readyz` says 503 until
    // every worker serves. After the workers, a probe could see gRPC SERVING and then a
    // refused /healthz in between.
    const { host, port } = server.admin;
    admin = await startAdminServer({
      host,
      port,
      ready,
      registry: { contentType: metrics.registry.contentType, metrics: collect },
    }).catch((err: unknown) => {
      throw listenError(err, { listener: 'admin', host, port, setting: 'server.admin.port' });
    });
    for (let slot = 1; slot <= count; slot++) fork(slot, 0);
    if (!(await allServing)) {
      const failure = startupFailure ?? { code: 'ERR_LISTEN_FAILED', message: 'no worker' };
      throw new RolegateError(
        isErrorCode(failure.code) ? failure.code : 'ERR_LISTEN_FAILED',
        failure.message,
      );
    }
    started = true;
  } catch (err) {
    stopping = true;
    issuer?.close();
    await admin?.close();
    await stopWorkers(slots, exited, 5000);
    return reportError(err, io, 'serve');
  }

  const onReload = (loaded: LoadedConfig): void => {
    const previousHash = hash;
    hash = loaded.sources?.hash ?? '';
    server = loaded.settings.server;
    metrics.configReloads.inc({ result: 'success' });
    metrics.config.applied(hash, Date.now());
    metrics.policyStatements.set(loaded.statementCount);
    logger.info({ file: configName, hash, previousHash }, 'config reloaded; loading in workers');
    for (const s of slots.values()) post(s.worker, { rolegate: 1, kind: 'load', hash });
  };
  const onReloadError = (err: Error): void => {
    metrics.configReloads.inc({ result: 'failure' });
    metrics.config.failed();
    logger.error(
      {
        file: configName,
        code: err instanceof ConfigError ? err.code : 'ERR_CONFIG_INVALID',
        problems: err instanceof ConfigError ? err.problems : [err.message],
        hash,
      },
      'config reload failed; every worker keeps the last good config',
    );
  };
  const watcher: ConfigWatcher | undefined =
    source.text === undefined
      ? watchConfig(
          source.file,
          { onReload, onReloadError },
          initial.sources ? { files: initial.sources.files } : {},
        )
      : undefined;

  logger.info(
    {
      workers: count,
      grpcPort: server.grpc.port,
      adminPort: admin.port,
      file: configName,
      hash,
    },
    'rolegate serving',
  );

  const openAdmin = admin;
  return new Promise<number>((resolve) => {
    const reload = () => {
      if (watcher) {
        try {
          watcher.reload();
        } catch {
          // onReloadError logged it; the workers keep the last good generation.
        }
        return;
      }
      try {
        onReload(loadConfig(source));
      } catch (err) {
        onReloadError(err instanceof Error ? err : new Error(String(err)));
      }
    };
    const stop = () => {
      if (stopping) return;
      stopping = true;
      watcher?.close();
      issuer?.close();
      logger.info({ workers: slots.size }, 'draining all workers');
      // Each worker turns health NOT_SERVING, waits shutdownDelaySeconds, drains.
      const bound = (server.shutdownDelaySeconds + server.drainSeconds) * 1000 + 10_000;
      const done = (status: number) => {
        release();
        resolve(status);
      };
      stopWorkers(slots, exited, bound)
        .then(() => openAdmin.close())
        .then(
          () => {
            logger.info('rolegate stopped');
            done(0);
          },
          (err: unknown) => done(reportError(err, io, 'serve')),
        );
    };
    const release = handleStopSignals({ stop, reload, logger });
  });
}

/** Asks every worker to drain and exit; kills those still running after `boundMs`. */
async function stopWorkers(
  slots: ReadonlyMap<number, Slot>,
  exited: Promise<void>,
  boundMs: number,
): Promise<void> {
  if (slots.size === 0) return;
  for (const s of slots.values()) {
    if (s.worker.isConnected()) s.worker.send({ rolegate: 1, kind: 'stop' } satisfies ToWorker);
    else s.worker.kill('SIGKILL');
  }
  if (await settledWithin(exited, boundMs)) return;
  for (const s of slots.values()) s.worker.process.kill('SIGKILL');
  // The primary outlives every worker it forked, also those it had to kill: a
  // supervisor that saw it exit must not find a worker still tearing down.
  await settledWithin(exited, KILLED_EXIT_WAIT_MS);
}
