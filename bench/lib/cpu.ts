/** CPU pinning for the bench: server on one core, load generator on another. */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

let tasksetOk: boolean | undefined;

function hasTaskset(): boolean {
  tasksetOk ??= spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0;
  return tasksetOk;
}

export interface Pinning {
  readonly server?: number;
  readonly loadgen?: number;
  /** Why pinning is off, when it is. */
  readonly note?: string;
}

/** Server on core 0, h2load on core 1, when taskset and 2+ cores exist. */
export function defaultPinning(): Pinning {
  if (availableParallelism() < 2) return { note: 'fewer than 2 cores: not pinned' };
  if (!hasTaskset()) return { note: 'taskset not found: not pinned' };
  return { server: 0, loadgen: 1 };
}

/** [command, args] running `cmd args` pinned to `core` (unpinned if undefined). */
export function taskset(
  core: number | undefined,
  cmd: string,
  args: readonly string[],
): [string, string[]] {
  if (core === undefined) return [cmd, [...args]];
  return ['taskset', ['-c', String(core), cmd, ...args]];
}
