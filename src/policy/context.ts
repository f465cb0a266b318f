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
 * The engine's context implementation. Values are kept as supplied and
 * turned into string lists on first lookup, since a request usually carries
 * more keys than its candidate statements read. The `last*` fields are
 * one-entry caches of parsed request values (the same IP or date is usually
 * tested by several statements); they live and die with this request's
 * context.
 */
export class RequestContext implements EvaluationContext {
  /** Lower-cased key -> value as supplied (an array = multivalued). */
  readonly #raw: Map<string, ContextValue>;
  #lists: Map<string, readonly string[]> | undefined;
  lastIpText: string | undefined;
  lastIp: unknown;
  lastDateText: string | undefined;
  lastDate: number | undefined;
  lastNumText: string | undefined;
  lastNum: number | undefined;

  constructor(raw: Map<string, ContextValue>) {
    this.#raw = raw;
    this.#lists = undefined;
    this.lastIpText = undefined;
    this.lastIp = undefined;
    this.lastDateText = undefined;
    this.lastDate = undefined;
    this.lastNumText = undefined;
    this.lastNum = undefined;
  }

  /** Lookup of an already lower-cased key (the compiler lower-cases every key). */
  lookup(lowerKey: string): readonly string[] | undefined {
    let list = this.#lists?.get(lowerKey);
    if (list !== undefined) return list;
    const raw = this.#raw.get(lowerKey);
    if (raw === undefined) return undefined;
    list = toList(raw);
    (this.#lists ??= new Map()).set(lowerKey, list);
    return list;
  }

  get(key: string): readonly string[] | undefined {
    return this.lookup(key.toLowerCase());
  }

  isMultiValued(key: string): boolean {
    return Array.isArray(this.#raw.get(key.toLowerCase()));
  }

  /** Lower-cased key names present in the context. */
  keys(): IterableIterator<string> {
    return this.#raw.keys();
  }
}

/**
 * Builds the context. Keys that differ only in case are merged (their values
 * concatenated, and the key becomes multivalued). `undefined` values are
 * skipped. Values are never mutated by the engine.
 */
export function buildContext(input: ContextInput): EvaluationContext {
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
  return new RequestContext(raw);
}
