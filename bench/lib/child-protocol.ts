/**
 * Child side of the bench server protocol (see bench/lib/README.md).
 *
 * stdout (one line each, nothing else on stdout):
 *   HEADER <name>: <value>   optional, before PORT: header for the bench request
 *   PATH <path>              optional, before PORT: :path of the bench request
 *   METHOD <method>          optional, before PORT: :method of the bench request
 *   PORT <n>                 once listening on 127.0.0.1:<n> (h2c gRPC)
 *   COUNTS <allow> <deny>    reply to the stdin line `counts`
 *   STATS <json>             reply to the stdin line `stats`: {@link ChildStats}
 * stdin: `counts` → COUNTS line; `stats` → STATS line; EOF → exit.
 * SIGTERM/SIGINT → exit.
 * Logs go to stderr.
 */
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

export interface DecisionCounts {
  readonly allow: number;
  readonly deny: number;
}

export interface ChildAnnouncement {
  readonly port: number;
  /** Cumulative decision counters, read on each `counts` request. */
  readonly counts: () => DecisionCounts;
  /** Extra request headers the load generator must send (e.g. authorization). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly path?: string;
  readonly method?: string;
  /** Called before exiting (stdin EOF or signal). */
  readonly shutdown?: () => void | Promise<void>;
}

/**
 * Resource figures of a bench child, read on each `stats` request. CPU and
 * RSS are cumulative / current; GC pauses are those since the previous
 * `stats` request, so the parent brackets a round with two requests.
 */
export interface ChildStats {
  /** User + system CPU time of the process since start, microseconds. */
  readonly cpuUs: number;
  /** Resident set size now, bytes. */
  readonly rss: number;
  /** V8 heap used now, bytes. */
  readonly heapUsed: number;
  /** Each GC pause (PerformanceObserver 'gc' entry) since the last request, microseconds. */
  readonly gcPausesUs: readonly number[];
  /** Of those, how many were major (mark-compact) collections. */
  readonly gcMajor: number;
}

let gcPauses: number[] = [];
let gcMajor = 0;
let gcObserver: PerformanceObserver | undefined;

/** Start collecting GC pauses (idempotent). */
function observeGc(): void {
  if (gcObserver) return;
  gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcPauses.push(Math.round(e.duration * 1000));
      // detail.kind is one of perf_hooks' NODE_PERFORMANCE_GC_* (major is 4, not 2).
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gcMajor++;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
}

/** This process's {@link ChildStats}; resets the GC pause list. */
export function childStats(): ChildStats {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  const stats: ChildStats = {
    cpuUs: cpu.user + cpu.system,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    gcPausesUs: gcPauses,
    gcMajor,
  };
  gcPauses = [];
  gcMajor = 0;
  return stats;
}

/** Announce a listening bench server to the parent and serve `counts` requests. */
export function announceToParent(a: ChildAnnouncement): void {
  const out: string[] = [];
  for (const [name, value] of Object.entries(a.headers ?? {})) {
    if (/[\r\n]/.test(name + value)) throw new Error(`bench header ${name} contains a newline`);
    out.push(`HEADER ${name}: ${value}`);
  }
  if (a.path !== undefined) out.push(`PATH ${a.path}`);
  if (a.method !== undefined) out.push(`METHOD ${a.method}`);
  out.push(`PORT ${a.port}`);
  process.stdout.write(out.join('\n') + '\n');
  observeGc();

  let exiting = false;
  const exit = (): void => {
    if (exiting) return;
    exiting = true;
    Promise.resolve(a.shutdown?.())
      .catch((err: unknown) => console.error('bench child shutdown failed:', err))
      .finally(() => process.exit(0));
  };
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === 'counts') {
      const c = a.counts();
      process.stdout.write(`COUNTS ${c.allow} ${c.deny}\n`);
    } else if (line.trim() === 'stats') {
      process.stdout.write(`STATS ${JSON.stringify(childStats())}\n`);
    }
  });
  lines.on('close', exit);
  process.once('SIGTERM', exit);
  process.once('SIGINT', exit);
}
