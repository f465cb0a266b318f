/**
 * `npm run bench http`: rolegate's HTTP check door (server.http), warm token
 * cache, two ways:
 *
 * 1. Each door (`/nginx`, `/forward`) against its floor, side by side in
 *    alternating rounds (bench/grpc.ts in HTTP mode, h2load `--h1`, servers
 *    on core 0, h2load on core 1): (a) bench/http-noop-server.ts, node:http
 *    reading the same headers and answering the very bytes rolegate answered
 *    for the same request (recorded first from a probe rolegate), vs (b)
 *    rolegate. calls/s and server CPU per call; target b/a >= 0.8.
 * 2. Through a real nginx (Debian's, bench/lib/nginx-door.ts): GETs through
 *    a server running examples/nginx/rolegate.conf (`auth_request` to
 *    rolegate) and, in the same run, through the same server block whose
 *    `auth_request` goes to a static `return 200` location: the added p50
 *    and p99 are what asking rolegate costs a request behind nginx.
 *
 * Direct use (after `npm run build`): node dist/bench/http-door.js [--duration S]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGrpcBench, type GrpcBenchResult } from './grpc.js';
import type { DoorExchange } from './http-noop-server.js';
import { nginxVersion, startNginxDoors } from './lib/nginx-door.js';
import { ROLEGATE_NODE_FLAGS } from './lib/node-flags.js';
import { runH2load, type H2loadResult } from './lib/h2load.js';
import { startServerProcess, type ServerProcess } from './lib/server-process.js';
import { record } from './lib/targets.js';

const entry = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));
/** rolegate's door / node:http reading the same headers, calls/s. */
export const HTTP_DOOR_TARGET = 0.8;

export type Door = 'nginx' | 'forward';

export interface HttpDoorBenchOptions {
  readonly rounds?: number;
  readonly durationSec?: number;
  readonly warmupSec?: number;
  /**
   * Requests in flight through nginx (one per connection). Default 1: each
   * request alone, so its latency is what it costs, not time queued behind
   * others (at a fixed concurrency the slower side also queues longer).
   */
  readonly nginxInFlight?: number;
}

/** One request to a child's announced door: what rolegate answered, bytes to copy. */
function probe(server: ServerProcess): Promise<DoorExchange> {
  const path = server.path ?? '/nginx';
  const headers = { ...server.headers };
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const answer: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) {
          // node:http writes these itself, for both sides alike; content-length
          // is replayed (rolegate sets it; without it node:http would frame
          // the baseline's empty body as chunked, more bytes than rolegate's).
          if (['date', 'connection', 'keep-alive'].includes(name)) continue;
          if (typeof value === 'string') answer[name] = value;
        }
        resolve({
          request: { path, headers },
          answer: {
            status: res.statusCode ?? 0,
            headers: answer,
            body: Buffer.concat(chunks).toString('utf8'),
          },
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Records what rolegate answers at `door`, for the baseline to answer the same bytes. */
async function recordExchange(door: Door, dir: string): Promise<string> {
  const server = await startServerProcess({
    entry: entry('rolegate-server.js'),
    args: ['--http', '--http-door', door],
  });
  try {
    const exchange = await probe(server);
    if (exchange.answer.status !== 200) {
      throw new Error(`bench: rolegate's ${door} door answered ${exchange.answer.status}, not 200`);
    }
    const file = join(dir, `${door}-exchange.json`);
    writeFileSync(file, JSON.stringify(exchange));
    return file;
  } finally {
    await server.stop();
  }
}

function recordDoor(door: Door, r: GrpcBenchResult, nginxNote: string | undefined): void {
  const { a, b, ratio } = r;
  if (b === undefined || ratio === undefined) return;
  const perRound = b.rounds.map((rb, i) => rb.callsPerSec / (a.rounds[i]?.callsPerSec ?? NaN));
  record(
    `HTTP door /${door}: rolegate / node:http reading the same headers, calls/s`,
    ratio.toFixed(2),
    `>= ${HTTP_DOOR_TARGET}`,
    ratio >= HTTP_DOOR_TARGET,
    `per round ${perRound.map((x) => x.toFixed(2)).join(', ')}; CPU per call ` +
      `${b.cpuUsPerCall.toFixed(1)} µs vs ${a.cpuUsPerCall.toFixed(1)} µs ` +
      `(${(b.cpuUsPerCall / a.cpuUsPerCall).toFixed(2)}x)` +
      (nginxNote === undefined ? '' : `; ${nginxNote}`),
  );
}

const ms = (x: number) => `${x.toFixed(2)} ms`;

/** Added latency of `auth_request` to rolegate over `auth_request` to a static 200, median rounds. */
async function runNginxDoor(
  print: (line: string) => void,
  o: { rounds: number; durationSec: number; warmupSec: number; inFlight: number },
): Promise<string> {
  const rolegate = await startServerProcess({
    entry: entry('rolegate-server.js'),
    args: ['--http'],
    nodeArgs: ROLEGATE_NODE_FLAGS,
  });
  const upstream = await startServerProcess({ entry: entry('lib/upstream-server.js') });
  const doors = await startNginxDoors({ rolegatePort: rolegate.port, upstreamPort: upstream.port });
  const sides = [
    { label: 'a: auth_request -> static 200', port: doors.staticPort, runs: [] as H2loadResult[] },
    { label: 'b: auth_request -> rolegate', port: doors.rolegatePort, runs: [] as H2loadResult[] },
  ];
  const auth = rolegate.headers['authorization'] ?? '';
  print('');
  print(
    `HTTP door through nginx (${nginxVersion()}, examples/nginx/rolegate.conf, 1 worker process): ` +
      `${o.inFlight} request(s) in flight, ${o.rounds} rounds x ${o.durationSec}s alternating, nothing pinned`,
  );
  try {
    const load = (port: number, seconds: number) =>
      runH2load({
        port,
        body: Buffer.alloc(0),
        http1: { path: '/inventory/42', headers: { authorization: auth } },
        clients: o.inFlight,
        streams: 1,
        durationSec: seconds,
      });
    for (const side of sides) await load(side.port, o.warmupSec);
    for (let r = 0; r < o.rounds; r++) {
      for (const side of sides) {
        const res = await load(side.port, o.durationSec);
        side.runs.push(res);
        print(
          `  round ${r + 1} ${side.label.padEnd(31)} ${res.callsPerSec.toFixed(0).padStart(7)} req/s  ` +
            `p50 ${ms(res.p50Ms)}  p99 ${ms(res.p99Ms)}` +
            (res.failed ? `  FAILED ${res.failed}` : ''),
        );
      }
    }
  } finally {
    await doors.stop();
    await Promise.all([rolegate.stop(), upstream.stop()]);
  }
  const med = (xs: number[]) =>
    [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)] ?? NaN;
  const [a, b] = sides.map((s) => ({
    p50: med(s.runs.map((x) => x.p50Ms)),
    p99: med(s.runs.map((x) => x.p99Ms)),
  }));
  if (a === undefined || b === undefined) throw new Error('unreachable: two sides');
  const note =
    `through nginx, auth_request to rolegate adds p50 ${ms(b.p50 - a.p50)}, p99 ${ms(b.p99 - a.p99)} ` +
    `over a static 200 (${ms(b.p50)} / ${ms(b.p99)} vs ${ms(a.p50)} / ${ms(a.p99)})`;
  print(`  ${note}`);
  return note;
}

/** Both doors against their floor, then the nginx comparison; records the targets. */
export async function runHttpDoorBench(
  print: (line: string) => void,
  opts: HttpDoorBenchOptions = {},
): Promise<Record<Door, GrpcBenchResult>> {
  const rounds = opts.rounds ?? 3;
  const durationSec = opts.durationSec ?? 5;
  const warmupSec = opts.warmupSec ?? 2;
  const dir = mkdtempSync(join(tmpdir(), 'rolegate-bench-http-'));
  const results: Partial<Record<Door, GrpcBenchResult>> = {};
  try {
    for (const door of ['nginx', 'forward'] as const) {
      const exchange = await recordExchange(door, dir);
      results[door] = await runGrpcBench(print, {
        mode: 'http',
        title: `HTTP check door /${door}, warm token cache: (a) node:http reading the same headers, answering the same bytes vs (b) rolegate`,
        baselineEntry: entry('http-noop-server.js'),
        baselineArgs: ['--door', door, '--answer', exchange],
        baselineLabel: 'a: node:http, same bytes',
        rolegateEntry: entry('rolegate-server.js'),
        rolegateArgs: ['--http', '--http-door', door],
        rolegateNodeArgs: ROLEGATE_NODE_FLAGS,
        targetRatio: HTTP_DOOR_TARGET,
        rounds,
        durationSec,
        warmupSec,
      });
      print('');
    }
    const note = await runNginxDoor(print, {
      rounds,
      durationSec,
      warmupSec,
      inFlight: opts.nginxInFlight ?? 1,
    });
    const { nginx, forward } = results;
    if (nginx !== undefined) recordDoor('nginx', nginx, note);
    if (forward !== undefined) recordDoor('forward', forward, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results as Record<Door, GrpcBenchResult>;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--duration');
  const duration = i < 0 ? undefined : Number(process.argv[i + 1]);
  await runHttpDoorBench(
    (line) => console.log(line),
    duration === undefined ? {} : { durationSec: duration, rounds: 2, warmupSec: 1 },
  );
  const { printTargets } = await import('./lib/targets.js');
  printTargets((line) => console.log(line));
}
