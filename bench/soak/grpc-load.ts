/**
 * A fixed-rate gRPC Check load for the soak's heap evidence: node:http2
 * straight to the server (no Envoy, so nothing else shares the figures),
 * a different token on every call from the soak's minted set, requests
 * spread over a few connections as Envoy's ext_authz client spreads them.
 */
import http2, { type ClientHttp2Session } from 'node:http2';
import { performance } from 'node:perf_hooks';

import { benchCheckRequest, grpcFrame } from '../lib/request.js';
import { pathFor } from './mix.js';

/** Options of {@link GrpcLoad}. */
export interface GrpcLoadOptions {
  readonly port: number;
  readonly tokens: readonly string[];
  /** Connections (default 2). */
  readonly connections?: number;
  /**
   * Calls in flight at most (default 8): past it the schedule waits. On a
   * busy machine a fixed rate alone piles up calls, and every call in flight
   * at two scavenges is promoted; the cap keeps what the server holds the
   * same however much CPU it gets, so promoted bytes compare across runs.
   */
  readonly maxInFlight?: number;
}

export class GrpcLoad {
  private readonly sessions: ClientHttp2Session[] = [];
  private seq = 0;
  private inFlight = 0;
  /** Calls that did not end with `grpc-status: 0`. */
  failures = 0;
  /** Latency of every answered call since the last {@link takeLatencies}, ms from its scheduled time. */
  private latencies: number[] = [];

  constructor(private readonly options: GrpcLoadOptions) {
    for (let i = 0; i < (options.connections ?? 2); i++) {
      const s = http2.connect(`http://127.0.0.1:${options.port}`);
      s.on('error', () => undefined);
      this.sessions.push(s);
    }
  }

  /** The latencies collected so far (ms), sorted; starts a new collection. */
  takeLatencies(): Float64Array {
    const out = Float64Array.from(this.latencies).sort();
    this.latencies = [];
    return out;
  }

  private fire(scheduledAt: number, done: () => void): void {
    const seq = this.seq++;
    const token = this.options.tokens[seq % this.options.tokens.length] ?? '';
    const frame = grpcFrame(
      benchCheckRequest({
        headers: { authorization: `Bearer ${token}`, 'x-request-id': `soak-heap-${seq}` },
        path: pathFor('good', seq % 1000),
        method: 'GET',
      }),
    );
    const session = this.sessions[seq % this.sessions.length];
    if (session === undefined) return;
    this.inFlight++;
    const req = session.request({
      ':method': 'POST',
      ':path': '/envoy.service.auth.v3.Authorization/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': '1000m',
    });
    let status: string | undefined;
    req.on('trailers', (t) => {
      status = String(t['grpc-status']);
    });
    req.on('response', (h) => {
      if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
    });
    req.on('data', () => undefined);
    const finish = () => {
      this.inFlight--;
      this.latencies.push(performance.now() - scheduledAt);
      if (status !== '0') this.failures++;
      done();
    };
    req.once('close', finish);
    req.on('error', () => undefined);
    req.end(frame);
  }

  /** Sends `calls` calls at `rate` per second on a fixed schedule; resolves once all are answered. */
  async run(rate: number, calls: number): Promise<void> {
    const start = performance.now();
    let sent = 0;
    let answered = 0;
    const cap = this.options.maxInFlight ?? 8;
    await new Promise<void>((resolve) => {
      const done = () => {
        if (++answered === calls) resolve();
      };
      const step = () => {
        const due = Math.min(calls, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
        while (sent < due && this.inFlight < cap) this.fire(start + (sent++ * 1000) / rate, done);
        if (sent < calls) setTimeout(step, 1);
      };
      step();
    });
  }

  close(): void {
    for (const s of this.sessions) s.close();
  }
}
