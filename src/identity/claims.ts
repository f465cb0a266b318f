/**
 * The one claim resolver. Every place that reads a token's claims (policy
 * context keys `jwt:<path>`, `groupsClaim`, `tagClaims`, `requiredClaims`,
 * `headers.claims`, STS `sessionTags`) goes through here, so a claim path
 * means the same thing everywhere:
 *
 * - **Paths.** A path is a claim name, or names joined by dots for nested
 *   objects (`realm_access.roles`, any depth). A claim name may hold dots
 *   itself (`kubernetes.io`): at each level the longest run of segments that
 *   names a member wins, and shorter runs are tried when that one leads
 *   nowhere, so `kubernetes.io.namespace` reads `{"kubernetes.io":
 *   {"namespace": ...}}`. Lists are never indexed into; only own members
 *   count (never `constructor` or `__proto__`).
 * - **Names.** A member whose name is exactly the segment wins; otherwise
 *   the one member whose name equals it ignoring case (`Email` for `email`).
 *   Two members that differ only in case and neither exact: no value.
 * - **Values.** A string, a number or a boolean is one value; a list is
 *   multivalued, its strings, numbers and booleans (other members skipped);
 *   an object or `null` is no value.
 * - **Text** (headers, tags): a string as it is, a number or boolean in its
 *   JSON form (`7`, `true`); a list of such values joined by the
 *   destination's separator (`,` for upstream headers, `:` for STS session
 *   tags, where commas are not allowed); a list holding an object or a list:
 *   no text. Principal tags (`aws:PrincipalTag/<tag>`) hold one value, as in
 *   AWS: a list claim gives no tag.
 */

/** A claim value as one value: string, number or boolean. */
export type ClaimScalar = string | number | boolean;

/** Segments a claim path may have (dots + 1). Longer paths read nothing. */
export const MAX_CLAIM_PATH_SEGMENTS = 32;

function isScalar(v: unknown): v is ClaimScalar {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function isObject(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether `name` names a member of `record` (exactly, else the one case-insensitive match). */
function member(
  record: Readonly<Record<string, unknown>>,
  name: string,
): { value: unknown } | undefined {
  if (Object.hasOwn(record, name)) return { value: record[name] };
  const lower = name.toLowerCase();
  let found: { value: unknown } | undefined;
  for (const key of Object.keys(record)) {
    if (key.toLowerCase() !== lower) continue;
    if (found !== undefined) return undefined; // ambiguous: `Team` and `TEAM`, neither exact
    found = { value: record[key] };
  }
  return found;
}

function resolve(
  node: Readonly<Record<string, unknown>>,
  segments: readonly string[],
): { value: unknown } | undefined {
  // Longest run of segments first: a claim named `kubernetes.io` beats `kubernetes`.
  for (let take = segments.length; take >= 1; take--) {
    const hit = member(node, segments.slice(0, take).join('.'));
    if (hit === undefined) continue;
    if (take === segments.length) return hit;
    if (!isObject(hit.value)) continue;
    const deeper = resolve(hit.value, segments.slice(take));
    if (deeper !== undefined) return deeper;
  }
  return undefined;
}

/**
 * The raw value at a claim `path` (see the module comment for the rule), or
 * `undefined` when there is none.
 */
export function claimAt(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  if (path === '') return undefined;
  const segments = path.split('.');
  if (segments.length > MAX_CLAIM_PATH_SEGMENTS || segments.includes('')) return undefined;
  return resolve(claims, segments)?.value;
}

/**
 * A claim value as policies read it: a scalar as it is, a list as its
 * scalar members (multivalued, possibly empty), anything else `undefined`.
 */
export function claimValue(value: unknown): ClaimScalar | ClaimScalar[] | undefined {
  if (isScalar(value)) return value;
  if (Array.isArray(value)) return value.filter(isScalar);
  return undefined;
}

/** The values at `path` as text: a scalar as one entry, a list as its scalar members; none: `[]`. */
export function claimTexts(claims: Readonly<Record<string, unknown>>, path: string): string[] {
  const value = claimValue(claimAt(claims, path));
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/**
 * The claim at `path` as one text (headers, session tags): a scalar in its
 * JSON form, a list of scalars joined by `separator`; `undefined` for no
 * claim, an object, or a list holding anything but scalars. With
 * `separator` undefined a list gives no text (principal tags).
 */
export function claimText(
  claims: Readonly<Record<string, unknown>>,
  path: string,
  separator?: string,
): string | undefined {
  const node = claimAt(claims, path);
  if (isScalar(node)) return String(node);
  if (separator !== undefined && Array.isArray(node) && node.every(isScalar)) {
    return node.map(String).join(separator);
  }
  return undefined;
}
