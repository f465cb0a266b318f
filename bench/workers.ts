/**
 * `npm run bench workers`: does every core `server.workers` adds do as much
 * work as the first? `rolegate serve` (the real CLI, a cluster when
 * `server.workers` > 1) with 1, 2 (and 4 where the machine has 4 cores)
 * workers, warm token cache, driven two ways in alternating rounds:
 *
 * - direct: h2load on rolegate's gRPC port (Check), `clients` connections,
 *   which node:cluster hands to the workers in turn;
 * - envoy: h2load GETs through a real Envoy running the shipped config
 *   (envoy/envoy.template.yaml, bench/lib/envoy-shipped.ts) with one worker
 *   thread: Envoy decides how many connections it opens to rolegate, so this
 *   is where Checks may all land on one worker.
 *
 * For each run it reads the CPU rolegate's processes used (the primary and
 * every worker: /proc/<pid>/stat utime + stime) and each worker's decided
 * Checks (`rolegate_worker_checks_total`). The figure that matters is calls
 * per rolegate CPU-second (calls/s per core used): nothing is pinned (the
 * machine may have fewer cores than rolegate, Envoy and h2load want), so
 * calls/s alone would measure the machine; per core it measures what a worker
 * added. Target: each worker count >= 0.9 of one worker's per-core figure on
 * the same path, with every worker deciding a share of the Checks.
 *
 * Direct use (after `npm run build`): node dist/bench/workers.js
 *   [--envoy-concurrency N] [--streams-cap N|unlimited] [--in-flight N] [--duration S]
 * The last two flags are for experiments with other Envoy settings
 * (docs/workers.md lists what was measured).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { stringify } from 'yaml';
import { benchConfig } from './lib/bench-config.js';
import { startShippedEnvoy, type ShippedEnvoy } from './lib/envoy-shipped.js';
import { h2loadVersion, runH2load, type H2loadResult } from './lib/h2load.js';
import { benchCheckRequest, grpcFrame } from './lib/request.js';
import { startServerProcess, type ServerProcess } from './lib/server-process.js';
import { record } from './lib/targets.js';
import { envoyVersion } from './peers/envoy.js';

const BIN = fileURLToPath(new URL('../../bin/rolegate.js', import.meta.url));
const UPSTREAM_ENTRY = fileURLToPath(new URL('./lib/upstream-server.js', import.meta.url));
/** Kernel clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS = 100;
/** Per-core throughput of N workers against one worker's, on the same path. */
export const CORES_TARGET = 0.9;

/** Options of {@link runWorkersBench}. */
export interface WorkersBenchOptions {
  readonly rounds?: number;
  readonly durationSec?: number;
  readonly warmupSec?: number;
  /** Checks in flight (direct: 8 connections x in-flight/8 streams; envoy: in-flight HTTP/1.1 connections). Default 64. */
  readonly inFlight?: number;
  /** Worker counts to compare. Default 1, 2, and 4 when the machine has 4 cores. */
  readonly workerCounts?: readonly number[];
  /** Envoy worker threads. Default 1. */
  readonly envoyConcurrency?: number;
  /** Experiments: the rolegate cluster's `http2_protocol_options` instead of the shipped ones. */
  readonly envoyHttp2Options?: Readonly<Record<string, unknown>>;
}

type Path = 'direct' | 'envoy';
const PATHS: readonly Path[] = ['direct', 'envoy'];

interface Run {
  readonly res: H2loadResult;
  /** CPU of rolegate's processes over the run, in cores. */
  readonly cores: number;
  /** Checks each worker decided over the run (index: slot - 1). */
  readonly perWorker: readonly number[];
}

interface Serve {
  readonly workers: number;
  readonly child: ChildProcess;
  readonly adminPort: number;
  readonly grpcPort: number;
  envoy?: ShippedEnvoy;
  readonly runs: Record<Path, Run[]>;
}

/** CPU seconds (user + system) of `pid` and every process descended from it. */
export function treeCpuSeconds(root: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start at ") ".
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // The process exited while we read.
    }
  }
  let ticks = 0;
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    ticks += stats.get(pid)?.ticks ?? 0;
    for (const [child, s] of stats) if (s.ppid === pid) todo.push(child);
  }
  return ticks / TICKS;
}

/** Every sample of `series` (name plus opening brace, or name plus space) in a /metrics text. */
function samples(text: string, series: string): { labels: string; value: number }[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${series}{`) || l.startsWith(`${series} `))
    .map((l) => ({
      labels: l.slice(series.length, l.lastIndexOf(' ')),
      value: Number(l.slice(l.lastIndexOf(' ') + 1)),
    }));
}

/** Checks decided so far by each worker (a single process: one entry). */
async function decidedPerWorker(serve: Serve): Promise<number[]> {
  const text = await (await fetch(`http://127.0.0.1:${serve.adminPort}/metrics`)).text();
  if (serve.workers === 1) {
    return [samples(text, 'rolegate_check_total').reduce((n, s) => n + s.value, 0)];
  }
  const per = samples(text, 'rolegate_worker_checks_total');
  return Array.from({ length: serve.workers }, (_, i) =>
    per.filter((s) => s.labels.includes(`worker="${i + 1}"`)).reduce((n, s) => n + s.value, 0),
  );
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startServe(workers: number, config: object, dir: string): Promise<Serve> {
  const [grpcPort, adminPort] = [await freePort(), await freePort()];
  const file = join(dir, `rolegate-${workers}.yaml`);
  writeFileSync(
    file,
    stringify({
      ...config,
      server: { grpc: { port: grpcPort }, admin: { port: adminPort }, workers },
    }),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, ROLEGATE_LOG_LEVEL: 'warn' };
  delete env['ROLEGATE_WORKERS'];
  // Audit records to /dev/null: written and encoded as in production, no disk.
  const child = spawn(process.execPath, [BIN, 'serve', '-c', file], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${adminPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`bench: rolegate serve (workers ${workers}) did not get ready`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { workers, child, adminPort, grpcPort, runs: { direct: [], envoy: [] } };
}

async function stopServe(serve: Serve): Promise<void> {
  await serve.envoy?.stop();
  if (serve.child.exitCode !== null) return;
  const exited = new Promise((resolve) => serve.child.once('exit', resolve));
  serve.child.kill('SIGTERM');
  const timer = setTimeout(() => serve.child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

const median = <T>(xs: readonly T[], by: (x: T) => number): T => {
  const sorted = [...xs].sort((a, b) => by(a) - by(b));
  const mid = sorted[Math.floor((sorted.length - 1) / 2)];
  if (mid === undefined) throw new Error('no rounds measured');
  return mid;
};

const perCore = (run: Run) => run.res.callsPerSec / run.cores;

/** Each worker's share of the Checks, e.g. "52/48 %". */
const spread = (run: Run) => {
  const total = run.perWorker.reduce((a, b) => a + b, 0);
  return run.perWorker.map((n) => ((100 * n) / (total || 1)).toFixed(0)).join('/') + ' %';
};

/** Runs every worker count on both paths and records the Cores targets; resolves to the worst ratio. */
export async function runWorkersBench(
  print: (line: string) => void,
  opts: WorkersBenchOptions = {},
): Promise<number> {
  const rounds = opts.rounds ?? 3;
  const durationSec = opts.durationSec ?? 5;
  const warmupSec = opts.warmupSec ?? 2;
  const inFlight = opts.inFlight ?? 64;
  const envoyConcurrency = opts.envoyConcurrency ?? 1;
  const counts = opts.workerCounts ?? (availableParallelism() >= 4 ? [1, 2, 4] : [1, 2]);
  const directClients = 8;
  const directStreams = Math.max(1, Math.round(inFlight / directClients));

  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwks = JSON.stringify({
    keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256' }],
  });
  const idp = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(jwks),
  );
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  const token = await new SignJWT({ groups: ['inventory-team'], email: 'bench@example.com' })
    .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
    .setIssuer(issuer)
    .setAudience('bench-api')
    .setSubject('bench-user')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(privateKey);
  const path = '/inventory/42';
  const body = grpcFrame(
    benchCheckRequest({ headers: { authorization: `Bearer ${token}` }, path, method: 'GET' }),
  );
  const dir = mkdtempSync(join(tmpdir(), 'rolegate-bench-workers-'));
  const config = benchConfig(issuer, 10_000);

  print(
    `Cores — rolegate serve with server.workers ${counts.join(', ')}: direct gRPC and through Envoy`,
  );
  print(
    `  ${await h2loadVersion()}, ${envoyVersion()} (shipped config, --concurrency ${envoyConcurrency}` +
      `${opts.envoyHttp2Options ? `, rolegate cluster http2_protocol_options ${JSON.stringify(opts.envoyHttp2Options)}` : ''}); ` +
      `${inFlight} Checks in flight; ${rounds} rounds x ${durationSec}s (+${warmupSec}s warm-up); nothing pinned`,
  );
  // Other jobs on the machine take CPU from every side; the load says how much to trust a run.
  print(
    `  ${availableParallelism()} cores; load average at start: ${loadavg()[0]?.toFixed(1) ?? '?'} (1 min)`,
  );
  const serves: Serve[] = [];
  let upstream: ServerProcess | undefined;
  let worst = Infinity;
  try {
    upstream = await startServerProcess({ entry: UPSTREAM_ENTRY });
    for (const n of counts) {
      const serve = await startServe(n, config, dir);
      serves.push(serve);
      serve.envoy = await startShippedEnvoy({
        name: `workers-${n}`,
        dir,
        rolegatePort: serve.grpcPort,
        upstreamPort: upstream.port,
        concurrency: envoyConcurrency,
        ...(opts.envoyHttp2Options ? { http2Options: opts.envoyHttp2Options } : {}),
      });
    }
    const load = (serve: Serve, via: Path, seconds: number) =>
      via === 'direct'
        ? runH2load({
            port: serve.grpcPort,
            body,
            clients: directClients,
            streams: directStreams,
            durationSec: seconds,
          })
        : runH2load({
            port: serve.envoy?.listenerPort ?? 0,
            body,
            http1: { path, headers: { authorization: `Bearer ${token}` } },
            clients: inFlight,
            streams: 1,
            durationSec: seconds,
          });
    for (const serve of serves) for (const via of PATHS) await load(serve, via, warmupSec);
    for (let r = 0; r < rounds; r++) {
      for (const serve of serves) {
        for (const via of PATHS) {
          const before = await decidedPerWorker(serve);
          const cpuBefore = treeCpuSeconds(serve.child.pid ?? 0);
          const res = await load(serve, via, durationSec);
          const cores = (treeCpuSeconds(serve.child.pid ?? 0) - cpuBefore) / durationSec;
          const after = await decidedPerWorker(serve);
          const run: Run = { res, cores, perWorker: after.map((a, i) => a - (before[i] ?? 0)) };
          serve.runs[via].push(run);
          print(
            `  round ${r + 1} workers ${serve.workers} ${via.padEnd(6)} ` +
              `${res.callsPerSec.toFixed(0).padStart(7)} calls/s  p50 ${res.p50Ms.toFixed(2)}ms  ` +
              `p99 ${res.p99Ms.toFixed(2)}ms  rolegate ${cores.toFixed(2)} cores  ` +
              `${perCore(run).toFixed(0).padStart(6)} calls/CPU-s  per worker ${spread(run)}` +
              (res.failed ? `  FAILED ${res.failed}` : ''),
          );
        }
      }
    }
  } finally {
    await Promise.all(serves.map(stopServe));
    await upstream?.stop();
    idp.close();
    rmSync(dir, { recursive: true, force: true });
  }

  print('');
  print(
    `  ${'path'.padEnd(7)}${'workers'.padStart(8)}${'calls/s'.padStart(10)}${'cores'.padStart(7)}` +
      `${'calls/CPU-s'.padStart(13)}${'vs 1 worker'.padStart(13)}  per worker`,
  );
  for (const via of PATHS) {
    const one = serves.find((s) => s.workers === 1);
    const base = one === undefined ? NaN : perCore(median(one.runs[via], perCore));
    for (const serve of serves) {
      const mid = median(serve.runs[via], perCore);
      const ratio = perCore(mid) / base;
      print(
        `  ${via.padEnd(7)}${String(serve.workers).padStart(8)}${mid.res.callsPerSec.toFixed(0).padStart(10)}` +
          `${mid.cores.toFixed(2).padStart(7)}${perCore(mid).toFixed(0).padStart(13)}` +
          `${ratio.toFixed(2).padStart(13)}  ${spread(mid)}`,
      );
      if (serve.workers === 1) continue;
      // Every worker must take part: per core alone, one busy worker and one
      // idle one look as efficient as one worker. In the median round each
      // worker decides at least half of its even share of the Checks.
      const evenShare = 1 / serve.workers;
      const total = mid.perWorker.reduce((a, b) => a + b, 0) || 1;
      const spreadOk = Math.min(...mid.perWorker) / total >= evenShare / 2;
      worst = Math.min(worst, ratio);
      record(
        `cores: ${via}, ${serve.workers} workers: calls per rolegate CPU-s / 1 worker's`,
        ratio.toFixed(2),
        `>= ${CORES_TARGET}, each worker >= ${Math.floor(50 * evenShare)} % of Checks`,
        ratio >= CORES_TARGET && spreadOk,
        `per round ${serve.runs[via].map((run) => (perCore(run) / base).toFixed(2)).join(', ')}; ` +
          `calls/s ${mid.res.callsPerSec.toFixed(0)} on ${mid.cores.toFixed(2)} cores; ` +
          `Checks per worker ${serve.runs[via].map(spread).join(', ')}`,
      );
    }
  }
  return worst;
}

/** The value after `--name` on the command line. */
function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cap = argValue('--streams-cap');
  const concurrency = argValue('--envoy-concurrency');
  const inFlight = argValue('--in-flight');
  const duration = argValue('--duration');
  await runWorkersBench((line) => console.log(line), {
    ...(cap === undefined
      ? {}
      : { envoyHttp2Options: cap === 'unlimited' ? {} : { max_concurrent_streams: Number(cap) } }),
    ...(concurrency === undefined ? {} : { envoyConcurrency: Number(concurrency) }),
    ...(inFlight === undefined ? {} : { inFlight: Number(inFlight) }),
    ...(duration === undefined ? {} : { durationSec: Number(duration), rounds: 2 }),
  });
  const { printTargets } = await import('./lib/targets.js');
  printTargets((line) => console.log(line));
}
