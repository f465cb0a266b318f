/**
 * The package's entry for starting rolegate in-process (tests, benchmarks,
 * embedding): the composition lives in `src/serve/`.
 */
export {
  startRolegate,
  STARTUP_KEYS_WAIT_MS,
  type Rolegate,
  type StartOptions,
} from './serve/start.js';
