import { describe, expect, it } from '@jest/globals';
import {
  cgroupCpuLimit,
  parseCfs,
  parseCpuMax,
  usableCpus,
  type ReadText,
} from '../../../../src/transport/cluster/cpus.js';

/** A file system holding exactly `files`. */
const files =
  (files: Record<string, string>): ReadText =>
  (file) =>
    files[file];

describe('parseCpuMax (cgroup v2)', () => {
  it('reads quota/period as CPUs, max as no limit', () => {
    expect(parseCpuMax('200000 100000\n')).toBe(2);
    expect(parseCpuMax('150000 100000')).toBe(1.5);
    expect(parseCpuMax('50000 100000')).toBe(0.5);
    expect(parseCpuMax('max 100000\n')).toBeUndefined();
    expect(parseCpuMax(undefined)).toBeUndefined();
    expect(parseCpuMax('')).toBeUndefined();
  });
  it('ignores unreadable values instead of guessing', () => {
    expect(parseCpuMax('abc 100000')).toBeUndefined();
    expect(parseCpuMax('100000 0')).toBeUndefined();
    expect(parseCpuMax('-1 100000')).toBeUndefined();
  });
});

describe('parseCfs (cgroup v1)', () => {
  it('reads cfs_quota_us/cfs_period_us, -1 as no limit', () => {
    expect(parseCfs('300000\n', '100000\n')).toBe(3);
    expect(parseCfs('-1\n', '100000\n')).toBeUndefined();
    expect(parseCfs(undefined, '100000')).toBeUndefined();
  });
});

describe('cgroupCpuLimit', () => {
  it('finds the tightest quota on the process cgroup path and its ancestors', () => {
    const read = files({
      '/proc/self/cgroup': '0::/kubepods/pod1/ctr\n',
      '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': 'max 100000',
      '/sys/fs/cgroup/kubepods/pod1/cpu.max': '250000 100000',
      '/sys/fs/cgroup/kubepods/cpu.max': '800000 100000',
    });
    expect(cgroupCpuLimit(read)).toBe(2.5);
  });
  it('reads the root cgroup when /proc/self/cgroup names none (a container sees /)', () => {
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '100000 100000' }))).toBe(1);
  });
  it('reads v1 under cpu and cpu,cpuacct', () => {
    expect(
      cgroupCpuLimit(
        files({
          '/proc/self/cgroup': '2:cpu,cpuacct:/\n',
          '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '200000',
          '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000',
        }),
      ),
    ).toBe(2);
  });
  it('is undefined without any quota', () => {
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': 'max 100000' }))).toBeUndefined();
    expect(cgroupCpuLimit(files({}))).toBeUndefined();
  });
});

describe('usableCpus', () => {
  it('is the affinity when there is no quota', () => {
    expect(usableCpus({ affinity: 8, readText: files({}) })).toBe(8);
  });
  it('caps the affinity by the quota, rounded down', () => {
    const quota = (q: string) => files({ '/sys/fs/cgroup/cpu.max': `${q} 100000` });
    expect(usableCpus({ affinity: 64, readText: quota('150000') })).toBe(1);
    expect(usableCpus({ affinity: 64, readText: quota('400000') })).toBe(4);
    expect(usableCpus({ affinity: 2, readText: quota('400000') })).toBe(2);
  });
  it('never goes below 1', () => {
    const half = files({ '/sys/fs/cgroup/cpu.max': '50000 100000' });
    expect(usableCpus({ affinity: 4, readText: half })).toBe(1);
    expect(usableCpus({ affinity: 0, readText: files({}) })).toBe(1);
  });
  it('reads the real system by default: at least 1 CPU', () => {
    expect(usableCpus()).toBeGreaterThanOrEqual(1);
  });
});
