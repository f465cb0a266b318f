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
 *
 * Discovery is checked as OpenID Connect Discovery 1.0 (section 4.3) says:
 * the document's `issuer` must be identical to the configured issuer, so
 * an issuer configured as `http://localhost:9100` whose provider calls
 * itself `http://127.0.0.1:9100` loads no keys. Why the last load failed is
 * kept (`loadError()`), and a check refused for want of keys carries it in
 * its explanation (`cause`), naming both issuers.
 */
import {
  createLocalJWKSet,
  errors as joseErrors,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type FlattenedJWSInput,
} from 'jose';
import { IdentityRefusal, quoted, shown } from './refusal.js';
import { issuerSpellingDifference } from './issuer-spelling.js';
import type { JwsAlgorithm } from './jws-algorithms.js';
import { prepareKeySet, type KeyMatch, type PreparedKeySet } from './verify-keys.js';

/**
 * A URL as refusals and logs may show it: scheme, host and path only. A
 * key-set or discovery URL may carry credentials (user info, a token in the
 * query) that must never reach an audit record.
 */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    const redacted = u.username !== '' || u.password !== '' ? 'redacted@' : '';
    return `${u.protocol}//${redacted}${u.host}${u.pathname}${u.search === '' ? '' : '?redacted'}`;
  } catch {
    return '(an unreadable URL)';
  }
}
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
  /** jose's view of the keys (WebCrypto keys), for `jwtVerify` outside the request path. */
  readonly getKey: KeyResolver;
  /**
   * The key for a token of `algorithm` with `kid`, as a `KeyObject` prepared
   * when the key set was read (see `verify-keys.ts`): the request path's
   * lookup. Fetches and refetches exactly as {@link getKey} does (an unknown
   * kid refetches at most once per cooldown, waiting at most `maxWaitMs`);
   * resolves `none` when no key matches after that. Answers at once (no
   * promise) when keys younger than `maxAgeMs` hold a match: the common case
   * costs no asynchronous hop.
   */
  findKey(algorithm: JwsAlgorithm, kid: string | undefined): KeyMatch | Promise<KeyMatch>;
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
  /**
   * Why the last load of discovery or the JWKS failed (URLs, statuses and
   * the issuers involved; never a document's content), or `undefined` when
   * it succeeded or none failed yet.
   */
  loadError(): string | undefined;
  /** The key ids of the keys in use (keys without a `kid` are left out); `[]` before any load. */
  kids(): readonly string[];
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
  const tooLarge = () =>
    new Error(`document from ${shownUrl(url)} is larger than ${maxBytes} bytes`);
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status} from ${shownUrl(url)}`);
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

/** A fetched document refused by its check; its message is the whole story. */
class KeyDocumentRefused extends Error {}

/**
 * Why one fetch failed, in words that hold no document content: a body that
 * is not JSON is named as such (the parser's message would quote it).
 */
function fetchFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof SyntaxError) return 'the document is not valid JSON';
  if (err instanceof Error && err.name === 'TimeoutError') {
    return `no answer within ${timeoutMs} ms (fetchTimeoutMs)`;
  }
  const code = (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' ? `${message} (${code})` : message;
}

/**
 * OpenID Connect Discovery 1.0, section 4.3: the `issuer` of the document
 * must be identical to the issuer it was fetched for. Throws with a message
 * naming both (and how they differ, when only in spelling).
 */
function checkDiscoveryIssuer(doc: unknown, configured: string, url: string): void {
  const named = (doc as { issuer?: unknown } | null)?.issuer;
  if (typeof named !== 'string') {
    throw new KeyDocumentRefused(
      `the discovery document at ${shownUrl(url)} has no issuer; OpenID Connect Discovery requires it to equal the configured issuer "${configured}"`,
    );
  }
  if (named === configured) return;
  const differences = issuerSpellingDifference(named, configured);
  const how =
    differences === undefined || differences.length === 0
      ? ''
      : ` (they differ in ${differences.join(', ')})`;
  throw new KeyDocumentRefused(
    `the discovery document at ${shownUrl(url)} names issuer ${quoted([shown(named)])}, not the configured issuer ${quoted([configured])}${how}; OpenID Connect Discovery requires them to be identical`,
  );
}

/** The key ids of a key set, in order, without duplicates. */
function kidsOf(jwks: JSONWebKeySet): string[] {
  const kids = jwks.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string');
  return [...new Set(kids)];
}

/**
 * One document fetched and checked, counted (`onFetch`) as a failure when
 * it is refused too. Rejects with an error whose message says what failed
 * (`what` names the document), in words that hold no document content.
 */
async function fetchChecked(
  options: KeyStoreOptions,
  limits: KeyLimits,
  what: string,
  url: string,
  check: (doc: unknown) => void,
): Promise<unknown> {
  const { fetchTimeoutMs } = options.timing;
  let value: unknown;
  try {
    value = await (options.fetchJson ?? fetchJsonBounded)(
      url,
      fetchTimeoutMs,
      limits.maxDocumentBytes,
    );
    check(value);
  } catch (err) {
    options.onFetch?.('failure');
    if (err instanceof KeyDocumentRefused) throw err;
    throw new Error(
      `${what} ${shownUrl(url)} could not be fetched: ${fetchFailure(err, fetchTimeoutMs)}`,
      {
        cause: err,
      },
    );
  }
  options.onFetch?.('success');
  return value;
}

/** The `jwks_uri` of the issuer's discovery document, its `issuer` checked first. */
async function discoverJwksUri(options: KeyStoreOptions, limits: KeyLimits): Promise<string> {
  const url = `${options.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const doc = await fetchChecked(options, limits, 'discovery', url, (d) => {
    checkDiscoveryIssuer(d, options.issuer, url);
    const uri = (d as { jwks_uri?: unknown } | null)?.jwks_uri;
    if (typeof uri !== 'string' || !URL.canParse(uri)) {
      throw new KeyDocumentRefused(
        `the discovery document at ${shownUrl(url)} has no valid jwks_uri`,
      );
    }
  });
  return (doc as { jwks_uri: string }).jwks_uri;
}

/** The key set at `uri`, within `limits.maxKeys`. */
async function fetchKeySet(
  options: KeyStoreOptions,
  limits: KeyLimits,
  uri: string,
): Promise<JSONWebKeySet> {
  return (await fetchChecked(options, limits, 'JWKS', uri, (d) => {
    if (!isJwks(d)) throw new KeyDocumentRefused(`the JWKS document at ${uri} has no keys array`);
    if (d.keys.length > limits.maxKeys) {
      throw new KeyDocumentRefused(
        `the JWKS document at ${uri} has more than ${limits.maxKeys} keys (maxKeys)`,
      );
    }
  })) as JSONWebKeySet;
}

/** The refusal of a check that found no usable keys, saying why (and the last load error). */
function keysUnavailable(
  options: KeyStoreOptions,
  everLoaded: boolean,
  lastError: string | undefined,
  outcome: 'done' | 'failed' | 'timeout' | 'cooldown',
): IdentityRefusal {
  const why =
    outcome === 'timeout'
      ? `the issuer did not answer the key fetch within ${options.timing.maxWaitMs} ms (keys.maxWaitMs)`
      : everLoaded
        ? 'the cached keys are past maxAgeSeconds + staleSeconds'
        : 'no keys were ever loaded';
  const last = lastError === undefined ? '' : `; last load error: ${lastError}`;
  const retry = outcome === 'cooldown' ? '; the next fetch waits for keys.cooldownSeconds' : '';
  return new IdentityRefusal('ERR_JWKS_UNAVAILABLE', {
    check: 'keys',
    issuer: options.issuer,
    message: `no usable keys for issuer ${options.issuer}: ${why}${last}${retry}`,
    ...(lastError === undefined ? {} : { cause: lastError }),
  });
}

/** One key set as read: jose's resolver and the same keys prepared for node:crypto. */
interface LoadedKeys {
  readonly resolver: LocalResolver;
  readonly prepared: PreparedKeySet;
}

/** Reads a key set both ways; throws (jose's `JWKSInvalid`) when it is malformed. */
function loadKeys(jwks: JSONWebKeySet): LoadedKeys {
  const resolver = createLocalJWKSet(jwks);
  return { resolver, prepared: prepareKeySet(jwks) };
}

/** Creates the key store of one issuer. */
export function createKeyStore(options: KeyStoreOptions): KeyStore {
  const { timing, now } = options;
  const limits = options.limits ?? DEFAULT_KEY_LIMITS;
  let jwksUri = options.jwksUri;
  let loaded = options.jwks ? loadKeys(options.jwks) : undefined;
  let kids: readonly string[] = options.jwks ? kidsOf(options.jwks) : [];
  let lastError: string | undefined;
  let fetchedAt = options.jwks ? Number.POSITIVE_INFINITY : 0;
  let lastAttempt = Number.NEGATIVE_INFINITY;
  let inflight: Promise<void> | undefined;

  /** Discovery (once) and the JWKS; a failure is kept as the store's load error. */
  async function fetchKeys(): Promise<void> {
    try {
      jwksUri ??= await discoverJwksUri(options, limits);
      // Checked before anything is replaced: a refused document keeps the last good keys.
      const jwks = await fetchKeySet(options, limits, jwksUri);
      loaded = loadKeys(jwks);
      kids = kidsOf(jwks);
      fetchedAt = now();
      lastError = undefined;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      throw err;
    }
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
    loaded !== undefined && now() - fetchedAt < timing.maxAgeMs + timing.staleMs;

  async function usableKeys(): Promise<LoadedKeys> {
    if (loaded && now() - fetchedAt < timing.maxAgeMs) return loaded;
    if (loaded && servable()) {
      // Past the maximum age: the cached keys serve while one refresh runs.
      if (mayFetch()) void refresh();
      return loaded;
    }
    const outcome = mayFetch() ? await waitAtMost(refresh(), timing.maxWaitMs) : 'cooldown';
    if (loaded && servable()) return loaded;
    throw keysUnavailable(options, loaded !== undefined, lastError, outcome);
  }

  /**
   * Looks `find` up in the keys in use; when it finds no key (`missed`), in
   * keys that arrived meanwhile, else after one refetch: an unknown kid
   * usually means the IdP rotated, so the keys are fetched again, but at
   * most once per cooldown, and all waiting requests share that one fetch.
   * `undefined` when nothing newer could be looked in.
   */
  async function lookAgain<T>(current: LoadedKeys, find: (keys: LoadedKeys) => T) {
    if (options.jwks) return undefined;
    if (loaded && loaded !== current) return find(loaded);
    if (!mayFetch()) return undefined;
    const outcome = await waitAtMost(refresh(), timing.maxWaitMs);
    if (outcome === 'timeout') throw keysUnavailable(options, true, lastError, 'timeout');
    const next = loaded;
    return !next || next === current ? undefined : find(next);
  }

  const getKey: KeyResolver = async (header, token) => {
    const current = await usableKeys();
    try {
      return await current.resolver(header, token);
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey)) throw err;
      const again = await lookAgain(current, (keys) => keys.resolver(header, token));
      if (again === undefined) throw err;
      return again;
    }
  };

  async function findKeyWaiting(algorithm: JwsAlgorithm, kid: string | undefined) {
    const current = await usableKeys();
    const match = current.prepared.select(algorithm, kid);
    if (match.kind !== 'none') return match;
    return (await lookAgain(current, (keys) => keys.prepared.select(algorithm, kid))) ?? match;
  }

  const findKey = (algorithm: JwsAlgorithm, kid: string | undefined) => {
    if (loaded && now() - fetchedAt < timing.maxAgeMs) {
      const match = loaded.prepared.select(algorithm, kid);
      if (match.kind !== 'none') return match;
    }
    return findKeyWaiting(algorithm, kid);
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
    findKey,
    lastSuccess: () => (Number.isFinite(fetchedAt) ? fetchedAt : 0),
    keysServable: servable,
    prefetched: () => prefetch,
    loadError: () => lastError,
    kids: () => kids,
  };
}
