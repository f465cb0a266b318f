/**
 * Claims substituted into policies as variables are checked before any
 * policy reads them. Substitution is literal (a `*` from a claim is never a
 * wildcard), but a `/` is structure: `doc/${jwt:sub}/*` with a `sub` of
 * `bob/entry` reaches a path the policy never meant. Each issuer names a
 * pattern per claim (`claimPatterns`); claims it does not name must match
 * {@link DEFAULT_VARIABLE_CLAIM_PATTERN}. A claim that fails, or that holds
 * several values where one is substituted, denies the whole request: a
 * variable that silently stopped matching would switch off a Deny too.
 * Pure: the principal and the compiled patterns arrive as arguments.
 */
import { DEFAULT_VARIABLE_CLAIM_PATTERN, type IssuerConfig } from './options.js';
import { issuerKeyPrefix, type Principal } from './principal.js';
import type { ContextResolver } from '../policy/index.js';

/** Each issuer's compiled patterns (issuer URL -> claim name -> pattern). */
export type ClaimPatterns = ReadonlyMap<string, ReadonlyMap<string, RegExp>>;

const DEFAULT_PATTERN = new RegExp(DEFAULT_VARIABLE_CLAIM_PATTERN, 'u');

/** Compiles the issuers' `claimPatterns` once per configuration generation. */
export function compileClaimPatterns(issuers: readonly IssuerConfig[]): ClaimPatterns {
  const out = new Map<string, ReadonlyMap<string, RegExp>>();
  for (const issuer of issuers) {
    const patterns = new Map<string, RegExp>();
    for (const [claim, text] of Object.entries(issuer.claimPatterns)) {
      patterns.set(claim.toLowerCase(), new RegExp(text, 'u'));
    }
    out.set(issuer.issuer, patterns);
  }
  return out;
}

/**
 * The claim a variable key substitutes, lower-cased, or `undefined` when the
 * key does not come from the token (request keys, route keys, ...).
 */
function claimOfKey(
  lowerKey: string,
  principal: Principal,
  tagClaims: Readonly<Record<string, string>>,
): string | undefined {
  if (lowerKey.startsWith('jwt:')) return lowerKey.slice(4);
  if (lowerKey === 'aws:userid') return 'sub';
  if (lowerKey.startsWith('aws:principaltag/')) {
    const tag = lowerKey.slice(17);
    const entry = Object.entries(tagClaims).find(([name]) => name.toLowerCase() === tag);
    return entry === undefined ? undefined : entry[1].toLowerCase();
  }
  const prefix = `${issuerKeyPrefix(principal.issuer).toLowerCase()}:`;
  return lowerKey.startsWith(prefix) ? lowerKey.slice(prefix.length) : undefined;
}

/**
 * The first variable key whose claim value may not be substituted, or
 * `undefined` when every claim-derived variable is safe. `variableKeys` are
 * the lower-cased keys the configuration's policies use as variables;
 * `resolve` reads a key as the policies would.
 */
export function unsafeVariableClaim(
  principal: Principal,
  variableKeys: ReadonlySet<string>,
  patterns: ClaimPatterns,
  tagClaims: Readonly<Record<string, string>>,
  resolve: ContextResolver,
): string | undefined {
  // mTLS peers carry no claims; their SPIFFE ID is structured by design.
  if (principal.kind !== 'jwt' || variableKeys.size === 0) return undefined;
  const own = patterns.get(principal.issuer);
  for (const key of variableKeys) {
    const claim = claimOfKey(key, principal, tagClaims);
    if (claim === undefined) continue;
    const value = key === 'aws:userid' ? principal.subject : resolve(key);
    if (value === undefined) continue;
    // Several values cannot be substituted: the statement would silently not match.
    if (Array.isArray(value) && value.length > 1) return key;
    const single: unknown = Array.isArray(value) ? value[0] : value;
    if (single === undefined) continue;
    const pattern = own?.get(claim) ?? DEFAULT_PATTERN;
    if (!pattern.test(String(single))) return key;
  }
  return undefined;
}
