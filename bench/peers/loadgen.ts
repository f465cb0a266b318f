/**
 * The two load generators of the peer benchmark, pinned to the load core:
 * h2load for a fixed request (warm token; GETs through Envoy or gRPC Check
 * bodies), and the Go load client (bench/peers/loadclient) for a different
 * request per call (fresh tokens) or a fixed request rate.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { taskset } from '../lib/cpu.js';
import { latencyFromLog, parseH2loadOutput } from '../lib/h2load.js';
import { LOADCLIENT_BIN } from './opa-envoy.js';
import { stopWithBench } from '../lib/children.js';

/** One measured run: rate, latency, and how many answers were allows. */
export interface LoadResult {
  readonly callsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Allowed answers (HTTP 2xx through Envoy; CheckResponse OK over gRPC when known). */
  readonly allowed: number;
  readonly denied: number;
  readonly errors: number;
}

/** h2load GET `path` over h2c (Envoy listener), `streams` in flight on one connection. */
export async function h2loadGet(o: {
  port: number;
  path: string;
  headers: Readonly<Record<string, string>>;
  streams: number;
  durationSec: number;
  warmupSec: number;
  core?: number;
}): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rolegate-peers-h2load-'));
  try {
    const log = join(dir, 'requests.log');
    const args = [
      ...['-c', '1', '-m', String(o.streams), '-t', '1', '-D', `${o.durationSec}s`],
      ...['--warm-up-time', `${o.warmupSec}s`, '--log-file', log],
      ...Object.entries(o.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
      `http://127.0.0.1:${o.port}${o.path}`,
    ];
    const [cmd, cmdArgs] = taskset(o.core, 'h2load', args);
    const stdout = await run(cmd, cmdArgs);
    const s = parseH2loadOutput(stdout);
    const codes = /status codes:\s*(\d+) 2xx,\s*(\d+) 3xx,\s*(\d+) 4xx,\s*(\d+) 5xx/.exec(stdout);
    const lat = latencyFromLog(readFileSync(log, 'utf8'));
    const ok = Number(codes?.[1] ?? NaN);
    return {
      callsPerSec: s.callsPerSec,
      p50Ms: lat.p50Ms,
      p99Ms: lat.p99Ms,
      allowed: ok,
      denied: Number(codes?.[3] ?? 0),
      errors: s.failed + Number(codes?.[4] ?? 0) + Number(codes?.[2] ?? 0),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Records for the Go client: 4-byte big-endian length, then the bytes. */
export function writeRecords(file: string, records: readonly Buffer[]): void {
  const parts: Buffer[] = [];
  for (const r of records) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(r.length, 0);
    parts.push(len, r);
  }
  writeFileSync(file, Buffer.concat(parts));
}

/** The Go load client: `records` round robin (gRPC bodies or bearer tokens). */
export async function goLoad(o: {
  port: number;
  mode: 'grpc' | 'http';
  path?: string;
  recordsFile: string;
  inFlight: number;
  conns: number;
  durationSec: number;
  warmupSec: number;
  /** Requests per second, open loop; omitted: closed loop. */
  rate?: number;
  core?: number;
}): Promise<LoadResult> {
  const args = [
    ...['-addr', `127.0.0.1:${o.port}`, '-mode', o.mode, '-requests', o.recordsFile],
    ...['-c', String(o.inFlight), '-conns', String(o.conns)],
    ...['-d', `${o.durationSec}s`, '-warmup', `${o.warmupSec}s`],
    ...(o.path !== undefined ? ['-path', o.path] : []),
    ...(o.rate !== undefined ? ['-rate', String(o.rate)] : []),
  ];
  const [cmd, cmdArgs] = taskset(o.core, LOADCLIENT_BIN, args);
  const r = JSON.parse(await run(cmd, cmdArgs)) as {
    callsPerSec: number;
    p50Ms: number;
    p99Ms: number;
    allowed: number;
    denied: number;
    errors: number;
  };
  return {
    callsPerSec: r.callsPerSec,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    allowed: r.allowed,
    denied: r.denied,
    errors: r.errors,
  };
}

function run(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    stopWithBench(child);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${err}${out}`)),
    );
  });
}
