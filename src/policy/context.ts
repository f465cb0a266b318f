/**
 * The request context: built once per request, read by every statement.
 * Keys are lower-cased, values stringified (numbers in decimal, booleans as
 * "true"/"false"); a key supplied as an array is remembered as multivalued.
 */
import type { ContextInput, ContextValue, EvaluationContext } from './types.js';

function stringify(v: string | number | boolean): string {
  return typeof v === 'string' ? v : String(v);
}

/** The engine's context implementation; `memo` caches parsed values (dates, IPs) for this request only. */
export class RequestContext implements EvaluationContext {
  readonly #values: Map<string, readonly string[]>;
  readonly #multi: Set<string>;
  /** Per-request parse cache, keyed by operator family then lower-cased key. */
  memo: Map<string, unknown> | undefined;

  constructor(values: Map<string, readonly string[]>, multi: Set<string>) {
    this.#values = values;
    this.#multi = multi;
    this.memo = undefined;
  }

  get(key: string): readonly string[] | undefined {
    const v = this.#values.get(key);
    if (v !== undefined) return v;
    const lower = key.toLowerCase();
    return lower === key ? undefined : this.#values.get(lower);
  }

  isMultiValued(key: string): boolean {
    return this.#multi.has(key.toLowerCase());
  }

  /** Lower-cased key names present in the context. */
  keys(): IterableIterator<string> {
    return this.#values.keys();
  }
}

/**
 * Builds the context. Keys that differ only in case are merged (their values
 * concatenated, and the key becomes multivalued). `undefined` values are skipped.
 */
export function buildContext(input: ContextInput): EvaluationContext {
  const values = new Map<string, readonly string[]>();
  const multi = new Set<string>();
  for (const rawKey of Object.keys(input)) {
    const raw: ContextValue | undefined = input[rawKey];
    if (raw === undefined) continue;
    const key = rawKey.toLowerCase();
    let list: string[];
    if (Array.isArray(raw)) {
      list = (raw as readonly (string | number | boolean)[]).map(stringify);
      multi.add(key);
    } else {
      list = [stringify(raw as string | number | boolean)];
    }
    const prev = values.get(key);
    if (prev !== undefined) {
      list = [...prev, ...list];
      multi.add(key);
    }
    values.set(key, Object.freeze(list));
  }
  return new RequestContext(values, multi);
}
