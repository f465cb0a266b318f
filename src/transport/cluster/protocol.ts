/**
 * The messages between the `rolegate serve` primary and its workers (over
 * the cluster IPC channel). Every message carries `rolegate: 1`, so other
 * users of the channel (prom-client's own cluster messages) are ignored,
 * and a message that does not parse is dropped rather than trusted.
 */
import type { Aggregator, MetricType } from 'prom-client';

/**
 * An IAM read's request, answer or error as plain JSON. Their types and checks
 * live in aws/iam-reader.ts; this channel only carries them.
 */
export type IamPayload = Readonly<Record<string, unknown>>;

/** One metric of `Registry.getMetricsAsJSON()` as it arrives over IPC (plain JSON). */
export interface MetricJson {
  readonly name: string;
  readonly help: string;
  /** A string at run time ('counter', 'gauge', ...), whatever prom-client's typings say. */
  readonly type: string | MetricType;
  readonly aggregator?: Aggregator;
  readonly values: readonly {
    readonly value: number;
    readonly labels: Readonly<Partial<Record<string, string | number>>>;
    readonly metricName?: string;
  }[];
}

/** A worker's metrics as `Registry.getMetricsAsJSON()` returns them. */
export type MetricsJson = MetricJson[];

/** Primary -> worker. */
export type ToWorker =
  /**
   * Start serving `file` (expecting generation `hash`); `text` is the config
   * itself when it came from standard input. `slot` (1..workers) is the
   * `worker` metric label, inherited by a replacement so series stay bounded.
   * `workers` is how many slots there are: each holds its part of every
   * configured cache bound.
   */
  | {
      readonly rolegate: 1;
      readonly kind: 'start';
      readonly slot: number;
      readonly workers: number;
      readonly file: string;
      readonly hash: string;
      readonly text?: string;
    }
  /** Load the config again; the primary validated generation `hash`. */
  | { readonly rolegate: 1; readonly kind: 'load'; readonly hash: string }
  /** Send your metrics, answering with the same `id`. */
  | { readonly rolegate: 1; readonly kind: 'metrics'; readonly id: number }
  /** Health NOT_SERVING, drain, close, exit 0. */
  | { readonly rolegate: 1; readonly kind: 'stop' }
  /** Sync IAM now: the fleet published a new snapshot (or the primary now reads IAM for it). */
  | { readonly rolegate: 1; readonly kind: 'iam-sync' }
  /** The answer to the worker's `iam-read` with the same `id`: what IAM returned, or why not. */
  | {
      readonly rolegate: 1;
      readonly kind: 'iam-read';
      readonly id: number;
      readonly fetch?: IamPayload;
      readonly error?: IamPayload;
    };

/** Worker -> primary. */
export type FromWorker =
  /** Listening, serving generation `hash`. */
  | {
      readonly rolegate: 1;
      readonly kind: 'serving';
      readonly hash: string;
      readonly grpcPort: number;
      readonly httpPort?: number;
    }
  /** Now serving generation `hash` (after a `load`; unchanged when the load failed). */
  | { readonly rolegate: 1; readonly kind: 'loaded'; readonly hash: string; readonly ok: boolean }
  | {
      readonly rolegate: 1;
      readonly kind: 'metrics';
      readonly id: number;
      readonly metrics: MetricsJson;
    }
  /** Read IAM for me (the primary reads once for every worker); answered with the same `id`. */
  | {
      readonly rolegate: 1;
      readonly kind: 'iam-read';
      readonly id: number;
      readonly request: IamPayload;
    }
  /** Could not start; the error's catalogue code and message. */
  | {
      readonly rolegate: 1;
      readonly kind: 'failed';
      readonly code: string;
      readonly message: string;
    };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): v is string => typeof v === 'string';
const port = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65_535;
const id = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** A primary's message, or undefined for anything else on the channel. */
export function parseToWorker(msg: unknown): ToWorker | undefined {
  if (!isObject(msg) || msg['rolegate'] !== 1) return undefined;
  switch (msg['kind']) {
    case 'start':
      if (!str(msg['hash']) || !str(msg['file']) || !id(msg['slot'])) return undefined;
      if (!id(msg['workers']) || msg['workers'] < 1) return undefined;
      if (msg['text'] !== undefined && !str(msg['text'])) return undefined;
      return {
        rolegate: 1,
        kind: 'start',
        slot: msg['slot'],
        workers: msg['workers'],
        file: msg['file'],
        hash: msg['hash'],
        ...(str(msg['text']) ? { text: msg['text'] } : {}),
      };
    case 'load':
      return str(msg['hash']) ? { rolegate: 1, kind: 'load', hash: msg['hash'] } : undefined;
    case 'metrics':
      return id(msg['id']) ? { rolegate: 1, kind: 'metrics', id: msg['id'] } : undefined;
    case 'stop':
      return { rolegate: 1, kind: 'stop' };
    case 'iam-sync':
      return { rolegate: 1, kind: 'iam-sync' };
    case 'iam-read': {
      if (!id(msg['id'])) return undefined;
      const { fetch, error } = msg;
      if (isObject(fetch)) return { rolegate: 1, kind: 'iam-read', id: msg['id'], fetch };
      if (isObject(error)) return { rolegate: 1, kind: 'iam-read', id: msg['id'], error };
      return undefined;
    }
    default:
      return undefined;
  }
}

/** A worker's message, or undefined for anything else on the channel. */
export function parseFromWorker(msg: unknown): FromWorker | undefined {
  if (!isObject(msg) || msg['rolegate'] !== 1) return undefined;
  switch (msg['kind']) {
    case 'serving':
      if (!str(msg['hash']) || !port(msg['grpcPort'])) return undefined;
      if (msg['httpPort'] !== undefined && !port(msg['httpPort'])) return undefined;
      return {
        rolegate: 1,
        kind: 'serving',
        hash: msg['hash'],
        grpcPort: msg['grpcPort'],
        ...(port(msg['httpPort']) ? { httpPort: msg['httpPort'] } : {}),
      };
    case 'loaded':
      if (!str(msg['hash']) || typeof msg['ok'] !== 'boolean') return undefined;
      return { rolegate: 1, kind: 'loaded', hash: msg['hash'], ok: msg['ok'] };
    case 'metrics':
      if (!id(msg['id']) || !Array.isArray(msg['metrics'])) return undefined;
      return {
        rolegate: 1,
        kind: 'metrics',
        id: msg['id'],
        metrics: (msg['metrics'] as unknown[]).filter(isMetricJson),
      };
    case 'iam-read': {
      const request = msg['request'];
      if (!id(msg['id']) || !isObject(request)) return undefined;
      return { rolegate: 1, kind: 'iam-read', id: msg['id'], request };
    }
    case 'failed':
      if (!str(msg['code']) || !str(msg['message'])) return undefined;
      return { rolegate: 1, kind: 'failed', code: msg['code'], message: msg['message'] };
    default:
      return undefined;
  }
}

function isMetricJson(v: unknown): v is MetricJson {
  return isObject(v) && str(v['name']) && str(v['type']) && Array.isArray(v['values']);
}
