/**
 * rolegate's AWS IAM policy engine. Pure: no I/O, no clock, no globals.
 *
 *   parsePolicyText → compilePolicy (once per document) → createPolicySet
 *   (once per role) → buildContext + evaluate (per request).
 */
export { parsePolicyText, type ParseResult } from './parse.js';
export { compilePolicy, type CompileOptions } from './compile.js';
export { contextKeysRead, createPolicySet, evaluate, explainRequest } from './evaluate.js';
export { buildContext, extendContext, resolvingContext, type ContextResolver } from './context.js';
export { formatDiagnostic } from './diagnostics.js';
export { DEFAULT_KEY_REGISTRY, type KeyRegistry } from './keys.js';
export { OPERATORS } from './conditions.js';
export type * from './types.js';
