/**
 * A bounded request stream for fault tests (outages, restarts, config
 * swaps): a few client loops send requests one after another while a fault
 * is injected, and every answer is kept with when it started and ended, so a
 * test can account for each one and say what was answered before, during
 * and after a window without asserting on speed.
 */

/** One answered (or failed) request. */
export interface StreamSample<K extends string = string> {
  /** Sequence number, in send order. */
  readonly seq: number;
  /** The request kind the `kinds` rotation chose. */
  readonly kind: K;
  /** Epoch ms when the request was sent and when its answer (or failure) arrived. */
  readonly startedAt: number;
  readonly endedAt: number;
  /** HTTP status; 0 when no answer came (connection error, timeout). */
  readonly status: number;
  /** The `x-rolegate-decision-id` response header, when there was one. */
  readonly decisionId?: string;
  /** The body of an answer other than 200 (first 300 characters), e.g. a deny body. */
  readonly body?: string;
  /** Why no answer came (status 0): the sender's error. */
  readonly error?: string;
  /** Whatever else the sender wants to keep (a header the upstream saw). */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** What a sender returns for one request. */
export interface SendResult {
  readonly status: number;
  readonly decisionId?: string;
  readonly body?: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface RequestStreamOptions<K extends string> {
  /** Request kinds, used in rotation: request n is of kind `kinds[n % kinds.length]`. */
  readonly kinds: readonly K[];
  /** Sends one request of `kind`; a throw is recorded as status 0. */
  readonly send: (kind: K, seq: number) => Promise<SendResult>;
  /** Client loops running at once. Default 2. */
  readonly concurrency?: number;
  /** Pause of each loop between two requests, in ms. Default 10. */
  readonly pauseMs?: number;
  /** The stream stops sending after this many requests (a bound, not a target). Default 2000. */
  readonly maxRequests?: number;
  /** Clock in epoch ms. Default `Date.now`. */
  readonly now?: () => number;
}

/** A running stream; see {@link startRequestStream}. */
export interface RequestStream<K extends string> {
  /** Answers so far, in completion order. */
  readonly samples: readonly StreamSample<K>[];
  /** Resolves after `count` more answers have arrived (or the stream ended). */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  /** Stops sending, waits for the requests in flight, returns every sample in send order. */
  stop(): Promise<StreamSample<K>[]>;
}

/** Starts the client loops at once. */
export function startRequestStream<K extends string>(
  options: RequestStreamOptions<K>,
): RequestStream<K> {
  const now = options.now ?? Date.now;
  const pauseMs = options.pauseMs ?? 10;
  const max = options.maxRequests ?? 2000;
  const samples: StreamSample<K>[] = [];
  let next = 0;
  let stopped = false;
  const waiters: { target: number; resolve: () => void }[] = [];

  const settle = () => {
    for (const w of [...waiters]) {
      if (samples.length >= w.target || stopped || next >= max) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };

  const loop = async () => {
    while (!stopped && next < max) {
      const seq = next++;
      const kind = options.kinds[seq % options.kinds.length] as K;
      const startedAt = now();
      let result: SendResult;
      let error: string | undefined;
      try {
        result = await options.send(kind, seq);
      } catch (err) {
        result = { status: 0 };
        error = String(err);
      }
      samples.push({
        seq,
        kind,
        startedAt,
        endedAt: now(),
        ...result,
        ...(error === undefined ? {} : { error }),
      });
      settle();
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
    settle();
  };
  const loops = Array.from({ length: options.concurrency ?? 2 }, () => loop());

  return {
    samples,
    waitFor(count, timeoutMs = 30_000) {
      const target = samples.length + count;
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`request stream: ${count} answers not seen in ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          target,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        settle();
      });
    },
    async stop() {
      stopped = true;
      settle();
      await Promise.all(loops);
      return [...samples].sort((a, b) => a.seq - b.seq);
    },
  };
}

/** Samples sent at or after `from` and answered before `to` (epoch ms; either may be omitted). */
export function within<S extends StreamSample>(
  samples: readonly S[],
  window: { from?: number; to?: number },
): S[] {
  return samples.filter(
    (s) =>
      (window.from === undefined || s.startedAt >= window.from) &&
      (window.to === undefined || s.endedAt < window.to),
  );
}

/** Status counts, e.g. `{ 200: 12, 401: 3 }`. */
export function statusCounts(samples: readonly StreamSample[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const s of samples) out[s.status] = (out[s.status] ?? 0) + 1;
  return out;
}

/** Status counts by request kind, e.g. `{ fresh: { 200: 12 }, unknownKid: { 401: 4 } }`. */
export function statusesByKind<K extends string>(
  samples: readonly StreamSample<K>[],
): Partial<Record<K, Record<number, number>>> {
  const out: Partial<Record<K, Record<number, number>>> = {};
  for (const s of samples) {
    const counts = (out[s.kind] ??= {});
    counts[s.status] = (counts[s.status] ?? 0) + 1;
  }
  return out;
}

/**
 * Sends one request (through Envoy, say) and reads what a stream sample
 * keeps: the status, the decision id (the deny's response header, or for an
 * allow the header the echo upstream saw and echoed back), the headers the
 * upstream received (a 200) or the body (anything else). Gives up after
 * `timeoutMs` (default 5 s), which the stream records as status 0.
 */
export async function sendHttp(
  url: string,
  init: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<SendResult> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: init.headers ?? {},
    signal: AbortSignal.timeout(init.timeoutMs ?? 5000),
  });
  const body = await res.text();
  let upstreamHeaders: Record<string, unknown> | undefined;
  if (res.status === 200) {
    try {
      upstreamHeaders = (JSON.parse(body) as { headers?: Record<string, unknown> }).headers;
    } catch {
      upstreamHeaders = undefined;
    }
  }
  const id =
    res.headers.get('x-rolegate-decision-id') ?? upstreamHeaders?.['x-rolegate-decision-id'];
  return {
    status: res.status,
    ...(typeof id === 'string' ? { decisionId: id } : {}),
    ...(res.status === 200 ? {} : { body: body.slice(0, 300) }),
    ...(upstreamHeaders === undefined ? {} : { detail: { upstreamHeaders } }),
  };
}

/** A header the echo upstream received (a sample of {@link sendHttp} that was allowed). */
export function upstreamHeader(sample: StreamSample, name: string): string | undefined {
  const headers = sample.detail?.['upstreamHeaders'] as Record<string, unknown> | undefined;
  const value = headers?.[name];
  return typeof value === 'string' ? value : undefined;
}
