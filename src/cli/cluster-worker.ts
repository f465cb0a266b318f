/**
 * Entry of a `rolegate serve` cluster worker (docs/workers.md). The primary
 * forks this file; it starts rolegate without the admin listener (the
 * primary serves it), loads only the generations the primary orders, and
 * stops only when the primary says so: signals sent to the whole process
 * group (Ctrl-C) reach the primary, which drains every worker in order.
 */
import { Counter, Gauge } from 'prom-client';
import { loadConfig, type ConfigSource } from '../config/load.js';
import { RolegateError } from '../errors.js';
import { startRolegate, type Rolegate } from '../serve/start.js';
import { sharedPipeOutput } from '../observe/batched-output.js';
import { createAuditLogger } from '../observe/logger.js';
import { parseToWorker, type FromWorker, type ToWorker } from '../transport/cluster/protocol.js';
import { primaryIamReader } from './primary-iam-reader.js';

const send = (msg: FromWorker): void => {
  process.send?.(msg);
};

let instance: Rolegate | undefined;
let stopping = false;
// IAM is read by the primary, once for every worker.
const iam = primaryIamReader(send);

const hashOf = (r: Rolegate): string => r.current().sources?.hash ?? '';

/** The `worker` counter: this process's decisions, under its slot label. */
function countDecisions(r: Rolegate, slot: number): void {
  const worker = String(slot);
  new Counter({
    name: 'rolegate_worker_checks_total',
    help: 'Checks decided by each worker process (label: worker slot, 1..server.workers; a replacement inherits the slot and starts again from 0).',
    labelNames: ['worker'] as const,
    registers: [r.metrics.registry],
    collect() {
      this.reset();
      this.inc({ worker }, r.decisions.allow + r.decisions.deny);
    },
  });
}

/** Each cache's own gauges, copied under this worker's slot label (`rolegate_worker_cache_*`). */
const PER_WORKER_CACHE = ['entries', 'bytes', 'max_entries', 'max_bytes'] as const;

/**
 * The aggregated `/metrics` sums `rolegate_cache_*` over the workers; these
 * copies under the `worker` label show each worker's part, so each bound
 * share can be checked against what that worker holds (docs/workers.md).
 */
function reportCachesPerWorker(r: Rolegate, slot: number): void {
  const worker = String(slot);
  const { registry } = r.metrics;
  for (const what of PER_WORKER_CACHE) {
    new Gauge({
      name: `rolegate_worker_cache_${what}`,
      help: `rolegate_cache_${what} of each worker process (label: worker slot).`,
      labelNames: ['worker', 'cache'] as const,
      registers: [registry],
      async collect() {
        const source = registry.getSingleMetric(`rolegate_cache_${what}`);
        if (source === undefined) return;
        for (const { labels, value } of (await source.get()).values) {
          this.set({ worker, cache: String(labels['cache']) }, value);
        }
      },
    });
  }
}

async function start(msg: Extract<ToWorker, { kind: 'start' }>): Promise<void> {
  try {
    const source: ConfigSource =
      msg.text === undefined ? { file: msg.file } : { file: msg.file, text: msg.text };
    // Audit to standard output: every worker shares it (often one pipe), so
    // each write holds whole lines within PIPE_BUF. An `audit.file` is opened
    // in append mode by each worker, where every write lands whole anyway.
    const toStdout = loadConfig(source).settings.audit.file === undefined;
    const started = await startRolegate({
      configFile: msg.file,
      ...(msg.text === undefined ? {} : { configText: msg.text }),
      watch: false,
      admin: false,
      // The primary hands connections to every worker that listens: listen only once able to decide.
      listenOnceReady: true,
      iamReader: iam.read,
      // Every configured cache bound is for the whole process group: this worker holds its part.
      cacheShare: { slot: msg.slot, of: msg.workers },
      ...(toStdout ? { auditLogger: createAuditLogger(sharedPipeOutput(1)) } : {}),
    });
    instance = started;
    countDecisions(started, msg.slot);
    reportCachesPerWorker(started, msg.slot);
    send({
      rolegate: 1,
      kind: 'serving',
      hash: hashOf(started),
      grpcPort: started.grpcPort,
      ...(started.httpPort === undefined ? {} : { httpPort: started.httpPort }),
    });
  } catch (err) {
    const code = err instanceof RolegateError || hasCode(err) ? err.code : 'ERR_INTERNAL';
    const message = err instanceof Error ? err.message : String(err);
    stopping = true;
    // Exit only once the primary has the reason (it reports it and exits 1 at startup).
    const failed: FromWorker = { rolegate: 1, kind: 'failed', code, message };
    if (process.send) process.send(failed, undefined, {}, () => process.exit(1));
    else process.exit(1);
  }
}

function hasCode(err: unknown): err is { code: string } {
  return (
    typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
  );
}

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await instance?.stop();
  process.exit(0);
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.kind) {
    case 'start':
      return start(msg);
    case 'load': {
      if (!instance) return;
      let ok = true;
      try {
        instance.reload();
      } catch {
        // Logged by reload(); this worker keeps its last good generation.
        ok = false;
      }
      send({ rolegate: 1, kind: 'loaded', hash: hashOf(instance), ok });
      return;
    }
    case 'metrics': {
      const metrics = instance ? await instance.metrics.registry.getMetricsAsJSON() : [];
      send({ rolegate: 1, kind: 'metrics', id: msg.id, metrics });
      return;
    }
    case 'stop':
      return stop();
    case 'iam-read':
      iam.answer(msg);
      return;
    case 'iam-sync':
      void instance?.syncIam();
      return;
  }
}

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => undefined);
process.on('message', (raw: unknown) => {
  const msg = parseToWorker(raw);
  if (msg) void handle(msg);
});
// The primary is gone (killed): drain what is in flight and leave.
process.on('disconnect', () => {
  iam.close();
  void stop();
});
