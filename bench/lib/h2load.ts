/**
 * Drive gRPC unary Check calls with h2load (nghttp2-client): each request is
 * an h2c POST of a length-prefixed protobuf body with content-type
 * application/grpc and te: trailers. h2load only sees HTTP status (always
 * 200 for gRPC), never grpc-status, so decisions are counted by the server.
 *
 * Latency percentiles come from h2load's --log-file (one line per request:
 * start µs since epoch, HTTP status, µs until end of response).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CHECK_METHOD_PATH } from '../../src/transport/grpc/protos.js';
import { taskset } from './cpu.js';

export interface H2loadOptions {
  readonly port: number;
  /** gRPC-framed request body (see request.ts grpcFrame); ignored with `http1`. */
  readonly body: Buffer;
  /**
   * HTTP/1.1 mode (`--h1`), for the HTTP check: this request, no body,
   * instead of gRPC Check. Default: gRPC over HTTP/2.
   */
  readonly http1?: {
    readonly path: string;
    readonly headers: Readonly<Record<string, string>>;
  };
  /** Connections (-c). */
  readonly clients: number;
  /** Concurrent streams per connection (-m). */
  readonly streams: number;
  /** Measured duration in seconds (-D). */
  readonly durationSec: number;
  /** h2load warm-up before measuring (--warm-up-time), seconds. */
  readonly warmupSec?: number;
  /** Core to pin h2load to. */
  readonly core?: number;
}

export interface H2loadResult {
  /** Requests completed per second over the measured window (h2load's req/s). */
  readonly callsPerSec: number;
  /** Requests h2load counted as done / succeeded (2xx) / failed or errored. */
  readonly done: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Latency percentiles in milliseconds, from the per-request log. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  /** Lines in the per-request log (= requests timed). */
  readonly logged: number;
  readonly raw: string;
}

let checked: string | undefined;

/** h2load version string; throws a helpful error if it is missing. */
export async function h2loadVersion(): Promise<string> {
  if (checked !== undefined) return checked;
  try {
    const out = await run('h2load', ['--version']);
    checked = out.stdout.trim();
    return checked;
  } catch {
    throw new Error('h2load not found: install nghttp2-client (Debian/Ubuntu) or nghttp2');
  }
}

export async function runH2load(opts: H2loadOptions): Promise<H2loadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rolegate-h2load-'));
  try {
    const bodyFile = join(dir, 'check.bin');
    const logFile = join(dir, 'requests.log');
    writeFileSync(bodyFile, opts.body);
    const args = [
      '-c',
      String(opts.clients),
      '-m',
      String(opts.streams),
      '-t',
      '1',
      '-D',
      `${opts.durationSec}s`,
      ...(opts.warmupSec ? ['--warm-up-time', `${opts.warmupSec}s`] : []),
      ...(opts.http1 === undefined
        ? ['-d', bodyFile, '-H', 'content-type: application/grpc', '-H', 'te: trailers']
        : [
            '--h1',
            ...Object.entries(opts.http1.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
          ]),
      '--log-file',
      logFile,
      `http://127.0.0.1:${opts.port}${opts.http1?.path ?? CHECK_METHOD_PATH}`,
    ];
    const [cmd, cmdArgs] = taskset(opts.core, 'h2load', args);
    const { stdout } = await run(cmd, cmdArgs);
    const summary = parseH2loadOutput(stdout);
    const lat = latencyFromLog(readFileSync(logFile, 'utf8'));
    return { ...summary, ...lat, raw: stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface H2loadSummary {
  readonly callsPerSec: number;
  readonly done: number;
  readonly succeeded: number;
  readonly failed: number;
}

/** Parse h2load's summary ("finished in …, N req/s", "requests: … done, … succeeded …"). */
export function parseH2loadOutput(stdout: string): H2loadSummary {
  const rps = /finished in [^,]+,\s*([\d.]+) req\/s/.exec(stdout);
  const reqs =
    /requests:\s*(\d+) total,\s*(\d+) started,\s*(\d+) done,\s*(\d+) succeeded,\s*(\d+) failed,\s*(\d+) errored/.exec(
      stdout,
    );
  if (!rps || !reqs) throw new Error(`unexpected h2load output:\n${stdout}`);
  return {
    callsPerSec: Number(rps[1]),
    done: Number(reqs[3]),
    succeeded: Number(reqs[4]),
    failed: Number(reqs[5]) + Number(reqs[6]),
  };
}

/** Percentiles of the per-request log; failed streams (status -1) are excluded. */
export function latencyFromLog(log: string): {
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  logged: number;
} {
  const micros: number[] = [];
  for (const line of log.split('\n')) {
    const cols = line.split('\t');
    if (cols.length < 3 || cols[1] === '-1') continue;
    const us = Number(cols[2]);
    if (Number.isFinite(us)) micros.push(us);
  }
  const sorted = Float64Array.from(micros).sort();
  const sum = micros.reduce((a, b) => a + b, 0);
  return {
    p50Ms: percentile(sorted, 0.5) / 1000,
    p99Ms: percentile(sorted, 0.99) / 1000,
    meanMs: sorted.length ? sum / sorted.length / 1000 : NaN,
    logged: sorted.length,
  };
}

/** Nearest-rank percentile of an ascending array (NaN when empty). */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? NaN;
}

function run(cmd: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve({ stdout, stderr });
      else
        reject(new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}:\n${stderr}${stdout}`));
    });
  });
}
