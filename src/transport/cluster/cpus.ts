/**
 * How many CPUs this process may use: the scheduler affinity
 * (`os.availableParallelism()`) capped by a cgroup CPU quota (v2 `cpu.max`,
 * v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`), never less than 1. A
 * container limited to 1.5 CPUs on a 64-core host gets 1, not 64: more
 * workers than the quota allows only adds throttling and memory.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Reads a file's text, or undefined when it does not exist or cannot be read. */
export type ReadText = (file: string) => string | undefined;

/** What {@link usableCpus} reads; the defaults read the real system. */
export interface CpuSources {
  /** CPUs in the process's affinity mask. Default `os.availableParallelism()`. */
  readonly affinity?: number;
  /** Default: `fs.readFileSync(file, 'utf8')`, undefined on any error. */
  readonly readText?: ReadText;
}

const readReal: ReadText = (file) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

/** CPUs granted by a v2 `cpu.max` line (`<quota|max> <period>`); undefined = no limit. */
export function parseCpuMax(text: string | undefined): number | undefined {
  const [quota, period = '100000'] = (text ?? '').trim().split(/\s+/);
  if (quota === undefined || quota === '' || quota === 'max') return undefined;
  return quotaCpus(Number(quota), Number(period));
}

/** CPUs granted by v1 `cpu.cfs_quota_us` (-1 = no limit) and `cpu.cfs_period_us`. */
export function parseCfs(
  quotaText: string | undefined,
  periodText: string | undefined,
): number | undefined {
  if (quotaText === undefined) return undefined;
  return quotaCpus(Number(quotaText.trim()), Number((periodText ?? '100000').trim()));
}

function quotaCpus(quota: number, period: number): number | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) {
    return undefined;
  }
  return quota / period;
}

/**
 * The v2 cgroup directories of this process, innermost first: a quota on
 * any ancestor limits it too. `/proc/self/cgroup` names the path under
 * `/sys/fs/cgroup` (a container sees its own cgroup as `/`).
 */
function v2Dirs(readText: ReadText): string[] {
  const line = (readText('/proc/self/cgroup') ?? '').split('\n').find((l) => l.startsWith('0::'));
  const path = (line?.slice(3) ?? '/').trim();
  const parts = path.split('/').filter((p) => p !== '' && p !== '..');
  const dirs: string[] = [];
  for (let i = parts.length; i >= 0; i--) {
    dirs.push(['/sys/fs/cgroup', ...parts.slice(0, i)].join('/'));
  }
  return dirs;
}

/** The tightest cgroup CPU quota in CPUs (fractional), or undefined without one. */
export function cgroupCpuLimit(readText: ReadText = readReal): number | undefined {
  const limits: number[] = [];
  for (const dir of v2Dirs(readText)) {
    const cpus = parseCpuMax(readText(`${dir}/cpu.max`));
    if (cpus !== undefined) limits.push(cpus);
  }
  for (const dir of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
    const cpus = parseCfs(
      readText(`${dir}/cpu.cfs_quota_us`),
      readText(`${dir}/cpu.cfs_period_us`),
    );
    if (cpus !== undefined) limits.push(cpus);
  }
  return limits.length === 0 ? undefined : Math.min(...limits);
}

/**
 * CPUs this process may use: the affinity, capped by the cgroup quota
 * rounded down (a quota of 1.5 CPUs runs 1 worker), at least 1.
 */
export function usableCpus(sources: CpuSources = {}): number {
  const affinity = Math.max(1, Math.floor(sources.affinity ?? availableParallelism()));
  const limit = cgroupCpuLimit(sources.readText ?? readReal);
  return limit === undefined ? affinity : Math.max(1, Math.min(affinity, Math.floor(limit)));
}
