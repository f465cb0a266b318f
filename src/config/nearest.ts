/**
 * "Did you mean": the configured name nearest to one a policy wrote. Names
 * are compared as rolegate never compares them, loosely, only to suggest:
 * without case, scheme or trailing slash, every loopback spelling of a host
 * as one, then by edit distance. A suggestion never changes a decision.
 */

/** Levenshtein distance between `a` and `b` (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, substitution));
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}

// A host written as localhost, 127.0.0.1 or ::1 names the same machine, but a
// token's iss is compared as text: the suggestion shows the configured spelling.
const LOOPBACK = /^(?:localhost|127\.0\.0\.1|\[::1\]|::1)(?=[:/]|$)/;

/** The loose form names are compared in: lower case, no scheme, no trailing slash, one loopback spelling. */
export function looseName(name: string): string {
  const bare = name
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, '')
    .replace(/\/+$/, '');
  return bare.replace(LOOPBACK, '127.0.0.1');
}

/**
 * The candidate nearest to `name`: one equal in {@link looseName} form
 * first, else the one at the least edit distance (the first on a tie);
 * `undefined` without candidates.
 */
export function nearest(name: string, candidates: readonly string[]): string | undefined {
  const loose = looseName(name);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(loose, looseName(candidate));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
