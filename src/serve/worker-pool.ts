/**
 * The worker processes of a cluster primary (docs/workers.md): forks them
 * (node:cluster hands each a share of the listening sockets), tells each
 * which generation to load, answers their IAM reads, collects their
 * metrics, replaces one that dies (with backoff when it crash-loops), and
 * drains them all on stop.
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { iamReadError, parseIamReadRequest, type IamReader } from '../aws/iam-reader.js';
import type { ConfigSource } from '../config/load.js';
import { errorDocAnchor, isErrorCode } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import type { WorkerCounts } from '../observe/metrics.js';
import { settledWithin } from '../settled-within.js';
import {
  parseFromWorker,
  type FromWorker,
  type MetricsJson,
  type ToWorker,
} from '../transport/cluster/protocol.js';

/** A worker's answer to /metrics later than this is left out of that scrape. */
const METRICS_TIMEOUT_MS = 2000;
/** A worker that lived shorter than this counts as crash-looping: its replacement waits. */
const STABLE_MS = 10_000;
/** How long the primary waits for a SIGKILLed worker to be reaped before exiting itself. */
const KILLED_EXIT_WAIT_MS = 2_000;

const WORKER_ENTRY = fileURLToPath(new URL('../cli/cluster-worker.js', import.meta.url));

interface Slot {
  readonly slot: number;
  readonly worker: Worker;
  readonly forkedAt: number;
  /** The generation it serves, once serving. */
  hash?: string;
  /** Consecutive short-lived runs (backoff for the replacement). */
  readonly crashes: number;
}

/** What the pool needs from its primary. */
export interface WorkerPoolOptions {
  readonly source: ConfigSource;
  readonly count: number;
  readonly logger: Logger;
  /** Reads IAM for a worker's sync (shared by all of them). */
  readonly readIam: IamReader;
  /** Node flags for the workers. */
  readonly execArgv: readonly string[];
  /** A worker was replaced after exiting unexpectedly. */
  readonly onRestart: () => void;
}

/** Why the pool could not start. */
export interface StartFailure {
  readonly code: string;
  readonly message: string;
}

/** The primary's workers. */
export class WorkerPool {
  private readonly slots = new Map<number, Slot>();
  private readonly pendingMetrics = new Map<number, (m: MetricsJson) => void>();
  private metricsId = 0;
  /** The generation every worker must serve: the one the primary validated last. */
  private hash: string;
  private started = false;
  private stopping = false;
  private failure: StartFailure | undefined;
  private settleStart: (ok: boolean) => void = () => undefined;
  private allExited: () => void = () => undefined;
  private readonly exited = new Promise<void>((resolve) => {
    this.allExited = resolve;
  });

  constructor(
    private readonly options: WorkerPoolOptions,
    hash: string,
  ) {
    this.hash = hash;
    cluster.setupPrimary({ exec: WORKER_ENTRY, args: [], execArgv: [...options.execArgv] });
  }

  /** Forks every worker; resolves once all serve, or to the first failure. */
  async start(): Promise<StartFailure | undefined> {
    const allServing = new Promise<boolean>((resolve) => {
      this.settleStart = resolve;
    });
    for (let slot = 1; slot <= this.options.count; slot++) this.fork(slot, 0);
    if (await allServing) {
      this.started = true;
      return undefined;
    }
    return this.failure ?? { code: 'ERR_LISTEN_FAILED', message: 'no worker' };
  }

  /** Orders every worker to load the generation `hash`. */
  load(hash: string): void {
    this.hash = hash;
    for (const s of this.slots.values()) this.post(s.worker, { rolegate: 1, kind: 'load', hash });
  }

  /** Orders every worker to sync IAM now (through this primary's reader). */
  syncIam(): void {
    for (const s of this.slots.values()) this.post(s.worker, { rolegate: 1, kind: 'iam-sync' });
  }

  /** True while every worker serves the expected generation and none is draining. */
  ready(): boolean {
    return (
      !this.stopping &&
      this.slots.size === this.options.count &&
      [...this.slots.values()].every((s) => s.hash === this.hash)
    );
  }

  counts(): WorkerCounts {
    const all = [...this.slots.values()];
    return {
      serving: all.filter((s) => s.hash === this.hash).length,
      stale: all.filter((s) => s.hash !== undefined && s.hash !== this.hash).length,
      starting: all.filter((s) => s.hash === undefined).length,
    };
  }

  get size(): number {
    return this.slots.size;
  }

  /** Every worker's registry, as answered within {@link METRICS_TIMEOUT_MS}. */
  async metrics(): Promise<MetricsJson[]> {
    const answers = [...this.slots.values()].map(
      (s) =>
        new Promise<MetricsJson | undefined>((resolve) => {
          const id = ++this.metricsId;
          const timer = setTimeout(() => {
            this.pendingMetrics.delete(id);
            resolve(undefined);
          }, METRICS_TIMEOUT_MS);
          this.pendingMetrics.set(id, (m) => {
            clearTimeout(timer);
            this.pendingMetrics.delete(id);
            resolve(m);
          });
          this.post(s.worker, { rolegate: 1, kind: 'metrics', id });
        }),
    );
    return (await Promise.all(answers)).filter((m) => m !== undefined);
  }

  /** Asks every worker to drain and exit; kills those still running after `boundMs`. */
  async stop(boundMs: number): Promise<void> {
    this.stopping = true;
    if (this.slots.size === 0) return;
    for (const s of this.slots.values()) {
      if (s.worker.isConnected()) this.post(s.worker, { rolegate: 1, kind: 'stop' });
      else s.worker.kill('SIGKILL');
    }
    if (await settledWithin(this.exited, boundMs)) return;
    for (const s of this.slots.values()) s.worker.process.kill('SIGKILL');
    // The primary outlives every worker it forked, also those it had to kill: a
    // supervisor that saw it exit must not find a worker still tearing down.
    await settledWithin(this.exited, KILLED_EXIT_WAIT_MS);
  }

  private post(worker: Worker, msg: ToWorker): void {
    if (worker.isConnected()) worker.send(msg);
  }

  private fork(slot: number, crashes: number): void {
    const worker = cluster.fork();
    const state: Slot = { slot, worker, forkedAt: Date.now(), crashes };
    this.slots.set(slot, state);
    const { source } = this.options;
    worker.on('online', () => {
      this.post(worker, {
        rolegate: 1,
        kind: 'start',
        slot,
        workers: this.options.count,
        file: source.file,
        hash: this.hash,
        ...(source.text === undefined ? {} : { text: source.text }),
      });
    });
    worker.on('message', (raw: unknown) => {
      const msg = parseFromWorker(raw);
      if (msg) this.onMessage(state, msg);
    });
    worker.on('exit', (code, signal) => this.onExit(state, code, signal));
  }

  private onMessage(state: Slot, msg: FromWorker): void {
    const { logger } = this.options;
    switch (msg.kind) {
      case 'serving':
        state.hash = msg.hash;
        logger.info(
          { worker: state.slot, pid: state.worker.process.pid, hash: msg.hash },
          'worker serving',
        );
        if (msg.hash !== this.hash)
          this.post(state.worker, { rolegate: 1, kind: 'load', hash: this.hash });
        if (
          [...this.slots.values()].every((s) => s.hash !== undefined) &&
          this.slots.size === this.options.count
        ) {
          this.settleStart(true);
        }
        return;
      case 'loaded':
        state.hash = msg.hash;
        if (msg.hash !== this.hash) {
          logger.warn(
            { worker: state.slot, hash: msg.hash, expected: this.hash, ok: msg.ok },
            'worker serves another config generation; not ready until it loads the expected one',
          );
        }
        return;
      case 'metrics':
        this.pendingMetrics.get(msg.id)?.(msg.metrics);
        return;
      case 'iam-read':
        this.answerIamRead(state.worker, msg.id, msg.request);
        return;
      case 'failed':
        logger.error(
          {
            worker: state.slot,
            code: msg.code,
            ...(isErrorCode(msg.code) ? { help: errorDocAnchor(msg.code) } : {}),
            err: msg.message,
          },
          'worker failed',
        );
        this.failure ??= { code: msg.code, message: msg.message };
        return;
    }
  }

  private answerIamRead(worker: Worker, id: number, raw: unknown): void {
    const request = parseIamReadRequest(raw);
    const read =
      request === undefined
        ? Promise.reject(new Error('not an IAM read request'))
        : this.options.readIam(request);
    read.then(
      (fetch) => this.post(worker, { rolegate: 1, kind: 'iam-read', id, fetch: { ...fetch } }),
      (err: unknown) =>
        this.post(worker, { rolegate: 1, kind: 'iam-read', id, error: { ...iamReadError(err) } }),
    );
  }

  private onExit(state: Slot, code: number | null, signal: string | null): void {
    if (this.slots.get(state.slot)?.worker !== state.worker) return;
    this.slots.delete(state.slot);
    if (this.stopping) {
      if (this.slots.size === 0) this.allExited();
      return;
    }
    if (!this.started) {
      // A worker that cannot start (a port in use, a config the disk no longer
      // matches) stops the whole start: the same error a single process gives.
      this.failure ??= {
        code: 'ERR_LISTEN_FAILED',
        message: `worker ${state.slot} exited before serving (code ${String(code)}, signal ${String(signal)})`,
      };
      this.settleStart(false);
      return;
    }
    this.options.onRestart();
    const crashes = Date.now() - state.forkedAt < STABLE_MS ? state.crashes + 1 : 0;
    const delay = crashes === 0 ? 0 : Math.min(5000, 250 * 2 ** (crashes - 1));
    this.options.logger.warn(
      { worker: state.slot, pid: state.worker.process.pid, code, signal, restartInMs: delay },
      'worker exited; starting a replacement',
    );
    setTimeout(() => {
      if (!this.stopping) this.fork(state.slot, crashes);
    }, delay);
  }
}
