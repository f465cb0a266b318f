/**
 * Prometheus metrics (prom-client) in a registry of our own, so tests and
 * several servers in one process never collide.
 *
 * Naming follows the Prometheus conventions: a `rolegate_` prefix, the base
 * unit in the name (`_seconds`), `_total` on counters. Labels stay bounded:
 * `decision` is allow|deny, `reason` takes catalogue codes only, `result` a
 * fixed pair of words, `issuer` only the issuers the config lists, and
 * `cache` one of {@link CACHE_NAMES} (`tokens`, `sts_credentials`). No
 * subject, path, role session or other free-form value is ever a label.
 *
 * The AWS integration (src/aws/integration.ts) registers its STS and IAM
 * sync metrics in this same registry.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CacheHooks, CacheStats } from '../cache/expiring-lru.js';
import { createCheckRecorder, type CheckRecorder } from './check-recorder.js';

/** The `cache` label: the bounded caches rolegate keeps. */
export type CacheName = 'tokens' | 'sts_credentials';

/** Every {@link CacheName}, so each series exists (at zero) from the start. */
export const CACHE_NAMES: readonly CacheName[] = ['tokens', 'sts_credentials'];

/**
 * Size and eviction metrics of the bounded caches:
 * `rolegate_cache_entries{cache}`, `rolegate_cache_bytes{cache}` (gauges,
 * read from the live cache at each scrape), their bounds
 * `rolegate_cache_max_entries{cache}` and `rolegate_cache_max_bytes{cache}`,
 * `rolegate_cache_evictions_total{cache}`
 * `rolegate_cache_oversize_total{cache}` (entries refused because each
 * alone exceeded the byte bound) and `rolegate_cache_admissions_refused_total{cache}`
 * (new keys a full cache's doorkeeper kept out).
 */
export interface CacheMetrics {
  /** Counting callbacks to pass to the cache named `name`. */
  hooks(name: CacheName): Required<Pick<CacheHooks, 'onEvict' | 'onOversize' | 'onRefuse'>>;
  /** Reports `cache` as `name` from now on (a reload's new cache replaces the old one). */
  track(name: CacheName, cache: CacheStats): void;
}

/**
 * The active configuration generation:
 * `rolegate_config_info{hash}` (always 1, one series: the active hash),
 * `rolegate_config_last_reload_success_timestamp_seconds` and
 * `rolegate_config_last_reload_successful` (1, or 0 after a failed reload).
 */
export interface ConfigMetrics {
  /** A generation with `hash` became active at `epochMs` (the first load, or a reload). */
  applied(hash: string, epochMs: number): void;
  /** A reload failed; the last good generation stays active. */
  failed(): void;
}

/** `result` label values of the success/failure counters. */
export type Result = 'success' | 'failure';

export interface Metrics {
  readonly registry: Registry;
  /** `rolegate_check_total{decision,reason}`. */
  readonly checks: Counter<'decision' | 'reason'>;
  /** `rolegate_check_duration_seconds{decision}`. */
  readonly checkDuration: Histogram<'decision'>;
  /** `rolegate_config_reloads_total{result}`. */
  readonly configReloads: Counter<'result'>;
  /** Hash, time and result of the last (re)load of the configuration. */
  readonly config: ConfigMetrics;
  /** `rolegate_policy_statements`. */
  readonly policyStatements: Gauge;
  /** `rolegate_token_cache_lookups_total{result}`: result is `hit` or `miss`. */
  readonly tokenCache: Counter<'result'>;
  /** `rolegate_jwks_fetches_total{issuer,result}`: issuer is a configured issuer URL. */
  readonly jwksFetches: Counter<'issuer' | 'result'>;
  /** Sizes, evictions and refusals of the bounded caches. */
  readonly caches: CacheMetrics;
  /**
   * `rolegate_shadow_decisions_total{live,candidate}`: every Check evaluated
   * against a shadow candidate; `live` is allow|deny, `candidate`
   * allow|deny|error. Disagreements are the series where they differ. All
   * six series exist (at 0) from startup.
   */
  readonly shadowDecisions: Counter<'live' | 'candidate'>;
  /**
   * `rolegate_statement_matches_total{role,policy,statement}`: each
   * determining Allow or Deny statement of a decision (statement is the Sid
   * or `#<index>`). Values come only from the configuration's role, policy
   * and statement names, so the series are bounded by its size.
   */
  readonly statementMatches: Counter<'role' | 'policy' | 'statement'>;
  /**
   * Records one decided Check into `checks`, `checkDuration` and
   * `statementMatches` at a fraction of the per-call cost of updating them
   * directly; they show it at their next read (check-recorder.ts).
   */
  readonly recordCheck: CheckRecorder;
}

/** `candidate` values of `rolegate_shadow_decisions_total`. */
export const SHADOW_RESULTS = ['allow', 'deny', 'error'] as const;

/**
 * Histogram buckets for one Check, in seconds. A warm decision takes tens of
 * microseconds, so the low end is fine-grained; a token waiting on a key
 * fetch (at most `keys.maxWaitMs`, default 250 ms) lands in the top buckets.
 */
export const CHECK_DURATION_BUCKETS: readonly number[] = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5,
  1, 5,
];

/** Creates the metric set. `defaults` (default true) adds process metrics (`rolegate_process_*`, `rolegate_nodejs_*`). */
export function createMetrics(defaults = true): Metrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'rolegate_' });
  const outcome = (name: string, help: string): Counter<'result'> => {
    const counter = new Counter({
      name,
      help,
      labelNames: ['result'] as const,
      registers: [registry],
    });
    // Both series exist from the start, so rate() and alerts see a zero, not "no data".
    counter.inc({ result: 'success' }, 0);
    counter.inc({ result: 'failure' }, 0);
    return counter;
  };
  const tokenCache = new Counter({
    name: 'rolegate_token_cache_lookups_total',
    help: 'Verified-token cache lookups, by result (hit|miss).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  tokenCache.inc({ result: 'hit' }, 0);
  tokenCache.inc({ result: 'miss' }, 0);
  const shadowDecisions = new Counter({
    name: 'rolegate_shadow_decisions_total',
    help: 'Checks also evaluated against the shadow candidate configuration, by live decision (allow|deny) and candidate result (allow|deny|error).',
    labelNames: ['live', 'candidate'] as const,
    registers: [registry],
  });
  for (const live of ['allow', 'deny'])
    for (const candidate of SHADOW_RESULTS) shadowDecisions.inc({ live, candidate }, 0);
  const statementMatches = new Counter({
    name: 'rolegate_statement_matches_total',
    help: 'Determining Allow and Deny statements of decisions, by role name, policy name and statement (Sid or #index).',
    labelNames: ['role', 'policy', 'statement'] as const,
    registers: [registry],
  });
  const checks = new Counter({
    name: 'rolegate_check_total',
    help: 'Authorization decisions, by decision (allow|deny) and reason (catalogue code, OK for an allow).',
    labelNames: ['decision', 'reason'] as const,
    registers: [registry],
  });
  const checkDuration = new Histogram({
    name: 'rolegate_check_duration_seconds',
    help: 'Time to decide one Check call, from receipt to response, in seconds.',
    labelNames: ['decision'] as const,
    buckets: [...CHECK_DURATION_BUCKETS],
    registers: [registry],
  });
  return {
    shadowDecisions,
    statementMatches,
    recordCheck: createCheckRecorder(
      checks,
      checkDuration,
      statementMatches,
      CHECK_DURATION_BUCKETS,
    ),
    checks,
    checkDuration,
    caches: createCacheMetrics(registry),
    config: createConfigMetrics(registry),
    registry,
    configReloads: outcome(
      'rolegate_config_reloads_total',
      'Configuration reloads, by result (success|failure).',
    ),
    policyStatements: new Gauge({
      name: 'rolegate_policy_statements',
      help: 'Policy statements in the active configuration.',
      registers: [registry],
    }),
    tokenCache,
    jwksFetches: new Counter({
      name: 'rolegate_jwks_fetches_total',
      help: 'JWKS (and OpenID discovery) fetches, by configured issuer and result (success|failure).',
      labelNames: ['issuer', 'result'] as const,
      registers: [registry],
    }),
  };
}

function createConfigMetrics(registry: Registry): ConfigMetrics {
  const info = new Gauge({
    name: 'rolegate_config_info',
    help: 'The active configuration: always 1, labelled with the hash of the config text and the files it references.',
    labelNames: ['hash'] as const,
    registers: [registry],
  });
  const lastSuccess = new Gauge({
    name: 'rolegate_config_last_reload_success_timestamp_seconds',
    help: 'Time the active configuration was loaded (epoch seconds): at startup, then at each successful reload.',
    registers: [registry],
  });
  const successful = new Gauge({
    name: 'rolegate_config_last_reload_successful',
    help: 'Whether the last configuration (re)load succeeded (1) or failed and the last good one was kept (0).',
    registers: [registry],
  });
  return {
    applied(hash, epochMs) {
      info.reset(); // one series: the previous generation's hash goes
      info.set({ hash }, 1);
      lastSuccess.set(epochMs / 1000);
      successful.set(1);
    },
    failed() {
      successful.set(0);
    },
  };
}

function createCacheMetrics(registry: Registry): CacheMetrics {
  const sources = new Map<CacheName, CacheStats>();
  const gauge = (name: string, help: string, read: (c: CacheStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['cache'] as const,
      registers: [registry],
      collect() {
        for (const cache of CACHE_NAMES) {
          const source = sources.get(cache);
          this.set({ cache }, source === undefined ? 0 : read(source));
        }
      },
    });
  gauge('rolegate_cache_entries', 'Entries held by each bounded cache.', (c) => c.size);
  gauge(
    'rolegate_cache_bytes',
    'Estimated bytes held by each bounded cache (JSON length of the values plus a fixed overhead per entry).',
    (c) => c.bytes,
  );
  // The bounds in force: summed over a cluster's workers, the configured bound (docs/workers.md).
  gauge(
    'rolegate_cache_max_entries',
    'Entry bound of each bounded cache in this process (0 until the cache exists, or caching off).',
    (c) => c.maxEntries,
  );
  gauge(
    'rolegate_cache_max_bytes',
    'Byte bound of each bounded cache in this process (0 until the cache exists, or caching off).',
    (c) => c.maxBytes,
  );
  const counter = (name: string, help: string) => {
    const c = new Counter({ name, help, labelNames: ['cache'] as const, registers: [registry] });
    for (const cache of CACHE_NAMES) c.inc({ cache }, 0);
    return c;
  };
  const evictions = counter(
    'rolegate_cache_evictions_total',
    'Live entries evicted (least recently used first) to keep a cache within its entry and byte bounds.',
  );
  const oversize = counter(
    'rolegate_cache_oversize_total',
    'Entries not cached because each alone was larger than the cache byte bound.',
  );
  const refused = counter(
    'rolegate_cache_admissions_refused_total',
    'New keys not cached because the cache was full and they had not been offered before within the last cache-size new keys (the token cache admits on a second sighting).',
  );
  return {
    hooks: (cache) => ({
      onEvict: () => evictions.inc({ cache }),
      onOversize: () => oversize.inc({ cache }),
      onRefuse: () => refused.inc({ cache }),
    }),
    track(cache, stats) {
      sources.set(cache, stats);
    },
  };
}

/** Workers of a cluster primary by state, read at each scrape. */
export interface WorkerCounts {
  /** Serving the generation the primary validated last. */
  readonly serving: number;
  /** Serving another generation. */
  readonly stale: number;
  /** Forked, not yet serving. */
  readonly starting: number;
}

/**
 * The series only a cluster primary exports (docs/workers.md), in its own
 * registry beside {@link createMetrics}'s: `rolegate_workers{state}`,
 * `rolegate_worker_restarts_total`, and `rolegate_iam_reads_total{result}`,
 * registered at the first IAM read so a deployment without `aws.iam`
 * exports none.
 */
export interface PrimaryMetrics {
  /** Reports the workers `counts` gives from now on (all zero until then). */
  trackWorkers(counts: () => WorkerCounts): void;
  /** A worker exited unexpectedly and was replaced. */
  restarted(): void;
  /** The primary read IAM for its workers. */
  iamRead(ok: boolean): void;
}

/** Registers the primary's series in `registry`. */
export function createPrimaryMetrics(registry: Registry): PrimaryMetrics {
  let workers = (): WorkerCounts => ({ serving: 0, stale: 0, starting: 0 });
  new Gauge({
    name: 'rolegate_workers',
    help: 'Worker processes by state: serving (the generation the primary validated last), stale (another generation), starting.',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const counts = workers();
      this.set({ state: 'serving' }, counts.serving);
      this.set({ state: 'stale' }, counts.stale);
      this.set({ state: 'starting' }, counts.starting);
    },
  });
  const restarts = new Counter({
    name: 'rolegate_worker_restarts_total',
    help: 'Workers that exited unexpectedly and were replaced.',
    registers: [registry],
  });
  restarts.inc(0);
  let iamReads: Counter<'result'> | undefined;
  return {
    trackWorkers(counts) {
      workers = counts;
    },
    restarted: () => restarts.inc(),
    iamRead(ok) {
      if (iamReads === undefined) {
        iamReads = new Counter({
          name: 'rolegate_iam_reads_total',
          help: 'Reads of AWS IAM made by the primary for all workers (each worker still counts its own syncs in rolegate_iam_syncs_total), by result (success|failure).',
          labelNames: ['result'] as const,
          registers: [registry],
        });
        // Both series from the first read on, so rate() sees a zero.
        iamReads.inc({ result: 'success' }, 0);
        iamReads.inc({ result: 'failure' }, 0);
      }
      iamReads.inc({ result: ok ? 'success' : 'failure' });
    },
  };
}
