/**
 * Node flags for cluster workers. A worker is a fresh V8 heap, so this is
 * the one place the young generation's size can still be chosen for it:
 * `--max-semi-space-size` is read only when a heap is created, never from
 * inside a running process (docs/performance.md).
 */

/** The semi-space size (MB) workers get unless the user chose one: short scavenges (docs/performance.md). */
export const WORKER_SEMI_SPACE_FLAG = '--max-semi-space-size=2';

/** A V8 semi-space flag in any spelling V8 accepts (dashes or underscores). */
const SEMI_SPACE = /^--(?:max|min)[-_]semi[-_]space[-_]size\b/;

/**
 * The `execArgv` to fork workers with: the primary's own flags (what
 * node:cluster passes by default), plus {@link WORKER_SEMI_SPACE_FLAG}
 * unless the primary's flags or `NODE_OPTIONS` (which workers inherit
 * through the environment) already set a semi-space size.
 */
export function workerExecArgv(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string[] {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  if (given.some((arg) => SEMI_SPACE.test(arg))) return [...execArgv];
  return [...execArgv, WORKER_SEMI_SPACE_FLAG];
}
