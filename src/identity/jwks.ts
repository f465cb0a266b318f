/**
 * An issuer's signing keys: found by OpenID discovery (or given as a URL or
 * a document), cached with a maximum age, refetched at most once per
 * cooldown for an unknown `kid` however many requests ask at once, and kept
 * serving through an IdP outage for a stale window, after which
 * verification fails closed.
 *
 * No check waits on the network longer than `maxWaitMs` (default 250 ms,
 * well under Envoy's 1 s ext_authz timeout): past the maximum age, cached
 * keys keep serving while one refresh runs in the background; a check that
 * needs keys that are not there (first fetch, unknown `kid`, stale window
 * over) waits for that one fetch at most `maxWaitMs`, then is refused with
 * `ERR_JWKS_UNAVAILABLE`, while the fetch goes on (up to `fetchTimeoutMs`)
 * and its keys serve the requests that follow. `ERR_JWKS_UNAVAILABLE`
 * rather than `ERR_TOKEN_KID_UNKNOWN`: the key may well exist, the issuer
 * just did not answer in time, and operators alert on the difference.
 *
 * Fetched documents are bounded (`maxDocumentBytes`, `maxKeys`); an
 * oversize one is a failed fetch and the last good keys stay.
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
  /** Timeout of one discovery or JWKS request (it runs in the background past `maxWaitMs`). Default 5 s. */
  readonly fetchTimeoutMs: number;
  /** Longest one verification waits for a fetch. Default 250 ms. */
  readonly maxWaitMs: number;
}

export const DEFAULT_KEY_TIMING: KeyTiming = {
  maxAgeMs: 600_000,
  cooldownMs: 30_000,
  staleMs: 3_600_000,
  fetchTimeoutMs: 5_000,
  maxWaitMs: 250,
};

/** Bounds on fetched documents. */
export interface KeyLimits {
  /** Largest discovery or JWKS document in bytes. Default 256 KiB. */
  readonly maxDocumentBytes: number;
  /** Most keys in one JWKS. Default 100. */
  readonly maxKeys: number;
}

export const DEFAULT_KEY_LIMITS: KeyLimits = { maxDocumentBytes: 262_144, maxKeys: 100 };

/**
 * Fetches and parses a JSON document, refusing (rejecting) one larger than
 * `maxBytes` and giving up after `timeoutMs`.
 */
export type FetchJson = (url: string, timeoutMs: number, maxBytes: number) => Promise<unknown>;

export interface KeyStoreOptions {
  readonly issuer: string;
  /** JWKS URL; when absent and `jwks` is absent too, found through discovery. */
  readonly jwksUri?: string;
  /** A fixed key set (from a file): never fetched. */
  readonly jwks?: JSONWebKeySet;
  readonly timing: KeyTiming;
  /** Document bounds. Default {@link DEFAULT_KEY_LIMITS}. */
  readonly limits?: KeyLimits;
  /** Clock in epoch ms. */
  readonly now: () => number;
  /** Fetches JSON (default: `fetch` without redirects, body read up to `maxBytes`). */
  readonly fetchJson?: FetchJson;
  /** Called after every network fetch of discovery or JWKS. */
  readonly onFetch?: (result: 'success' | 'failure') => void;
  /**
   * Start fetching the keys now, in the background, so the first token
   * finds them instead of waiting (at most `maxWaitMs`) for them. Default false.
   */
  readonly prefetch?: boolean;
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
  /**
   * True while the cached keys may still prove a signature: fetched within
   * `maxAgeMs + staleMs`, or a fixed key set. Tokens verified earlier are
   * only as good as these keys: past the stale window they must be verified
   * again (and are refused while the issuer stays unreachable).
   */
  keysServable(): boolean;
  /**
   * Settles (never rejects) once the start-up prefetch has finished, with or
   * without keys; at once when there is no prefetch. Each fetch is bounded by
   * `timing.fetchTimeoutMs`.
   */
  prefetched(): Promise<void>;
}

/** The default {@link FetchJson}: `fetch` without redirects, the body read up to `maxBytes`. */
export async function fetchJsonBounded(
  url: string,
  timeoutMs: number,
  maxBytes: number,
): Promise<unknown> {
  const res = await fetch(url, {
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'error',
    headers: { accept: 'application/json' },
  });
  const tooLarge = () => new Error(`document from ${url} is larger than ${maxBytes} bytes`);
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status} from ${url}`);
  }
  if (Number(res.headers.get('content-length') ?? 0) > maxBytes) {
    await res.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body?.getReader();
  for (;;) {
    const chunk = reader ? await reader.read() : { done: true as const, value: undefined };
    if (chunk.done) break;
    total += chunk.value.byteLength;
    if (total > maxBytes) {
      await reader?.cancel();
      throw tooLarge();
    }
    chunks.push(chunk.value);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

/** Waits for `work` at most `ms`: `done` or `failed` when it settled in time, else `timeout`. */
async function waitAtMost(work: Promise<void>, ms: number): Promise<'done' | 'failed' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([
      work.then(
        () => 'done' as const,
        () => 'failed' as const,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function isJwks(value: unknown): value is JSONWebKeySet {
  return (
    typeof value === 'object' && value !== null && Array.isArray((value as { keys?: unknown }).keys)
  );
}

/** Creates the key store of one issuer. */
export function createKeyStore(options: KeyStoreOptions): KeyStore {
  const { timing, now } = options;
  const limits = options.limits ?? DEFAULT_KEY_LIMITS;
  const fetchJson = options.fetchJson ?? fetchJsonBounded;
  let jwksUri = options.jwksUri;
  let resolver = options.jwks ? createLocalJWKSet(options.jwks) : undefined;
  let fetchedAt = options.jwks ? Number.POSITIVE_INFINITY : 0;
  let lastAttempt = Number.NEGATIVE_INFINITY;
  let inflight: Promise<void> | undefined;

  /** One fetch, counted as a failure when the document is refused too. */
  const fetchCounted = async (url: string, check: (doc: unknown) => void): Promise<unknown> => {
    try {
      const value = await fetchJson(url, timing.fetchTimeoutMs, limits.maxDocumentBytes);
      check(value);
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
      const doc = await fetchCounted(url, (d) => {
        const uri = (d as { jwks_uri?: unknown } | null)?.jwks_uri;
        if (typeof uri !== 'string' || !URL.canParse(uri)) {
          throw new Error('discovery document has no valid jwks_uri');
        }
      });
      jwksUri = (doc as { jwks_uri: string }).jwks_uri;
    }
    // Checked before anything is replaced: a refused document keeps the last good keys.
    const jwks = (await fetchCounted(jwksUri, (d) => {
      if (!isJwks(d)) throw new Error('JWKS document has no keys array');
      if (d.keys.length > limits.maxKeys) {
        throw new Error(`JWKS document has more than ${limits.maxKeys} keys`);
      }
    })) as JSONWebKeySet;
    resolver = createLocalJWKSet(jwks);
    fetchedAt = now();
  }

  /**
   * One fetch at a time; callers that arrive meanwhile share its outcome.
   * The start-up prefetch does not start the cooldown, so an IdP that was
   * down at start is asked again by the first request that needs it.
   */
  function refresh(startsCooldown = true): Promise<void> {
    if (inflight) return inflight;
    if (startsCooldown) lastAttempt = now();
    const work = fetchKeys().finally(() => {
      inflight = undefined;
    });
    // Callers stop waiting after maxWaitMs; the fetch's failure must not go unhandled.
    work.catch(() => {});
    inflight = work;
    return work;
  }

  const coolingDown = () => now() - lastAttempt < timing.cooldownMs;
  const mayFetch = () => inflight !== undefined || !coolingDown();
  const servable = () =>
    resolver !== undefined && now() - fetchedAt < timing.maxAgeMs + timing.staleMs;

  async function usableResolver(): Promise<NonNullable<typeof resolver>> {
    if (resolver && now() - fetchedAt < timing.maxAgeMs) return resolver;
    if (resolver && servable()) {
      // Past the maximum age: the cached keys serve while one refresh runs.
      if (mayFetch()) void refresh();
      return resolver;
    }
    if (mayFetch()) await waitAtMost(refresh(), timing.maxWaitMs);
    if (resolver && servable()) return resolver;
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
      if (!mayFetch()) throw err;
      const outcome = await waitAtMost(refresh(), timing.maxWaitMs);
      if (outcome === 'timeout') {
        throw new RolegateError(
          'ERR_JWKS_UNAVAILABLE',
          'the issuer did not answer the key fetch within keys.maxWaitMs',
        );
      }
      const next = resolver;
      if (!next || next === current) throw err;
      return next(header, token);
    }
  };

  const prefetch =
    options.prefetch === true && !options.jwks
      ? refresh(false).then(
          () => undefined,
          () => undefined,
        )
      : Promise.resolve();

  return {
    getKey,
    lastSuccess: () => (Number.isFinite(fetchedAt) ? fetchedAt : 0),
    keysServable: servable,
    prefetched: () => prefetch,
  };
}
