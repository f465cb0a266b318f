/**
 * Wildcard matching for IAM patterns: `*` matches any run of characters
 * (including none), `?` exactly one character. Patterns are compiled once
 * into a {@link Glob}; matching allocates nothing and never builds a RegExp.
 */

/** `*` in a pattern item list. */
export const STAR = 0;
/** `?` in a pattern item list. */
export const QMARK = 1;

/** A pattern item: a literal run of characters, {@link STAR} or {@link QMARK}. */
export type GlobItem = string | typeof STAR | typeof QMARK;

const K_ANY = 0;
const K_EXACT = 1;
const K_PREFIX = 2;
const K_SUFFIX = 3;
const K_CONTAINS = 4;
const K_GENERIC = 5;

/** A compiled pattern. `kind` selects a specialised matcher. */
export interface Glob {
  readonly kind: 0 | 1 | 2 | 3 | 4 | 5;
  /** The literal for EXACT/PREFIX/SUFFIX/CONTAINS. */
  readonly lit: string;
  /** Items for the generic matcher (empty for the specialised kinds). */
  readonly items: readonly GlobItem[];
  /** The pattern text as written (after any case folding). */
  readonly source: string;
}

/** Splits a wildcard pattern into items; consecutive `*` collapse into one. */
export function parseGlob(pattern: string): GlobItem[] {
  const items: GlobItem[] = [];
  let start = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c === 42 /* * */ || c === 63 /* ? */) {
      if (i > start) items.push(pattern.slice(start, i));
      if (c === 42) {
        if (items[items.length - 1] !== STAR) items.push(STAR);
      } else {
        items.push(QMARK);
      }
      start = i + 1;
    }
  }
  if (start < pattern.length) items.push(pattern.slice(start));
  return items;
}

/** True when the text holds `*` or `?`. */
export function hasWildcard(text: string): boolean {
  return text.includes('*') || text.includes('?');
}

const NO_ITEMS: readonly GlobItem[] = Object.freeze([]);
const EMPTY: readonly never[] = Object.freeze([]);

/**
 * An exact-size copy of a list built with push() (whose backing store has
 * spare capacity), or one shared empty list: compiled policies stay compact,
 * which matters for cache behaviour with thousands of statements.
 */
export function compact<T>(list: readonly T[]): readonly T[] {
  return list.length === 0 ? EMPTY : list.slice();
}

/** The pattern `*` (shared: compiled patterns are immutable). */
export const ANY_GLOB: Glob = Object.freeze({ kind: K_ANY, lit: '', items: NO_ITEMS, source: '*' });

/**
 * Compiles a pattern; with `wildcards` false the text is matched literally.
 * Only the generic kind keeps its item list (the others never read it).
 */
export function compileGlob(pattern: string, wildcards = true): Glob {
  if (!wildcards || !hasWildcard(pattern)) {
    return { kind: K_EXACT, lit: pattern, items: NO_ITEMS, source: pattern };
  }
  const items = parseGlob(pattern);
  const n = items.length;
  if (n === 1 && items[0] === STAR)
    return pattern === '*' ? ANY_GLOB : { kind: K_ANY, lit: '', items: NO_ITEMS, source: pattern };
  if (!items.includes(QMARK)) {
    const first = items[0];
    const last = items[n - 1];
    if (n === 2 && typeof first === 'string' && last === STAR) {
      return { kind: K_PREFIX, lit: first, items: NO_ITEMS, source: pattern };
    }
    if (n === 2 && first === STAR && typeof last === 'string') {
      return { kind: K_SUFFIX, lit: last, items: NO_ITEMS, source: pattern };
    }
    const mid = items[1];
    if (n === 3 && first === STAR && last === STAR && typeof mid === 'string') {
      return { kind: K_CONTAINS, lit: mid, items: NO_ITEMS, source: pattern };
    }
  }
  return { kind: K_GENERIC, lit: '', items: compact(items), source: pattern };
}

/** Matches `s` against a compiled pattern. */
export function matchGlob(g: Glob, s: string): boolean {
  switch (g.kind) {
    case K_ANY:
      return true;
    case K_EXACT:
      return s === g.lit;
    case K_PREFIX:
      return s.startsWith(g.lit);
    case K_SUFFIX:
      return s.endsWith(g.lit);
    case K_CONTAINS:
      return s.includes(g.lit);
    default:
      return matchItems(g.items, s);
  }
}

/** Matches `s.slice(start, end)` against a compiled pattern without slicing. */
export function matchGlobRange(g: Glob, s: string, start: number, end: number): boolean {
  const len = end - start;
  switch (g.kind) {
    case K_ANY:
      return true;
    case K_EXACT:
      return len === g.lit.length && s.startsWith(g.lit, start);
    case K_PREFIX:
      return len >= g.lit.length && s.startsWith(g.lit, start);
    case K_SUFFIX:
      return len >= g.lit.length && s.startsWith(g.lit, end - g.lit.length);
    case K_CONTAINS: {
      const i = s.indexOf(g.lit, start);
      return i >= 0 && i + g.lit.length <= end;
    }
    default:
      return matchItems(g.items, s, start, end);
  }
}

/**
 * Matches `s` (or `s.slice(start, end)`) against an item list: greedy with
 * backtracking to the last `*` only, which is linear in practice and
 * O(n·m) at worst.
 */
export function matchItems(
  items: readonly GlobItem[],
  s: string,
  start = 0,
  end = s.length,
): boolean {
  return matchItemsWith<never>(items, s, start, end, neverResolved);
}

function neverResolved(): string {
  return '';
}

/**
 * The one matching loop, shared by globs and policy-variable templates: an
 * item that is neither a literal nor a wildcard is turned into literal text
 * by `resolve` (a substituted variable value, whose own `*` never acts as a
 * wildcard).
 */
export function matchItemsWith<T extends object>(
  items: readonly (GlobItem | T)[],
  s: string,
  start: number,
  end: number,
  resolve: (item: T) => string,
): boolean {
  const n = end;
  const m = items.length;
  let i = 0;
  let p = start;
  let starI = -1;
  let starP = 0;
  for (;;) {
    if (i < m) {
      const it = items[i];
      if (it === STAR) {
        starI = i;
        starP = p;
        i++;
        continue;
      }
      if (it === QMARK) {
        if (p < n) {
          p++;
          i++;
          continue;
        }
      } else if (it !== undefined) {
        const lit = typeof it === 'string' ? it : resolve(it as T);
        if (p + lit.length <= n && s.startsWith(lit, p)) {
          p += lit.length;
          i++;
          continue;
        }
      }
    } else if (p === n) {
      return true;
    }
    // Mismatch: let the last star absorb one more character.
    if (starI < 0 || starP >= n) return false;
    starP++;
    p = starP;
    i = starI + 1;
  }
}
