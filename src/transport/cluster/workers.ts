/**
 * How many worker processes `rolegate serve` runs: `ROLEGATE_WORKERS`
 * (an integer >= 1, or `auto`), else `server.workers`, else the CPUs this
 * process may use ({@link usableCpus}). 1 means no cluster at all.
 */
import { RolegateError } from '../../errors.js';
import { usableCpus } from './cpus.js';

/** The environment variable that overrides `server.workers`. */
export const WORKERS_ENV = 'ROLEGATE_WORKERS';

/** The most workers rolegate starts, whatever is asked. */
export const MAX_WORKERS = 256;

/**
 * The worker count. `configured` is `server.workers` (undefined: not set);
 * `cpus` is called only when the count is automatic. Throws
 * `ERR_WORKERS_INVALID` for an environment value that is neither `auto`
 * nor an integer from 1 to {@link MAX_WORKERS}.
 */
export function resolveWorkers(
  configured: number | undefined,
  env: Readonly<Record<string, string | undefined>>,
  cpus: () => number = () => usableCpus(),
): number {
  const raw = env[WORKERS_ENV]?.trim();
  if (raw === undefined || raw === '') return configured ?? Math.min(cpus(), MAX_WORKERS);
  if (raw === 'auto') return Math.min(cpus(), MAX_WORKERS);
  const n = /^\d{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_WORKERS)) {
    throw new RolegateError(
      'ERR_WORKERS_INVALID',
      `${WORKERS_ENV}=${JSON.stringify(raw)} is not auto or an integer from 1 to ${MAX_WORKERS}`,
    );
  }
  return n;
}
