/**
 * The request context: built once per request, read by every statement.
 * Keys are lower-cased, values stringified (numbers in decimal, booleans as
 * "true"/"false"); a key supplied as an array is remembered as multivalued.
 */
import type { ContextInput, ContextValue, EvaluationContext } from './types.js';

function stringify(v: string | number | boolean): string {
  return typeof v === 'string' ? v : String(v);
}

type Scalar = string | number | boolean;

function toList(raw: ContextValue): readonly string[] {
  if (!Array.isArray(raw)) return [stringify(raw as Scalar)];
  const arr = raw as readonly Scalar[];
  const list = new Array<string>(arr.length);
  for (let i = 0; i < arr.length; i++) list[i] = stringify(arr[i] as Scalar);
  return list;
}

/**
 * Resolves a lower-cased context key to its value, or `undefined` when the
 * request has no such key. It must be pure: the same key always gives the
 * same value for the life of the context.
 */
export type ContextResolver = (lowerKey: string) => ContextValue | undefined;

/**
 * The engine's context implementation. Values are kept as supplied (or
 * resolved on first use) and turned into string lists on first lookup,
 * since a request usually carries far more keys than its candidate
 * statements read. The `last*` fields are one-entry caches of parsed
 * request values (the same IP or date is usually tested by several
 * statements); they live and die with this request's context.
 */
export class RequestContext implements EvaluationContext {
  /** Lower-cased key -> value as supplied (an array = multivalued). */
  readonly #raw: Map<string, ContextValue>;
  /** Keys not set here are looked up in the parent (see {@link extendContext}). */
  readonly #parent: RequestContext | undefined;
  /** Computes keys on demand (see {@link resolvingContext}). */
  readonly #resolve: ContextResolver | undefined;
  /** Keys the resolver said are absent. */
  #absent: Set<string> | undefined;
  #lists: Map<string, readonly string[]> | undefined;
  lastIpText: string | undefined;
  lastIp: unknown;
  lastDateText: string | undefined;
  lastDate: number | undefined;
  lastNumText: string | undefined;
  lastNum: number | undefined;

  constructor(raw: Map<string, ContextValue>, parent?: RequestContext, resolve?: ContextResolver) {
    this.#raw = raw;
    this.#parent = parent;
    this.#resolve = resolve;
    this.#absent = undefined;
    this.#lists = undefined;
    this.lastIpText = undefined;
    this.lastIp = undefined;
    this.lastDateText = undefined;
    this.lastDate = undefined;
    this.lastNumText = undefined;
    this.lastNum = undefined;
  }

  /** The value of a lower-cased key as supplied, resolving it at most once. */
  #rawValue(lowerKey: string): ContextValue | undefined {
    const raw = this.#raw.get(lowerKey);
    if (raw !== undefined || this.#resolve === undefined) return raw;
    if (this.#absent?.has(lowerKey)) return undefined;
    const resolved = this.#resolve(lowerKey);
    if (resolved === undefined) (this.#absent ??= new Set()).add(lowerKey);
    else this.#raw.set(lowerKey, resolved);
    return resolved;
  }

  /** Lookup of an already lower-cased key (the compiler lower-cases every key). */
  lookup(lowerKey: string): readonly string[] | undefined {
    let list = this.#lists?.get(lowerKey);
    if (list !== undefined) return list;
    const raw = this.#rawValue(lowerKey);
    if (raw === undefined) return this.#parent?.lookup(lowerKey);
    list = toList(raw);
    (this.#lists ??= new Map()).set(lowerKey, list);
    return list;
  }

  get(key: string): readonly string[] | undefined {
    return this.lookup(key.toLowerCase());
  }

  isMultiValued(key: string): boolean {
    const lower = key.toLowerCase();
    const raw = this.#rawValue(lower);
    if (raw === undefined) return this.#parent?.isMultiValued(lower) ?? false;
    return Array.isArray(raw);
  }
}

/**
 * A context whose keys are computed on demand by `resolve` (each at most
 * once): a caller with much request data (headers, claims, ...) pays only
 * for the keys the candidate statements read.
 */
export function resolvingContext(resolve: ContextResolver): EvaluationContext {
  return new RequestContext(new Map(), undefined, resolve);
}

/**
 * Builds the context. Keys that differ only in case are merged (their values
 * concatenated, and the key becomes multivalued). `undefined` values are
 * skipped. Values are never mutated by the engine.
 */
export function buildContext(input: ContextInput): EvaluationContext {
  return new RequestContext(normalizeKeys(input));
}

/**
 * A context that adds or replaces a few keys of `base` without copying it:
 * for evaluating one request under several roles, each with its own
 * session keys (`aws:PrincipalArn`, ...). A key set in `extra` hides the
 * base's value of that key entirely.
 */
export function extendContext(base: EvaluationContext, extra: ContextInput): EvaluationContext {
  if (!(base instanceof RequestContext)) {
    throw new TypeError('contexts must come from buildContext');
  }
  return new RequestContext(normalizeKeys(extra), base);
}

function normalizeKeys(input: ContextInput): Map<string, ContextValue> {
  const raw = new Map<string, ContextValue>();
  const keys = Object.keys(input);
  for (let i = 0; i < keys.length; i++) {
    const rawKey = keys[i] as string;
    const value = input[rawKey];
    if (value === undefined) continue;
    const key = rawKey.toLowerCase();
    const prev = raw.get(key);
    raw.set(key, prev === undefined ? value : [...toList(prev), ...toList(value)]);
  }
  return raw;
}
