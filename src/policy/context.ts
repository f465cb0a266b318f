/**
 * The request context: built once per request, read by every statement.
 * Keys are lower-cased, values stringified (numbers in decimal, booleans as
 * "true"/"false"); a key supplied as an array is remembered as multivalued.
 */
import type { ContextInput, ContextValue, EvaluationContext } from './types.js';

function stringify(v: string | number | boolean): string {
  return typeof v === 'string' ? v : String(v);
}

/**
 * The engine's context implementation. The `last*` fields are one-entry
 * caches of parsed request values (the same IP or date is usually tested by
 * several statements); they live and die with this request's context.
 */
export class RequestContext implements EvaluationContext {
  readonly #values: Map<string, readonly string[]>;
  readonly #multi: Set<string>;
  lastIpText: string | undefined;
  lastIp: unknown;
  lastDateText: string | undefined;
  lastDate: number | undefined;
  lastNumText: string | undefined;
  lastNum: number | undefined;

  constructor(values: Map<string, readonly string[]>, multi: Set<string>) {
    this.#values = values;
    this.#multi = multi;
    this.lastIpText = undefined;
    this.lastIp = undefined;
    this.lastDateText = undefined;
    this.lastDate = undefined;
    this.lastNumText = undefined;
    this.lastNum = undefined;
  }

  /** Lookup of an already lower-cased key (the compiler lower-cases every key). */
  lookup(lowerKey: string): readonly string[] | undefined {
    return this.#values.get(lowerKey);
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
 * concatenated, and the key becomes multivalued). `undefined` values are
 * skipped. The value lists are typed readonly and never mutated by the engine.
 */
export function buildContext(input: ContextInput): EvaluationContext {
  const values = new Map<string, readonly string[]>();
  const multi = new Set<string>();
  for (const rawKey in input) {
    if (!Object.hasOwn(input, rawKey)) continue;
    const raw: ContextValue | undefined = input[rawKey];
    if (raw === undefined) continue;
    const key = rawKey.toLowerCase();
    let list: string[];
    if (Array.isArray(raw)) {
      const arr = raw as readonly (string | number | boolean)[];
      list = new Array<string>(arr.length);
      for (let i = 0; i < arr.length; i++) list[i] = stringify(arr[i] as string | number | boolean);
      multi.add(key);
    } else {
      list = [stringify(raw as string | number | boolean)];
    }
    const prev = values.get(key);
    if (prev !== undefined) {
      list = [...prev, ...list];
      multi.add(key);
    }
    values.set(key, list);
  }
  return new RequestContext(values, multi);
}
