/**
 * `npm run bench:peers`: rolegate against OPA-Envoy (opa-envoy-plugin, built
 * from the pinned source by bench/peers/build-opa-envoy.sh) with the
 * equivalent Rego policy generated from the same bench config, side by side
 * in one run: authorization servers pinned to core 0, load generators (and
 * Envoy with its upstream) on core 1, rounds alternating between the sides.
 *
 * 1. Parity: the same sample requests get the same answers from both, or the
 *    benchmark fails before timing anything (bench/peers/parity.ts).
 * 2. Direct gRPC Check: warm token cache (one token, h2load) and a fresh
 *    token per call (the Go load client, distinct pre-minted tokens).
 * 3. Through a real Envoy (one worker): the p99 Envoy adds with each
 *    ext_authz minus the p99 without ext_authz, saturated (h2load, 8 in
 *    flight) and at a fixed rate (Go client, open loop); target: rolegate's
 *    added p99 <= 0.5x OPA-Envoy's.
 *
 * Usage (after the build): node dist/bench/peers/run.js [direct|envoy]
 *   [--rounds N] [--duration S] [--fresh-tokens N] [--rate R]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { defaultPinning } from '../lib/cpu.js';
import { h2loadVersion, runH2load } from '../lib/h2load.js';
import { benchCheckRequest, grpcFrame } from '../lib/request.js';
import { ROLEGATE_NODE_FLAGS } from '../lib/node-flags.js';
import { startServerProcess, type ServerProcess } from '../lib/server-process.js';
import { envoyVersion, startEnvoy, type EnvoyProcess } from './envoy.js';
import { startFixture, TOKEN_CACHE_ENTRIES, type PeerFixture } from './fixture.js';
import { goLoad, h2loadGet, writeRecords, type LoadResult } from './loadgen.js';
import {
  BUILD_SCRIPT,
  opaEnvoyVersion,
  peersBuilt,
  startOpaEnvoy,
  type OpaEnvoyProcess,
} from './opa-envoy.js';
import { checkAnswer, checkParity } from './parity.js';
import { printTargets, record } from '../lib/targets.js';

type Print = (line: string) => void;

export interface PeerBenchOptions {
  /** Measured rounds per side and scenario. Default 3. */
  readonly rounds?: number;
  /** Seconds per measured round. Default 5. */
  readonly durationSec?: number;
  /** Seconds of unmeasured warm-up before each round. Default 1. */
  readonly warmupSec?: number;
  /** Distinct tokens for the fresh-token run (> both caches). Default 40000. */
  readonly freshTokens?: number;
  /** Requests per second in the fixed-rate Envoy run. Default 300. */
  readonly rate?: number;
}

const ROLEGATE_ENTRY = fileURLToPath(new URL('./rolegate-peer.js', import.meta.url));
const ECHO_ENTRY = fileURLToPath(new URL('../lib/upstream-server.js', import.meta.url));
const SOURCE_MD = fileURLToPath(
  new URL('../../../bench/peers/opa-envoy-plugin/SOURCE.md', import.meta.url),
);
/** The request every warm run sends: team member reads an item (an allow). */
const PATH = '/inventory/42';

/** The versions a result belongs to, one line each. */
export async function peerVersions(): Promise<string[]> {
  const commit = /commit `([0-9a-f]{40})`/.exec(readFileSync(SOURCE_MD, 'utf8'))?.[1] ?? '?';
  return [
    `${opaEnvoyVersion()}, source v1.19.1-envoy commit ${commit}`,
    `${envoyVersion()}, Node ${process.version}, ${await h2loadVersion()}`,
  ];
}

interface Servers {
  readonly f: PeerFixture;
  readonly rolegate: ServerProcess;
  readonly opa: OpaEnvoyProcess;
  readonly token: string;
}

async function withServers<T>(print: Print, fn: (s: Servers) => Promise<T>): Promise<T> {
  const pin = defaultPinning();
  const f = await startFixture();
  let rolegate: ServerProcess | undefined;
  let opa: OpaEnvoyProcess | undefined;
  try {
    rolegate = await startServerProcess({
      entry: ROLEGATE_ENTRY,
      args: [f.rolegateConfigFile],
      nodeArgs: ROLEGATE_NODE_FLAGS,
      ...(pin.server !== undefined ? { core: pin.server } : {}),
    });
    opa = await startOpaEnvoy({
      regoFile: f.regoFile,
      dir: f.dir,
      cacheEntries: TOKEN_CACHE_ENTRIES,
      ...(pin.server !== undefined ? { core: pin.server } : {}),
    });
    if (!(await checkParity(f, rolegate.port, opa.port, print))) {
      throw new Error('parity failed: rolegate and OPA-Envoy decide differently');
    }
    print('');
    return await fn({ f, rolegate, opa, token: f.mint() });
  } finally {
    await Promise.all([rolegate?.stop(), opa?.stop()]);
    await f.close();
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? NaN;
};
const ms = (x: number) => `${x < 10 ? x.toFixed(2) : x.toFixed(1)}ms`;
const rate = (x: number) => x.toFixed(0).padStart(7);
const line = (label: string, r: Measured) =>
  `${label.padEnd(22)} ${rate(r.callsPerSec)}/s  p50 ${ms(r.p50Ms).padStart(8)}  p99 ${ms(r.p99Ms).padStart(8)}` +
  (r.cpuUsPerCall !== undefined
    ? `  server CPU ${r.cpuUsPerCall.toFixed(0).padStart(5)} µs/call`
    : '') +
  (r.denied || r.errors ? `  (${r.denied} denied, ${r.errors} errors)` : '');

/** A round's result, with the authorization server's CPU time per call when known. */
interface Measured extends LoadResult {
  readonly cpuUsPerCall?: number;
}

/**
 * CPU time (user + system, all threads) a process has used, in µs, from
 * /proc; undefined where /proc is missing. Less sensitive to other load on a
 * shared machine than calls/s: a busy neighbour delays every call, but adds
 * far less to the CPU time each call costs (caches and context switches).
 */
function cpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat(5); clock ticks of 10 ms (USER_HZ 100).
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

/** Alternating rounds over named sides; returns each side's results in round order. */
async function alternate(
  print: Print,
  rounds: number,
  sides: readonly { label: string; pid?: number; run: () => Promise<LoadResult> }[],
): Promise<Map<string, Measured[]>> {
  const out = new Map<string, Measured[]>(sides.map((s) => [s.label, []]));
  for (let r = 1; r <= rounds; r++) {
    for (const s of sides) {
      const before = cpuMicros(s.pid);
      const res = await s.run();
      const after = cpuMicros(s.pid);
      const calls = res.allowed + res.denied + res.errors;
      const m: Measured =
        before !== undefined && after !== undefined && calls > 0
          ? { ...res, cpuUsPerCall: (after - before) / calls }
          : res;
      out.get(s.label)?.push(m);
      print(`  round ${r} ${line(s.label, m)}`);
    }
  }
  return out;
}

/** Direct gRPC Check: warm token cache and fresh token per call, rolegate vs OPA-Envoy. */
async function runDirect(print: Print, s: Servers, o: Required<PeerBenchOptions>): Promise<void> {
  const pin = defaultPinning();
  const core = pin.loadgen !== undefined ? { core: pin.loadgen } : {};
  const request = benchCheckRequest({
    method: 'GET',
    path: PATH,
    headers: { authorization: `Bearer ${s.token}` },
  });
  for (const port of [s.rolegate.port, s.opa.port]) {
    if (!(await checkAnswer(port, request)).allowed) throw new Error('bench request not allowed');
  }
  const body = grpcFrame(request);
  const servers = [
    { label: 'rolegate', port: s.rolegate.port, pid: s.rolegate.pid },
    { label: 'OPA-Envoy', port: s.opa.port, pid: s.opa.pid },
  ];
  print('Direct gRPC Check, warm token cache (one token; h2load 4 connections x 8 streams)');
  const h2 = (port: number, durationSec: number) =>
    runH2load({ port, body, clients: 4, streams: 8, durationSec, ...core });
  for (const sv of servers) await h2(sv.port, o.warmupSec + 1);
  const before = await s.rolegate.counts();
  const warm = await alternate(
    print,
    o.rounds,
    servers.map((sv) => ({
      label: sv.label,
      pid: sv.pid,
      run: async () => {
        const r = await h2(sv.port, o.durationSec);
        return { ...r, allowed: r.succeeded, denied: 0, errors: r.failed };
      },
    })),
  );
  const after = await s.rolegate.counts();
  if (after.deny !== before.deny)
    print(`  WARNING: rolegate denied ${after.deny - before.deny} calls`);
  summarize(print, warm, 'warm token cache');

  print('');
  print(
    `Direct gRPC Check, fresh token per call (${o.freshTokens} distinct tokens, both caches ` +
      `${TOKEN_CACHE_ENTRIES} entries; Go client, 32 in flight on 4 connections)`,
  );
  const frames: Buffer[] = [];
  for (let i = 0; i < o.freshTokens; i++) {
    const t = s.f.mint({ sub: `user-${i}` });
    frames.push(
      grpcFrame(
        benchCheckRequest({ method: 'GET', path: PATH, headers: { authorization: `Bearer ${t}` } }),
      ),
    );
  }
  const file = join(s.f.dir, 'fresh.records');
  writeRecords(file, frames);
  const go = (port: number) =>
    goLoad({
      port,
      mode: 'grpc',
      recordsFile: file,
      inFlight: 32,
      conns: 4,
      durationSec: o.durationSec,
      warmupSec: o.warmupSec,
      ...core,
    });
  const fresh = await alternate(
    print,
    o.rounds,
    servers.map((sv) => ({ label: sv.label, pid: sv.pid, run: () => go(sv.port) })),
  );
  summarize(print, fresh, 'fresh token per call');
}

function summarize(print: Print, res: Map<string, Measured[]>, what: string): void {
  const rg = res.get('rolegate') ?? [];
  const opa = res.get('OPA-Envoy') ?? [];
  const rgRate = median(rg.map((r) => r.callsPerSec));
  const opaRate = median(opa.map((r) => r.callsPerSec));
  const rgP99 = median(rg.map((r) => r.p99Ms));
  const opaP99 = median(opa.map((r) => r.p99Ms));
  const cpu = (xs: Measured[]) => median(xs.map((r) => r.cpuUsPerCall ?? NaN));
  print(
    `  median: rolegate ${rate(rgRate)}/s p99 ${ms(rgP99)}; OPA-Envoy ${rate(opaRate)}/s p99 ${ms(opaP99)}; ` +
      `calls/s rolegate/OPA-Envoy = ${(rgRate / opaRate).toFixed(2)}, p99 = ${(rgP99 / opaP99).toFixed(2)}, ` +
      `server CPU per call = ${(cpu(rg) / cpu(opa)).toFixed(2)} (${what})`,
  );
  const bad = [...rg, ...opa].reduce((n, r) => n + r.denied + r.errors, 0);
  if (bad > 0) throw new Error(`${what}: ${bad} calls denied or failed; the comparison is void`);
}

/**
 * Through a real Envoy (one worker): p99 with each ext_authz minus p99
 * without, saturated and at a fixed rate; records the two targets.
 */
async function runThroughEnvoy(
  print: Print,
  s: Servers,
  o: Required<PeerBenchOptions>,
): Promise<void> {
  const pin = defaultPinning();
  const core = pin.loadgen !== undefined ? { core: pin.loadgen } : {};
  const echo = await startServerProcess({ entry: ECHO_ENTRY, ...core });
  const envoys: EnvoyProcess[] = [];
  try {
    const start = async (name: string, authzPort?: number) => {
      const e = await startEnvoy({
        name,
        dir: s.f.dir,
        upstreamPort: echo.port,
        ...(authzPort === undefined ? {} : { authzPort }),
        ...core,
      });
      envoys.push(e);
      return e;
    };
    const configs = [
      { label: 'no ext_authz', envoy: await start('none'), pid: undefined },
      { label: 'rolegate', envoy: await start('rolegate', s.rolegate.port), pid: s.rolegate.pid },
      { label: 'OPA-Envoy', envoy: await start('opa', s.opa.port), pid: s.opa.pid },
    ];
    const headers = { authorization: `Bearer ${s.token}` };
    print(
      'Through Envoy (--concurrency 1, echo upstream; Envoy, upstream and load on core ' +
        `${pin.loadgen ?? '-'}, authz servers on core ${pin.server ?? '-'})`,
    );
    print('  saturated: h2load, 1 connection x 8 streams, GET ' + PATH);
    const sat = await alternate(
      print,
      o.rounds,
      configs.map((c) => ({
        label: c.label,
        ...(c.pid !== undefined ? { pid: c.pid } : {}),
        run: () =>
          h2loadGet({
            port: c.envoy.listenerPort,
            path: PATH,
            headers,
            streams: 8,
            durationSec: o.durationSec,
            warmupSec: o.warmupSec,
            ...core,
          }),
      })),
    );
    addedP99(print, sat, 'saturated (8 in flight)');

    print(`  fixed rate: Go client, open loop at ${o.rate} requests/s (latency from schedule)`);
    const file = join(s.f.dir, 'envoy.records');
    writeRecords(file, [Buffer.from(s.token)]);
    const fixed = await alternate(
      print,
      o.rounds,
      configs.map((c) => ({
        label: c.label,
        ...(c.pid !== undefined ? { pid: c.pid } : {}),
        run: () =>
          goLoad({
            port: c.envoy.listenerPort,
            mode: 'http',
            path: PATH,
            recordsFile: file,
            inFlight: 64,
            conns: 1,
            durationSec: o.durationSec,
            warmupSec: o.warmupSec,
            rate: o.rate,
            ...core,
          }),
      })),
    );
    addedP99(print, fixed, `fixed rate (${o.rate} req/s)`, true);
  } finally {
    await Promise.all(envoys.map((e) => e.stop()));
    await echo.stop();
  }
}

function addedP99(
  print: Print,
  res: Map<string, Measured[]>,
  what: string,
  fixedRate = false,
): void {
  const none = res.get('no ext_authz') ?? [];
  const rg = res.get('rolegate') ?? [];
  const opa = res.get('OPA-Envoy') ?? [];
  const bad = [...none, ...rg, ...opa].reduce((n, r) => n + r.denied + r.errors, 0);
  const base = median(none.map((r) => r.p99Ms));
  const rgAdded = median(rg.map((r) => r.p99Ms)) - base;
  const opaAdded = median(opa.map((r) => r.p99Ms)) - base;
  const ratio = rgAdded / opaAdded;
  const perRound = rg.map((r, i) => {
    const b = none[i]?.p99Ms ?? NaN;
    return ((r.p99Ms - b) / ((opa[i]?.p99Ms ?? NaN) - b)).toFixed(2);
  });
  const rps = (xs: LoadResult[]) => median(xs.map((r) => r.callsPerSec));
  print(
    `  ${what}: p99 without ext_authz ${ms(base)}; added p99 rolegate ${ms(rgAdded)}, ` +
      `OPA-Envoy ${ms(opaAdded)}; ratio ${Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a'} ` +
      `(per round ${perRound.join(', ')}); req/s rolegate/OPA-Envoy ${(rps(rg) / rps(opa)).toFixed(2)}`,
  );
  // At a fixed rate a side that cannot keep up queues without bound: its p99 is then the
  // queue, not the authorization; say so rather than let the ratio speak alone.
  const queued = [...rg, ...opa].some((r) => r.p50Ms > 100);
  if (fixedRate && queued) {
    print(
      '  WARNING: a p50 above 100 ms at a fixed rate means a server did not keep up (the machine ' +
        'is busy); the added p99 is queueing, rerun on a quieter machine',
    );
  }
  // A non-positive OPA-Envoy figure or any failed request makes the ratio meaningless: FAIL.
  const valid = bad === 0 && opaAdded > 0 && Number.isFinite(ratio);
  const pass = valid && ratio <= 0.5;
  print(
    `  target rolegate added p99 <= 0.5x OPA-Envoy's, ${what}: ${pass ? 'PASS' : 'FAIL'}${valid ? '' : ` (invalid run: ${bad} failed or denied requests)`}`,
  );
  record(
    `through Envoy, ${what}: rolegate added p99 / OPA-Envoy's`,
    Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a',
    '<= 0.5',
    pass,
    `added p99 rolegate ${ms(rgAdded)}, OPA-Envoy ${ms(opaAdded)} (no ext_authz p99 ${ms(base)})`,
  );
}

function withDefaults(o: PeerBenchOptions): Required<PeerBenchOptions> {
  return {
    rounds: o.rounds ?? 3,
    durationSec: o.durationSec ?? 5,
    warmupSec: o.warmupSec ?? 1,
    freshTokens: o.freshTokens ?? 40_000,
    rate: o.rate ?? 300,
  };
}

/** The whole peer benchmark (or one part); throws when parity or a run fails. */
export async function runPeerBench(
  print: Print,
  parts: { direct: boolean; envoy: boolean },
  opts: PeerBenchOptions = {},
): Promise<void> {
  const o = withDefaults(opts);
  const pin = defaultPinning();
  print('rolegate vs OPA-Envoy (same bench config; equivalent Rego generated from it)');
  for (const v of await peerVersions()) print(`  ${v}`);
  print(
    `  ${o.rounds} rounds x ${o.durationSec}s (+${o.warmupSec}s warm-up) per side, ` +
      (pin.note ?? `authz servers on core ${pin.server}, load on core ${pin.loadgen}`),
  );
  print('');
  await withServers(print, async (s) => {
    if (parts.direct) await runDirect(print, s, o);
    if (parts.direct && parts.envoy) print('');
    if (parts.envoy) await runThroughEnvoy(print, s, o);
  });
}

/**
 * For `npm run bench`: the through-Envoy comparison when the peer is built,
 * otherwise one line saying how to build it (and no target recorded).
 */
export async function runEnvoyPeerComparison(print: Print): Promise<void> {
  if (!peersBuilt()) {
    print('Against OPA-Envoy through Envoy: not built: run npm run bench:peers');
    return;
  }
  await runPeerBench(print, { direct: false, envoy: true });
}

// CLI: node dist/bench/peers/run.js [direct|envoy] [--rounds N] [--duration S] [--fresh-tokens N] [--rate R]
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  const num = (name: string): number | undefined => {
    const i = argv.indexOf(name);
    return i < 0 ? undefined : Number(argv[i + 1]);
  };
  const only = argv.find((a) => a === 'direct' || a === 'envoy');
  const print = (l: string) => console.log(l);
  if (!peersBuilt()) {
    console.error(`peer binaries missing: run ${BUILD_SCRIPT} (npm run bench:peers does)`);
    process.exit(1);
  }
  const opts: PeerBenchOptions = {
    ...(num('--rounds') !== undefined ? { rounds: num('--rounds') as number } : {}),
    ...(num('--duration') !== undefined ? { durationSec: num('--duration') as number } : {}),
    ...(num('--fresh-tokens') !== undefined
      ? { freshTokens: num('--fresh-tokens') as number }
      : {}),
    ...(num('--rate') !== undefined ? { rate: num('--rate') as number } : {}),
  };
  runPeerBench(print, { direct: only !== 'envoy', envoy: only !== 'direct' }, opts)
    .then(() => printTargets(print))
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
