/**
 * An issuer's signing keys: found by OpenID discovery (or given as a URL or
 * a document), cached with a maximum age, refetched at most once per
 * cooldown for an unknown `kid` however many requests ask at once, and kept
 * serving through an IdP outage for a stale window, after which
 * verification fails closed.
 */
import {
  createLocalJWKSet,
  errors as joseErrors,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type FlattenedJWSInput,
} from 'jose';
import { RolegateError } from '../errors.js';

/** Key-cache timing, all in milliseconds. */
export interface KeyTiming {
  /** Keys younger than this are used without refetching. Default 10 minutes. */
  readonly maxAgeMs: number;
  /** Minimum time between two fetches (unknown kid, failed refresh). Default 30 s. */
  readonly cooldownMs: number;
  /** After `maxAgeMs`, how long cached keys keep serving while fetching fails. Default 1 hour. */
  readonly staleMs: number;
  /** Timeout of one discovery or JWKS request. Default 5 s. */
  readonly fetchTimeoutMs: number;
}

export const DEFAULT_KEY_TIMING: KeyTiming = {
  maxAgeMs: 600_000,
  cooldownMs: 30_000,
  staleMs: 3_600_000,
  fetchTimeoutMs: 5_000,
};

export interface KeyStoreOptions {
  readonly issuer: string;
  /** JWKS URL; when absent and `jwks` is absent too, found through discovery. */
  readonly jwksUri?: string;
  /** A fixed key set (from a file): never fetched. */
  readonly jwks?: JSONWebKeySet;
  readonly timing: KeyTiming;
  /** Clock in epoch ms. */
  readonly now: () => number;
  /** Fetches JSON (default: `fetch` without redirects). */
  readonly fetchJson?: (url: string, timeoutMs: number) => Promise<unknown>;
  /** Called after every network fetch of discovery or JWKS. */
  readonly onFetch?: (result: 'success' | 'failure') => void;
}

type LocalResolver = ReturnType<typeof createLocalJWKSet>;

/** Resolves the key for a JWS header, as jose's `jwtVerify` expects. */
export type KeyResolver = (
  header: JWSHeaderParameters,
  token: FlattenedJWSInput,
) => ReturnType<LocalResolver>;

export interface KeyStore {
  readonly getKey: KeyResolver;
  /** Epoch ms of the last successful fetch (0 = never). */
  lastSuccess(): number;
}

async function defaultFetchJson(url: string, timeoutMs: number): Promise<unknown> {
  const res = await fetch(url, {
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'error',
    headers: { accept: 'application/json' },
  });
  if (!res.ok) throw new Error(`HTTP ${res.status} from ${url}`);
  return res.json();
}

function isJwks(value: unknown): value is JSONWebKeySet {
  return (
    typeof value === 'object' && value !== null && Array.isArray((value as { keys?: unknown }).keys)
  );
}

/** Creates the key store of one issuer. */
export function createKeyStore(options: KeyStoreOptions): KeyStore {
  const { timing, now } = options;
  const fetchJson = options.fetchJson ?? defaultFetchJson;
  let jwksUri = options.jwksUri;
  let resolver = options.jwks ? createLocalJWKSet(options.jwks) : undefined;
  let fetchedAt = options.jwks ? Number.POSITIVE_INFINITY : 0;
  let lastAttempt = Number.NEGATIVE_INFINITY;
  let inflight: Promise<void> | undefined;

  const fetchCounted = async (url: string): Promise<unknown> => {
    try {
      const value = await fetchJson(url, timing.fetchTimeoutMs);
      options.onFetch?.('success');
      return value;
    } catch (err) {
      options.onFetch?.('failure');
      throw err;
    }
  };

  async function fetchKeys(): Promise<void> {
    if (jwksUri === undefined) {
      const url = `${options.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
      const doc = await fetchCounted(url);
      const uri = (doc as { jwks_uri?: unknown } | null)?.jwks_uri;
      if (typeof uri !== 'string' || !URL.canParse(uri)) {
        throw new Error('discovery document has no valid jwks_uri');
      }
      jwksUri = uri;
    }
    const jwks = await fetchCounted(jwksUri);
    if (!isJwks(jwks)) throw new Error('JWKS document has no keys array');
    resolver = createLocalJWKSet(jwks);
    fetchedAt = now();
  }

  /** One fetch at a time; callers that arrive meanwhile share its outcome. */
  function refresh(): Promise<void> {
    if (inflight) return inflight;
    lastAttempt = now();
    inflight = fetchKeys().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  const coolingDown = () => now() - lastAttempt < timing.cooldownMs;

  async function usableResolver(): Promise<NonNullable<typeof resolver>> {
    const age = now() - fetchedAt;
    if (resolver && age < timing.maxAgeMs) return resolver;
    if (inflight || !coolingDown()) {
      try {
        await refresh();
      } catch {
        // Fall through: stale keys may still serve.
      }
    }
    if (resolver && now() - fetchedAt < timing.maxAgeMs + timing.staleMs) return resolver;
    throw new RolegateError('ERR_JWKS_UNAVAILABLE');
  }

  const getKey: KeyResolver = async (header, token) => {
    const current = await usableResolver();
    try {
      return await current(header, token);
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey) || options.jwks) throw err;
      // Keys refreshed while this request waited: look again before fetching.
      if (resolver && resolver !== current) return resolver(header, token);
      // An unknown kid usually means the IdP rotated: refetch, but at most
      // once per cooldown, and all waiting requests share that one fetch.
      if (!inflight && coolingDown()) throw err;
      try {
        await refresh();
      } catch {
        throw err;
      }
      const next = resolver;
      if (!next) throw err;
      return next(header, token);
    }
  };

  return { getKey, lastSuccess: () => (Number.isFinite(fetchedAt) ? fetchedAt : 0) };
}
