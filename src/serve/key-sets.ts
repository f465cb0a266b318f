/**
 * What the admin listener's `/config` shows of each issuer's signing keys:
 * the key ids, the last successful and failed fetch, and when the next
 * refresh is due. The key stores live inside the verifier
 * (`identity/jwt.ts`), so this watches them from outside, through what
 * the verifier is given: the `fetchJson` every fetch of theirs goes through
 * (what each document held) and the `onJwksFetch` each store calls once it
 * has accepted or refused a document (the store's own judgement, so a
 * refused document is never shown as the keys in use). It records key ids
 * only, never a key's material, and no error text (a message may carry a
 * URL with credentials).
 */
import type { JSONWebKeySet } from 'jose';
import type { ResolvedIssuer } from '../identity/jwt.js';
import { fetchJsonBounded, type FetchJson } from '../identity/jwks.js';

/** One issuer's key set as the dump shows it; times in epoch ms. */
export interface KeySetState {
  readonly issuer: string;
  /** `fetched` (JWKS URL or discovery) or `file` (`jwksFile`, read at load, never fetched). */
  readonly source: 'fetched' | 'file';
  /** The `kid` of every key in the set in use (keys without one are only counted). */
  readonly kids: readonly string[];
  /** Keys in the set in use that have no `kid`. */
  readonly keysWithoutKid: number;
  /** Last fetch that replaced the keys; absent before the first (and for `file`). */
  readonly lastSuccessAt?: number;
  /** Last fetch (discovery or JWKS) that failed or was refused; absent without one. */
  readonly lastFailureAt?: number;
  /**
   * When a refresh is due: the keys' maximum age after a success, or the
   * cooldown after a failure, whichever is later. Fetches are lazy: the
   * first check at or after this time starts one. Absent for `file` and
   * before any attempt.
   */
  readonly nextRefreshAt?: number;
  /** When the keys stop being usable unless a refresh succeeds (maximum age plus stale window). */
  readonly servableUntil?: number;
}

/** A `fetchJson` and an `onJwksFetch` for the verifier, and the key-set states they saw. */
export interface KeySetObserver {
  /** Pass this to `createJwtVerifier`: it fetches with `inner` and keeps what it saw. */
  readonly fetchJson: FetchJson;
  /** Call this from `createJwtVerifier`'s `onJwksFetch`: the store accepted or refused the last document. */
  fetched(issuer: string, result: 'success' | 'failure'): void;
  /** Every issuer's state, in config order. */
  states(): KeySetState[];
}

interface Tracked {
  readonly config: ResolvedIssuer;
  /** The discovery document's URL, while the JWKS URL is still unknown. */
  readonly discoveryUrl: string | undefined;
  jwksUri: string | undefined;
  /** The last document fetched for this issuer, until its store says what it made of it. */
  pending?: { readonly url: string; readonly value: unknown } | undefined;
  kids: readonly string[];
  keysWithoutKid: number;
  lastSuccessAt?: number;
  lastFailureAt?: number;
}

function kidsOf(jwks: JSONWebKeySet): { kids: string[]; keysWithoutKid: number } {
  const kids = jwks.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string');
  return { kids: [...new Set(kids)], keysWithoutKid: jwks.keys.length - kids.length };
}

function isKeySet(value: unknown): value is JSONWebKeySet {
  return (
    typeof value === 'object' && value !== null && Array.isArray((value as { keys?: unknown }).keys)
  );
}

/** The store accepted the pending document: a discovery document names the JWKS, a JWKS is in use. */
function accepted(t: Tracked, at: number): void {
  const doc = t.pending;
  t.pending = undefined;
  if (doc === undefined) return;
  if (t.jwksUri === undefined && doc.url === t.discoveryUrl) {
    const uri = (doc.value as { jwks_uri?: unknown } | null)?.jwks_uri;
    if (typeof uri === 'string') t.jwksUri = uri;
  } else if (doc.url === t.jwksUri && isKeySet(doc.value)) {
    ({ kids: t.kids, keysWithoutKid: t.keysWithoutKid } = kidsOf(doc.value));
    t.lastSuccessAt = at;
  }
}

function stateOf(t: Tracked): KeySetState {
  const { config } = t;
  const base = { issuer: config.issuer, kids: t.kids, keysWithoutKid: t.keysWithoutKid };
  if (config.jwks !== undefined) return { ...base, source: 'file' };
  const { maxAgeSeconds, staleSeconds, cooldownSeconds } = config.keys;
  const due = [
    t.lastSuccessAt === undefined ? undefined : t.lastSuccessAt + maxAgeSeconds * 1000,
    // A failure after the last success: the store waits out the cooldown before the next try.
    t.lastFailureAt !== undefined && t.lastFailureAt >= (t.lastSuccessAt ?? 0)
      ? t.lastFailureAt + cooldownSeconds * 1000
      : undefined,
  ].filter((d): d is number => d !== undefined);
  return {
    ...base,
    source: 'fetched',
    ...(t.lastSuccessAt === undefined
      ? {}
      : {
          lastSuccessAt: t.lastSuccessAt,
          servableUntil: t.lastSuccessAt + (maxAgeSeconds + staleSeconds) * 1000,
        }),
    ...(t.lastFailureAt === undefined ? {} : { lastFailureAt: t.lastFailureAt }),
    ...(due.length === 0 ? {} : { nextRefreshAt: Math.max(...due) }),
  };
}

/**
 * Watches the key fetches of `issuers` (one verifier's). `inner` does the
 * fetching (default {@link fetchJsonBounded}); `now` is the clock in epoch
 * ms the verifier uses.
 */
export function observeKeySets(
  issuers: readonly ResolvedIssuer[],
  now: () => number,
  inner: FetchJson = fetchJsonBounded,
): KeySetObserver {
  const tracked: Tracked[] = issuers.map((config) => ({
    config,
    // The key store's own discovery address, for an issuer with neither jwksUri nor jwksFile.
    discoveryUrl:
      config.jwksUri === undefined && config.jwks === undefined
        ? `${config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
        : undefined,
    jwksUri: config.jwksUri,
    ...(config.jwks === undefined ? { kids: [], keysWithoutKid: 0 } : kidsOf(config.jwks)),
  }));
  const concerned = (url: string) =>
    tracked.filter((t) => url === t.jwksUri || (t.jwksUri === undefined && url === t.discoveryUrl));

  const fetchJson: FetchJson = async (url, timeoutMs, maxBytes) => {
    const value = await inner(url, timeoutMs, maxBytes);
    for (const t of concerned(url)) t.pending = { url, value };
    return value;
  };
  return {
    fetchJson,
    fetched(issuer, result) {
      const t = tracked.find((x) => x.config.issuer === issuer);
      if (t === undefined) return;
      if (result === 'success') accepted(t, now());
      else {
        t.pending = undefined;
        t.lastFailureAt = now();
      }
    },
    states: () => tracked.map(stateOf),
  };
}
