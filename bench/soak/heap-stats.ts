/**
 * What the soak's heap evidence reads out of V8: bytes that reached the old
 * generation (from `v8.GCProfiler`'s per-collection heap statistics) and the
 * allocation sites of objects that outlived a scavenge (from the sampling
 * heap profiler run with objects collected by minor GCs left out).
 */
import type { GCProfilerResult } from 'node:v8';

/** One measured stretch of calls in the child. */
export interface HeapWindowReport {
  readonly calls: number;
  readonly scavenges: number;
  readonly majors: number;
  /** Bytes the scavenges moved into the old generation. */
  readonly promotedBytes: number;
  /** Bytes allocated straight into the old generation between collections (pretenured, large). */
  readonly directOldBytes: number;
  /** Main-thread time of the scavenges and of the major collections, ms. */
  readonly scavengeMs: number;
  readonly majorMs: number;
  /** Allocation sites of sampled objects that were not collected by a scavenge, largest first. */
  readonly sites: readonly SurvivingSite[];
  /** What the token cache did in the window (rolegate children only). */
  readonly tokenCache?: TokenCacheActivity;
  /** Where the child's resident memory is at the window's end. */
  readonly memory?: MemoryBreakdown;
}

/** A process's resident memory by part, in bytes (Linux: from /proc/self/status). */
export interface MemoryBreakdown {
  readonly rss: number;
  /** Pages mapped from files: the node binary and shared libraries, shared with other processes. */
  readonly rssFile: number;
  /** Anonymous pages: the V8 heap, native allocations, thread stacks. */
  readonly rssAnon: number;
  /** V8 heap: committed to the OS, and in use by live objects (after the last collection). */
  readonly heapCommitted: number;
  readonly heapUsed: number;
  /** Memory outside the heap that V8 knows of: Buffers and other array buffers. */
  readonly external: number;
  /** The token cache's own estimate of what it holds (rolegate children only). */
  readonly tokenCacheBytes?: number;
}

/** This process's {@link MemoryBreakdown} (zeros for the /proc figures off Linux). */
export function memoryBreakdown(
  readStatus: () => string,
  tokenCacheBytes?: number,
): MemoryBreakdown {
  let status = '';
  try {
    status = readStatus();
  } catch {
    status = '';
  }
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  };
  const usage = process.memoryUsage();
  return {
    rss: usage.rss,
    rssFile: kb('RssFile'),
    rssAnon: kb('RssAnon'),
    heapCommitted: usage.heapTotal,
    heapUsed: usage.heapUsed,
    external: usage.external,
    ...(tokenCacheBytes === undefined ? {} : { tokenCacheBytes }),
  };
}

/** Token cache counters over a window, read from rolegate's own metrics. */
export interface TokenCacheActivity {
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  /** New tokens its doorkeeper kept out of the full cache. */
  readonly refused: number;
}

/** An allocation site (the allocating function and the nearest caller outside node's internals). */
export interface SurvivingSite {
  readonly site: string;
  /** Sampled bytes that survived a scavenge (an estimate: sampling every 16 KiB). */
  readonly bytes: number;
}

type GcEntry = GCProfilerResult['statistics'][number];

// Every space outside the young generation: what a major collection has to mark.
const YOUNG = new Set(['new_space', 'new_large_object_space', 'read_only_space']);

function oldBytes(stats: GcEntry['beforeGC']): number {
  let sum = 0;
  for (const s of stats.heapSpaceStatistics) if (!YOUNG.has(s.spaceName)) sum += s.spaceUsedSize;
  return sum;
}

/** Sums a window's collections: promoted by scavenges, allocated old directly, time spent. */
export function oldGenerationStats(
  entries: readonly GcEntry[],
): Omit<HeapWindowReport, 'calls' | 'sites'> {
  let scavenges = 0;
  let majors = 0;
  let promotedBytes = 0;
  let directOldBytes = 0;
  let scavengeMs = 0;
  let majorMs = 0;
  let previousAfter: number | undefined;
  for (const e of entries) {
    const before = oldBytes(e.beforeGC);
    const after = oldBytes(e.afterGC);
    if (previousAfter !== undefined) directOldBytes += Math.max(0, before - previousAfter);
    previousAfter = after;
    // `cost` is in microseconds.
    if (e.gcType === 'Scavenge' || e.gcType === 'MinorMarkSweep') {
      scavenges++;
      scavengeMs += e.cost / 1000;
      promotedBytes += Math.max(0, after - before);
    } else if (e.gcType === 'MarkSweepCompact') {
      majors++;
      majorMs += e.cost / 1000;
    }
  }
  return { scavenges, majors, promotedBytes, directOldBytes, scavengeMs, majorMs };
}

/** The sampling heap profile as the inspector returns it (the parts read here). */
export interface SamplingProfile {
  readonly head: SamplingNode;
}
interface SamplingNode {
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly selfSize: number;
  readonly children: readonly SamplingNode[];
}

const frameName = (f: SamplingNode['callFrame']): string => {
  const file = f.url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^node:/, '');
  return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
};

const internal = (f: SamplingNode['callFrame']): boolean =>
  f.url === '' || f.url.startsWith('node:');

/**
 * Groups the sampled bytes by allocating function, with the nearest frame
 * of rolegate's own code (or a dependency) that led to it, when the
 * allocation happened in node's internals.
 */
export function survivingSites(profile: SamplingProfile, top: number): SurvivingSite[] {
  const bytes = new Map<string, number>();
  const walk = (node: SamplingNode, path: SamplingNode['callFrame'][]): void => {
    const frames = [...path, node.callFrame];
    if (node.selfSize > 0) {
      const own = node.callFrame;
      let caller: SamplingNode['callFrame'] | undefined;
      if (internal(own)) {
        for (let i = frames.length - 2; i >= 0; i--) {
          const f = frames[i];
          if (f !== undefined && !internal(f)) {
            caller = f;
            break;
          }
        }
      }
      const key = caller ? `${frameName(own)} <- ${frameName(caller)}` : frameName(own);
      bytes.set(key, (bytes.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, frames);
  };
  walk(profile.head, []);
  return [...bytes]
    .map(([site, b]) => ({ site, bytes: b }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, top);
}
