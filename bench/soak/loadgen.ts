/**
 * The soak's load generator: plain HTTP/1.1 through Envoy with a keep-alive
 * agent, a different token on every request (h2load sends the same headers
 * every time), numbered request ids (`x-request-id: soak-<seq>`), and the
 * request mix of mix.ts. Closed loop (C requests in flight) to find the
 * peak; open loop (a fixed schedule, latency counted from the scheduled
 * time, so a stall is not hidden by sending less) to hold a rate.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

import { expectedStatus, kindOf, pathFor, type RequestKind } from './mix.js';
import { requestIdOf } from './reconcile.js';
import type { SoakTokens } from './tokens.js';

/** Latencies and errors collected between two reads (one window). */
export interface WindowAccumulator {
  latenciesMs: number[];
  requests: number;
  errors: number;
}

/** Options of {@link LoadGenerator}. */
export interface LoadGeneratorOptions {
  readonly port: number;
  readonly tokens: SoakTokens;
  /** One request in `badEvery` is a bad input (default 100); 0: none. */
  readonly badEvery?: number;
  /** Keep-alive connections to Envoy (default 64). */
  readonly maxSockets?: number;
  /** Send `x-request-id` (default true; off for the generator's own ceiling run). */
  readonly requestIds?: boolean;
}

/** Totals since the generator was made. */
export interface LoadTotals {
  readonly sent: number;
  readonly completed: number;
  readonly errors: number;
  /** Statuses by kind, e.g. `{ good: { 200: 9000 }, expired: { 401: 15 } }`. */
  readonly statuses: Readonly<Record<string, Readonly<Record<number, number>>>>;
  /** The first few errors, described. */
  readonly errorSamples: readonly string[];
  /** Most requests in flight at once. */
  readonly maxInFlight: number;
}

export class LoadGenerator {
  private readonly agent: Agent;
  private seq = 0;
  private completed = 0;
  private errors = 0;
  private inFlight = 0;
  private maxInFlight = 0;
  private readonly statuses: Record<string, Record<number, number>> = {};
  private readonly errorSamples: string[] = [];
  private window: WindowAccumulator = { latenciesMs: [], requests: 0, errors: 0 };
  private drained: (() => void) | undefined;

  constructor(private readonly options: LoadGeneratorOptions) {
    this.agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
  }

  /** Requests numbered so far (the next request's seq). */
  get sent(): number {
    return this.seq;
  }

  /** The window collected since the last call, replaced by an empty one. */
  takeWindow(): WindowAccumulator {
    const w = this.window;
    this.window = { latenciesMs: [], requests: 0, errors: 0 };
    return w;
  }

  totals(): LoadTotals {
    return {
      sent: this.seq,
      completed: this.completed,
      errors: this.errors,
      statuses: this.statuses,
      errorSamples: [...this.errorSamples],
      maxInFlight: this.maxInFlight,
    };
  }

  private error(what: string): void {
    this.errors++;
    this.window.errors++;
    if (this.errorSamples.length < 20) this.errorSamples.push(what);
  }

  private tokenFor(kind: RequestKind, seq: number): string | undefined {
    const t = this.options.tokens;
    switch (kind) {
      case 'no-token':
        return undefined;
      case 'expired':
        return t.expired;
      case 'wrong-audience':
        return t.wrongAudience;
      case 'bad-signature':
        return t.badSignature;
      default:
        return t.good[seq % t.good.length];
    }
  }

  /** Sends one request; `done` runs when it has been answered or failed. */
  private fire(scheduledAt: number, done?: () => void): void {
    const seq = this.seq++;
    const kind = kindOf(seq, this.options.badEvery ?? 100);
    const token = this.tokenFor(kind, seq);
    const headers: Record<string, string> = {};
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    if (this.options.requestIds !== false) headers['x-request-id'] = requestIdOf(seq);
    this.inFlight++;
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
    let finished = false;
    const finish = (status: number | undefined, err?: string) => {
      if (finished) return;
      finished = true;
      this.inFlight--;
      this.completed++;
      this.window.requests++;
      this.window.latenciesMs.push(performance.now() - scheduledAt);
      if (status !== undefined) {
        const byKind = (this.statuses[kind] ??= {});
        byKind[status] = (byKind[status] ?? 0) + 1;
        if (!expectedStatus(kind, status)) this.error(`${kind} request ${seq}: status ${status}`);
      } else this.error(`${kind} request ${seq}: ${err ?? 'failed'}`);
      done?.();
      if (this.inFlight === 0) this.drained?.();
    };
    const req = request(
      {
        agent: this.agent,
        host: '127.0.0.1',
        port: this.options.port,
        method: 'GET',
        path: pathFor(kind, seq % 1000),
        headers,
      },
      (res) => {
        res.resume();
        res.once('end', () => finish(res.statusCode ?? 0));
        res.once('error', (e) => finish(undefined, e.message));
      },
    );
    req.once('error', (e) => finish(undefined, e.message));
    req.end();
  }

  /**
   * Resolves once nothing is in flight, or after `timeoutMs` (default 120 s:
   * a generator that fell behind on a busy machine has a queue to work off);
   * each request still unanswered then counts as an error.
   */
  async drain(timeoutMs = 120_000): Promise<void> {
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.drained = undefined;
    const unanswered = this.inFlight;
    if (unanswered > 0) {
      this.error(`${unanswered} requests unanswered after ${timeoutMs} ms`);
      this.errors += unanswered - 1;
      this.window.errors += unanswered - 1;
    }
  }

  /** `concurrency` requests in flight for `durationMs`; resolves to completed requests per second. */
  async closedLoop(concurrency: number, durationMs: number): Promise<number> {
    const start = performance.now();
    const before = this.completed;
    await new Promise<void>((resolve) => {
      let workers = concurrency;
      const loop = () => {
        if (performance.now() - start >= durationMs) {
          if (--workers === 0) resolve();
          return;
        }
        this.fire(performance.now(), loop);
      };
      for (let i = 0; i < concurrency; i++) loop();
    });
    return ((this.completed - before) * 1000) / (performance.now() - start);
  }

  /**
   * `rate` requests per second on a fixed schedule for `durationMs`;
   * `onTick` runs about every `tickMs` (default 5000) while it runs.
   * Resolves once every request has been answered.
   */
  async openLoop(
    rate: number,
    durationMs: number,
    onTick?: () => void,
    tickMs = 5000,
  ): Promise<void> {
    const start = performance.now();
    const total = Math.floor((rate * durationMs) / 1000);
    let sent = 0;
    let nextTick = start + tickMs;
    await new Promise<void>((resolve) => {
      const step = () => {
        const now = performance.now();
        const due = Math.min(total, Math.floor(((now - start) * rate) / 1000) + 1);
        while (sent < due) this.fire(start + (sent++ * 1000) / rate);
        if (now >= nextTick) {
          nextTick += tickMs;
          onTick?.();
        }
        if (sent < total) setTimeout(step, 1);
        else resolve();
      };
      step();
    });
    await this.drain();
    onTick?.();
  }

  close(): void {
    this.agent.destroy();
  }
}
