/** Bounded waits for shutdown and drain steps that must never hang a process. */

/**
 * Resolves when `work` settles or after `ms`, whichever comes first: true when
 * `work` settled in time (fulfilled or rejected), false on the timeout. Never
 * rejects, and leaves no timer behind.
 */
export async function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
