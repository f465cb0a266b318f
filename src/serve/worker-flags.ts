/**
 * The V8 flags rolegate runs with: in the container image's entrypoint, in
 * every bench and the soak, and added to each cluster worker. A worker is a
 * fresh V8 heap, so forking is the one place they can still be chosen for
 * it: these flags are read only when a heap is created, never from inside a
 * running process (docs/performance.md, "GC flags the image ships").
 */

/**
 * The flags, each with why (measured in docs/performance.md):
 * - `--max-semi-space-size=2`: a 2 MB young generation keeps each scavenge
 *   near a millisecond;
 * - `--no-allocation-site-pretenuring`: V8 otherwise starts allocating
 *   node:http2's per-stream objects straight into old space once a burst
 *   made them survive, where each call's die and fill the old generation;
 *   off, rolegate's old-space inflow per Check fell by about 40 %;
 * - `--single-threaded-gc`: with one event loop per core (`server.workers`)
 *   V8's background GC threads only take the core from the loop at moments
 *   no one chose; on one core the soak's windows with an event-loop stall
 *   above 25 ms went from 14 of 25 to 6 of 25 at the same throughput.
 */
export const ROLEGATE_GC_FLAGS: readonly string[] = [
  '--max-semi-space-size=2',
  '--no-allocation-site-pretenuring',
  '--single-threaded-gc',
];

/** Each flag's option in any spelling V8 accepts (dashes or underscores, `--no-` or not). */
const SAME_OPTION: readonly RegExp[] = [
  /^--(?:max|min)[-_]semi[-_]space[-_]size\b/,
  /^--(?:no[-_])?allocation[-_]site[-_]pretenuring\b/,
  /^--(?:no[-_])?single[-_]threaded[-_]gc\b/,
];

/**
 * The `execArgv` to fork workers with: the primary's own flags (what
 * node:cluster passes by default), plus each of {@link ROLEGATE_GC_FLAGS}
 * whose option the primary's flags or `NODE_OPTIONS` (which workers inherit
 * through the environment) do not already set.
 */
export function workerExecArgv(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string[] {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  const added = ROLEGATE_GC_FLAGS.filter(
    (_, i) => !given.some((arg) => SAME_OPTION[i]?.test(arg) === true),
  );
  return [...execArgv, ...added];
}
