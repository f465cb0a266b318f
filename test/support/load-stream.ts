/**
 * A continuous request stream for fault tests: `concurrency` loops, each
 * sending one request, recording what came back, and sending the next, until
 * stopped. Every response is kept (status, the principal the echo upstream
 * saw, a deny body, or the transport error) so a test can account for each
 * one. Bodies of allowed requests are not kept: the echo upstream returns the
 * Authorization header it received.
 */

/** One request the stream sends. */
export interface StreamRequest {
  /** What the test expects of it, e.g. `allow` or `deny`; copied into the record. */
  readonly label: string;
  readonly url: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
}

/** One finished request. */
export interface StreamRecord {
  readonly seq: number;
  readonly label: string;
  /** 0 when the request failed without a response (see `error`). */
  readonly status: number;
  /** `x-rolegate-principal` as the echo upstream received it (a 200 that reached the upstream). */
  readonly principal?: string;
  /** The body of a non-200 response (first 300 characters). */
  readonly body?: string;
  /** Why there was no response. */
  readonly error?: string;
  /** Milliseconds since the stream started. */
  readonly startedMs: number;
  readonly endedMs: number;
}

export interface LoadStreamOptions {
  /** Parallel request loops. Default 8. */
  readonly concurrency?: number;
  /** The `seq`-th request to send (seq counts from 0 across all loops). */
  readonly next: (seq: number) => StreamRequest;
  /** Per-request timeout. Default 10 s (a hung request is a failure, not a stall). */
  readonly timeoutMs?: number;
}

function principalOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { headers?: Record<string, unknown> };
    const p = parsed.headers?.['x-rolegate-principal'];
    return typeof p === 'string' ? p : undefined;
  } catch {
    return undefined;
  }
}

/** Runs requests until {@link LoadStream.stop}; see the module comment. */
export class LoadStream {
  readonly records: StreamRecord[] = [];
  private running = false;
  private seq = 0;
  private loops: Promise<void>[] = [];
  private t0 = 0;

  constructor(private readonly options: LoadStreamOptions) {}

  /** Starts the loops (returns at once). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.t0 = performance.now();
    const n = this.options.concurrency ?? 8;
    this.loops = Array.from({ length: n }, () => this.loop());
  }

  /** Milliseconds since start(). */
  now(): number {
    return performance.now() - this.t0;
  }

  /** Records finished since `fromMs` (stream time), e.g. after a fault began. */
  since(fromMs: number): StreamRecord[] {
    return this.records.filter((r) => r.startedMs >= fromMs);
  }

  /** Resolves once at least `count` more requests have finished than when called. */
  async waitFor(count: number, timeoutMs = 30_000): Promise<void> {
    const target = this.records.length + count;
    const deadline = Date.now() + timeoutMs;
    while (this.records.length < target) {
      if (Date.now() > deadline) {
        throw new Error(`load stream: ${count} requests did not finish in ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops sending, waits for requests in flight, and returns every record. */
  async stop(): Promise<StreamRecord[]> {
    this.running = false;
    await Promise.all(this.loops);
    return this.records;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const seq = this.seq++;
      const req = this.options.next(seq);
      const startedMs = this.now();
      const base = { seq, label: req.label, startedMs };
      try {
        const res = await fetch(req.url, {
          method: req.method ?? 'GET',
          headers: { ...req.headers, 'x-load-seq': String(seq) },
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
        });
        const body = await res.text();
        const principal = res.status === 200 ? principalOf(body) : undefined;
        this.records.push({
          ...base,
          status: res.status,
          ...(principal === undefined ? {} : { principal }),
          ...(res.status === 200 ? {} : { body: body.slice(0, 300) }),
          endedMs: this.now(),
        });
      } catch (err) {
        this.records.push({ ...base, status: 0, error: String(err), endedMs: this.now() });
      }
    }
  }
}
