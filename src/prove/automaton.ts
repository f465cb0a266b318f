/**
 * Exact partitions of a string domain. Every string predicate the prover
 * meets (StringEquals constants, StringLike and ARN globs, route path
 * templates, a route and a resource pattern together) is a regular
 * language, written here as a token list. Breadth-first search over the
 * product of their subset automata visits every combination of verdicts
 * the predicates can give to one string and keeps the shortest string for
 * each: one representative per cell of the partition, and no cell missed.
 * A character that no token names behaves like any other such character,
 * so the alphabet is the named characters plus one fresh character.
 */
import { ProveUnknown } from './unknown.js';

/** One position of a pattern: a character test, taken once, any number of times, or at most once. */
export interface Token {
  readonly test: (c: string) => boolean;
  readonly repeat: 'one' | 'star' | 'opt';
  /** The characters this token names (added to the alphabet). */
  readonly names: readonly string[];
}

/** A pattern matched against a whole string. */
export type Tokens = readonly Token[];

/** A set of NFA positions, as a sorted array (its text is its identity). */
export type Positions = readonly number[];

const anyChar = (): boolean => true;

/** The token for one literal character; `ignoreCase` also names its other case. */
export function literal(c: string, ignoreCase = false): Token {
  if (!ignoreCase) return { test: (x) => x === c, repeat: 'one', names: [c] };
  const lower = c.toLowerCase();
  return {
    test: (x) => x.toLowerCase() === lower,
    repeat: 'one',
    names: [...new Set([c, lower, c.toUpperCase()])],
  };
}

/** A literal string (StringEquals, a route's fixed text). */
export function literalTokens(text: string, ignoreCase = false): Token[] {
  return [...text].map((c) => literal(c, ignoreCase));
}

/** An IAM glob: `*` any run, `?` one character, anything else literal (case-sensitive). */
export function globTokens(text: string): Token[] {
  return [...text].map((c): Token => {
    if (c === '*') return { test: anyChar, repeat: 'star', names: [] };
    if (c === '?') return { test: anyChar, repeat: 'one', names: [] };
    return literal(c);
  });
}

/** One or more characters passing `test` (a route parameter). */
export function plusTokens(test: (c: string) => boolean, names: readonly string[]): Token[] {
  return [
    { test, repeat: 'one', names },
    { test, repeat: 'star', names },
  ];
}

/** Adds the positions reachable without reading (past `*` and optional tokens). */
export function close(tokens: Tokens, from: Iterable<number>): Positions {
  const out = new Set<number>();
  const todo = [...from];
  while (todo.length > 0) {
    const i = todo.pop() as number;
    if (out.has(i)) continue;
    out.add(i);
    const t = tokens[i];
    if (t !== undefined && t.repeat !== 'one') todo.push(i + 1);
  }
  return [...out].sort((a, b) => a - b);
}

/** The positions after reading `c` from `from` (closed). */
export function step(tokens: Tokens, from: Positions, c: string): Positions {
  const next: number[] = [];
  for (const i of from) {
    const t = tokens[i];
    if (t === undefined || !t.test(c)) continue;
    next.push(t.repeat === 'star' ? i : i + 1);
  }
  return close(tokens, next);
}

/** The positions after reading `text` from `from`. */
export function run(tokens: Tokens, from: Positions, text: string): Positions {
  let s = from;
  for (const c of text) {
    if (s.length === 0) return s;
    s = step(tokens, s, c);
  }
  return s;
}

/** The start positions of `tokens`. */
export function start(tokens: Tokens): Positions {
  return close(tokens, [0]);
}

/** True when `from` holds the final position. */
export function accepting(tokens: Tokens, from: Positions): boolean {
  return from.includes(tokens.length);
}

/** True when `tokens` matches all of `text`. */
export function matches(tokens: Tokens, text: string): boolean {
  return accepting(tokens, run(tokens, start(tokens), text));
}

/**
 * A predicate on strings as a deterministic automaton over opaque states.
 * `key` names a state (equal keys, equal futures).
 */
export interface Predicate<S = unknown> {
  readonly init: S;
  step(state: S, c: string): S;
  accept(state: S): boolean;
  key(state: S): string;
  /** True when no continuation can be accepted (the predicate is false from here on). */
  dead(state: S): boolean;
  /** The characters it names. */
  readonly names: readonly string[];
}

/** `tokens` as a predicate; `prefix` is read before the string and `suffix` after it. */
export function tokenPredicate(tokens: Tokens, prefix = '', suffix = ''): Predicate<Positions> {
  return {
    init: run(tokens, start(tokens), prefix),
    step: (s, c) => step(tokens, s, c),
    accept: (s) => accepting(tokens, run(tokens, s, suffix)),
    key: (s) => s.join(','),
    dead: (s) => s.length === 0,
    names: [...tokens.flatMap((t) => t.names), ...prefix, ...suffix],
  };
}

/** Reads `prefix` first and `suffix` last: a predicate on the part of a string between them. */
export function quotient<S>(p: Predicate<S>, prefix: string, suffix: string): Predicate<S> {
  let init = p.init;
  for (const c of prefix) init = p.step(init, c);
  return {
    init,
    step: (s, c) => p.step(s, c),
    accept: (s) => {
      let t = s;
      for (const c of suffix) t = p.step(t, c);
      return p.accept(t);
    },
    key: (s) => p.key(s),
    dead: (s) => p.dead(s),
    names: p.names,
  };
}

/** One representative string and the verdict of every predicate on it. */
export interface Representative {
  readonly text: string;
  readonly verdicts: readonly boolean[];
}

/** Options of {@link representatives}. */
export interface RepresentativeOptions {
  /** Predicates every representative must satisfy (a parameter's domain). Default none. */
  readonly required?: readonly Predicate[];
  /** Characters allowed besides those the predicates name; default one fresh letter. */
  readonly extra?: readonly string[];
  /** Restricts the alphabet (a claim substituted as a variable). Default: every character. */
  readonly allowed?: (c: string) => boolean;
  /** Bound on visited product states (default 50,000); beyond it the answer is unknown. */
  readonly maxStates?: number;
  /** Names the domain in an unknown result. */
  readonly what: string;
}

/** A character no predicate names, allowed by `allowed`. */
export function freshChar(named: ReadonlySet<string>, allowed: (c: string) => boolean): string {
  for (const c of 'xqzjkvwy0123456789XQZ') if (!named.has(c) && allowed(c)) return c;
  throw new ProveUnknown('ERR_DIFF_UNKNOWN', 'no fresh character is left for a string domain');
}

/**
 * One shortest string for every combination of verdicts of `predicates`
 * that some string (passing the required predicates) has. Exact: a
 * combination no representative has is one no string has.
 */
export function representatives(
  predicates: readonly Predicate[],
  options: RepresentativeOptions,
): Representative[] {
  const required = options.required ?? [];
  const all = [...predicates, ...required];
  const allowed = options.allowed ?? ((): boolean => true);
  const named = new Set(all.flatMap((p) => p.names));
  const alphabet = [...named].filter(allowed);
  alphabet.push(...(options.extra ?? [freshChar(named, allowed)]));
  const max = options.maxStates ?? 50_000;
  const found = new Map<string, Representative>();
  const seen = new Set<string>();
  let layer: { text: string; states: unknown[] }[] = [{ text: '', states: all.map((p) => p.init) }];
  while (layer.length > 0) {
    const next: typeof layer = [];
    for (const node of layer) {
      // A dead predicate is false from here on, whatever its state: its state needs no name.
      const key = node.states
        .map((s, i) => ((all[i] as Predicate).dead(s) ? '' : (all[i] as Predicate).key(s)))
        .join('|');
      if (seen.has(key)) continue;
      seen.add(key);
      if (seen.size > max) {
        throw new ProveUnknown(
          'ERR_DIFF_UNKNOWN',
          `${options.what}: more than ${max} automaton states`,
        );
      }
      record(found, node, predicates, required);
      for (const c of [...new Set(alphabet)]) {
        next.push({
          text: node.text + c,
          states: node.states.map((s, i) => {
            const p = all[i] as Predicate;
            return p.dead(s) ? s : p.step(s, c);
          }),
        });
      }
    }
    layer = next;
  }
  return [...found.values()];
}

function record(
  found: Map<string, Representative>,
  node: { text: string; states: unknown[] },
  predicates: readonly Predicate[],
  required: readonly Predicate[],
): void {
  const n = predicates.length;
  for (let i = 0; i < required.length; i++) {
    if (!(required[i] as Predicate).accept(node.states[n + i])) return;
  }
  const verdicts = predicates.map((p, i) => p.accept(node.states[i]));
  const key = verdicts.map((v) => (v ? '1' : '0')).join('');
  if (!found.has(key)) found.set(key, { text: node.text, verdicts });
}
