/**
 * The Node flags rolegate runs with in production (the Dockerfile's
 * ENTRYPOINT, and every cluster worker: src/serve/worker-flags.ts). The
 * rolegate side of every benchmark and the soak runs with them; baselines
 * run with Node's defaults.
 */
import { ROLEGATE_GC_FLAGS } from '../../src/serve/worker-flags.js';

export const ROLEGATE_NODE_FLAGS: readonly string[] = ROLEGATE_GC_FLAGS;
