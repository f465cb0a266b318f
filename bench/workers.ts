/**
 * `npm run bench workers`: `rolegate serve` (the real CLI, a cluster when
 * `server.workers` > 1) with 1 worker against 2, side by side in
 * alternating rounds, warm token cache, h2load on the Check method.
 *
 * - workers 1: the process pinned to core 0, h2load pinned to core 1 (as
 *   bench/grpc.ts does): rolegate has exactly one core.
 * - workers 2: nothing pinned. rolegate's processes and h2load share the
 *   two cores, so rolegate gets less than 2 cores; the CPU each side used
 *   (from /proc) is printed with every round, in cores, so the ratio can be
 *   read against what rolegate actually had.
 *
 * Direct use (after `npm run build`): node dist/bench/workers.js
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { stringify } from 'yaml';
import { benchConfig } from './lib/bench-config.js';
import { defaultPinning, taskset } from './lib/cpu.js';
import { h2loadVersion, runH2load, type H2loadResult } from './lib/h2load.js';
import { benchCheckRequest, grpcFrame } from './lib/request.js';

const BIN = fileURLToPath(new URL('../../bin/rolegate.js', import.meta.url));
/** Kernel clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** Options of {@link runWorkersBench}. */
export interface WorkersBenchOptions {
  readonly rounds?: number;
  readonly durationSec?: number;
  readonly warmupSec?: number;
  /** h2load connections; cluster spreads connections, so at least the worker count. Default 8. */
  readonly clients?: number;
  /** Streams per connection. Default 8. */
  readonly streams?: number;
}

interface Side {
  readonly label: string;
  readonly workers: number;
  readonly child: ChildProcess;
  readonly adminPort: number;
  readonly grpcPort: number;
  /** h2load's core, or undefined to let it float. */
  readonly loadgenCore: number | undefined;
  readonly results: { res: H2loadResult; serverCores: number; loadgenCores: number }[];
}

/** CPU seconds (user + system) of `pid` and every process descended from it. */
function treeCpuSeconds(root: number): number {
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

/** CPU seconds of this process's exited, waited-for children (h2load after each run). */
function childrenCpuSeconds(): number {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / TICKS;
}

async function sample(port: number, series: string): Promise<number> {
  const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return body
    .split('\n')
    .filter((l) => l.startsWith(series))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startSide(
  label: string,
  workers: number,
  config: object,
  dir: string,
  pin: { server?: number; loadgen?: number },
): Promise<Side> {
  const [grpcPort, adminPort] = [await freePort(), await freePort()];
  const file = join(dir, `rolegate-${workers}.yaml`);
  writeFileSync(
    file,
    stringify({
      ...config,
      server: { grpc: { port: grpcPort }, admin: { port: adminPort }, workers },
    }),
  );
  const [cmd, args] = taskset(pin.server, process.execPath, [BIN, 'serve', '-c', file]);
  const env: NodeJS.ProcessEnv = { ...process.env, ROLEGATE_LOG_LEVEL: 'warn' };
  delete env['ROLEGATE_WORKERS'];
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env });
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
  return { label, workers, child, adminPort, grpcPort, loadgenCore: pin.loadgen, results: [] };
}

async function stopSide(side: Side): Promise<void> {
  if (side.child.exitCode !== null) return;
  const exited = new Promise((resolve) => side.child.once('exit', resolve));
  side.child.kill('SIGTERM');
  const timer = setTimeout(() => side.child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/** Runs the scenario and prints it; resolves to b/a (median rounds). */
export async function runWorkersBench(
  print: (line: string) => void,
  opts: WorkersBenchOptions = {},
): Promise<number> {
  const rounds = opts.rounds ?? 3;
  const durationSec = opts.durationSec ?? 5;
  const warmupSec = opts.warmupSec ?? 2;
  const clients = opts.clients ?? 8;
  const streams = opts.streams ?? 8;
  const pin = defaultPinning();

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
  const body = grpcFrame(
    benchCheckRequest({
      headers: { authorization: `Bearer ${token}` },
      path: '/inventory/42',
      method: 'GET',
    }),
  );
  const dir = mkdtempSync(join(tmpdir(), 'rolegate-bench-workers-'));
  const config = benchConfig(issuer, 10_000);

  print('gRPC Check — rolegate serve: (a) server.workers 1 vs (b) server.workers 2');
  print(
    `  ${await h2loadVersion()}, ${clients} connections x ${streams} streams, ${rounds} rounds x ` +
      `${durationSec}s (+${warmupSec}s warm-up) per side; ` +
      (pin.note ??
        `a: rolegate on core ${pin.server}, h2load on core ${pin.loadgen}; ` +
          'b: nothing pinned, rolegate and h2load share both cores'),
  );
  // Other jobs on the machine take CPU from both sides; the load says how much to trust a run.
  print(`  load average at start: ${loadavg()[0]?.toFixed(1) ?? '?'} (1 min)`);
  const sides: Side[] = [];
  try {
    sides.push(
      await startSide('a: workers 1', 1, config, dir, {
        ...(pin.server === undefined ? {} : { server: pin.server }),
        ...(pin.loadgen === undefined ? {} : { loadgen: pin.loadgen }),
      }),
    );
    sides.push(await startSide('b: workers 2', 2, config, dir, {}));
    const load = (side: Side, seconds: number) =>
      runH2load({
        port: side.grpcPort,
        body,
        clients,
        streams,
        durationSec: seconds,
        ...(side.loadgenCore === undefined ? {} : { core: side.loadgenCore }),
      });
    for (const side of sides) await load(side, warmupSec);
    for (let r = 0; r < rounds; r++) {
      for (const side of sides) {
        const checks = () => sample(side.adminPort, 'rolegate_check_total{');
        const before = { checks: await checks(), server: treeCpuSeconds(side.child.pid ?? 0) };
        const loadgenBefore = childrenCpuSeconds();
        const res = await load(side, durationSec);
        const serverCores = (treeCpuSeconds(side.child.pid ?? 0) - before.server) / durationSec;
        const loadgenCores = (childrenCpuSeconds() - loadgenBefore) / durationSec;
        const decided = (await checks()) - before.checks;
        side.results.push({ res, serverCores, loadgenCores });
        if (Math.abs(decided - res.done) > clients * streams) {
          print(
            `  WARNING ${side.label}: rolegate decided ${decided} calls, h2load saw ${res.done}`,
          );
        }
        print(
          `  round ${r + 1} ${side.label.padEnd(14)} ${res.callsPerSec.toFixed(0).padStart(7)} calls/s  ` +
            `p50 ${res.p50Ms.toFixed(2)}ms  p99 ${res.p99Ms.toFixed(2)}ms  ` +
            `CPU: rolegate ${serverCores.toFixed(2)} cores, h2load ${loadgenCores.toFixed(2)} cores` +
            (res.failed ? `  FAILED ${res.failed}` : ''),
        );
      }
    }
  } finally {
    await Promise.all(sides.map(stopSide));
    idp.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (side: Side) => {
    const sorted = [...side.results].sort((x, y) => x.res.callsPerSec - y.res.callsPerSec);
    const mid = sorted[Math.floor((sorted.length - 1) / 2)];
    if (mid === undefined) throw new Error('no rounds measured');
    return mid;
  };
  const [a, b] = sides.map(median);
  if (a === undefined || b === undefined) throw new Error('unreachable: two sides');
  const ratio = b.res.callsPerSec / a.res.callsPerSec;
  const perCore = b.res.callsPerSec / b.serverCores / (a.res.callsPerSec / a.serverCores);
  print('');
  print(
    `  ratio b/a = ${ratio.toFixed(2)} (calls/s, median rounds; rolegate had ${a.serverCores.toFixed(2)} ` +
      `vs ${b.serverCores.toFixed(2)} cores, h2load used ${b.loadgenCores.toFixed(2)} of the 2 cores in b)`,
  );
  print(
    `  calls/s per rolegate core b/a = ${perCore.toFixed(2)} (1.00 = the second worker scales linearly with the CPU it gets)`,
  );
  return ratio;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runWorkersBench((line) => console.log(line));
}
