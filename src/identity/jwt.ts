/**
 * JWT bearer-token verification against configured issuers. The issuer is
 * chosen from the token's `iss` before any key is fetched, so a token from
 * an unknown issuer costs no network traffic; every failure maps to its own
 * catalogue code and is explained (`explain.ts`): the token's `iss`, `aud`,
 * `kid`, `alg` or time claim against what the issuer configures.
 *
 * The token is read once (compact-jws.ts) and its signature checked with
 * `node:crypto` on keys prepared when the key set was read
 * (jws-algorithms.ts, verify-keys.ts), then its registered claims
 * (registered-claims.ts): the checks jose's `jwtVerify` made, in its order
 * and with its errors, at the cost of the signature alone (docs/performance.md,
 * "Fresh tokens"). test/unit/identity/signature-equivalence.test.ts holds
 * the two to the same answers on valid and hostile tokens.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import {
  errors as joseErrors,
  type JSONWebKeySet,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose';
import {
  algorithmRefused,
  badToken,
  claimRefused,
  lifetimeRefused,
  locationText,
  timeRefused,
  unknownIssuer,
  verifyRefused,
} from './explain.js';
import { DEFAULT_TOKEN_CACHE_MAX_BYTES, HMAC_ALGORITHMS, type IssuerConfig } from './options.js';
import type { TokenLocation } from '../request/options.js';
import { createKeyStore, DEFAULT_KEY_TIMING, type FetchJson, type KeyStore } from './jwks.js';
import type { KeyMatch } from './verify-keys.js';
import { claimAt, claimText, claimTexts, claimValue } from './claims.js';
import { issuerKeyPrefix, type Principal } from './principal.js';
import { ExpiringLru, type CacheHooks } from '../cache/expiring-lru.js';
import { shareOfBound, type CacheShare } from '../cache/share.js';
import { tokenCacheKey } from './token-cache.js';
import { IdentityRefusal } from './refusal.js';
import { readCompactJws } from './compact-jws.js';
import { decodeBase64urlStrict } from './base64url.js';
import { jwsAlgorithm, rsaModulusBits, verifyJwsSignature } from './jws-algorithms.js';
import { checkRegisteredClaims } from './registered-claims.js';

/** An issuer with what the config loader resolved for it. */
export interface ResolvedIssuer extends IssuerConfig {
  /** The key set read from `jwksFile`. */
  readonly jwks?: JSONWebKeySet;
  /** The HMAC secret read from `hmacSecretEnv`. */
  readonly hmacSecret?: Uint8Array;
}

export interface JwtVerifierOptions {
  readonly issuers: readonly ResolvedIssuer[];
  /** Largest accepted token in bytes. */
  readonly maxTokenBytes: number;
  /** Verified-token cache size; 0 disables it. */
  readonly cacheEntries: number;
  /**
   * Verified-token cache bound in estimated bytes (see `ExpiringLru`); 0
   * disables the cache. Default {@link DEFAULT_TOKEN_CACHE_MAX_BYTES} (64 MiB).
   */
  readonly cacheMaxBytes?: number;
  /**
   * This process's part of both bounds when `server.workers` processes share
   * them (docs/workers.md). Default: the whole bound.
   */
  readonly cacheShare?: CacheShare;
  /** Eviction and oversize counters of the token cache (metrics). */
  readonly cacheHooks?: Omit<CacheHooks, 'onLookup'>;
  /** Fetch every issuer's keys at once, in the background. Default false (the server sets it). */
  readonly prefetchKeys?: boolean;
  /** Clock in epoch milliseconds. */
  readonly now: () => number;
  /** Fetches JSON for discovery and JWKS (default: `fetch`). */
  readonly fetchJson?: FetchJson;
  /** Called after each token-cache lookup. */
  readonly onCacheLookup?: (hit: boolean) => void;
  /** Called after each discovery or JWKS fetch, with the issuer URL. */
  readonly onJwksFetch?: (issuer: string, result: 'success' | 'failure') => void;
}

export interface JwtVerifier {
  /**
   * Verifies `token` found at `location`; throws an {@link IdentityRefusal}
   * (a `RolegateError` with a 401-class code and its explanation).
   */
  verify(token: string, location?: TokenLocation): Promise<Principal>;
  /** The distinct places tokens are looked for, in config order. */
  readonly locations: readonly TokenLocation[];
  readonly cache: ExpiringLru<Principal>;
}

/** The verifier {@link createJwtVerifier} makes: also tells when its start-up key fetches are done. */
export interface PrefetchingJwtVerifier extends JwtVerifier {
  /**
   * Settles (never rejects) once every issuer's start-up key prefetch has
   * finished, with or without keys; at once without `prefetchKeys`.
   */
  keysPrefetched(): Promise<void>;
}

/** Key ids are opaque, but never paths or control characters; refuse those before any lookup. */
const PLAUSIBLE_KID = /^[\x21-\x7e]{1,256}$/;

interface Peeked {
  readonly header: ProtectedHeaderParameters;
  readonly alg: string;
  readonly payload: JWTPayload;
  /** What the signature signs: `header.payload` as sent. */
  readonly signingInput: string;
  /** The signature segment, decoded once a key is found. */
  readonly signature: string;
}

/** Reads the unverified header and payload, refusing what no issuer could have signed. */
function peek(token: string): Peeked {
  const jws = readCompactJws(token);
  if ('refused' in jws) {
    if (jws.refused === 'encrypted') {
      throw badToken(
        'ERR_TOKEN_ENCRYPTED',
        'the token is a JWE (5 parts); a signed JWS is expected',
      );
    }
    if (jws.refused === 'parts') {
      throw badToken(
        'ERR_TOKEN_MALFORMED',
        `the token has ${jws.parts} dot-separated parts; a JWS compact serialization has 3`,
      );
    }
    throw badToken(
      'ERR_TOKEN_MALFORMED',
      'the token header or payload is not canonical base64url of a JSON object',
    );
  }
  const header = jws.header as ProtectedHeaderParameters;
  const payload = jws.payload as JWTPayload;
  if (typeof header.alg !== 'string')
    throw badToken('ERR_TOKEN_MALFORMED', 'the header has no alg');
  if (header.alg === 'none') {
    throw badToken('ERR_TOKEN_ALG', 'alg "none": unsigned tokens are refused');
  }
  if (header.crit !== undefined) {
    throw badToken('ERR_TOKEN_CRIT', 'the header lists critical extensions (crit)');
  }
  if (header.kid !== undefined) {
    if (
      typeof header.kid !== 'string' ||
      !PLAUSIBLE_KID.test(header.kid) ||
      /[/\\]|\.\./.test(header.kid)
    ) {
      // Not a key id, so not named: 1 to 256 printable ASCII characters, no path.
      throw badToken('ERR_TOKEN_KID_INVALID', 'the kid header is not a plausible key id');
    }
  }
  return {
    header,
    alg: header.alg,
    payload,
    signingInput: jws.signingInput,
    signature: jws.signature,
  };
}

function sameLocation(a: TokenLocation, b: TokenLocation): boolean {
  return a.kind === b.kind && (a.kind === 'bearer' || ('name' in b && a.name === b.name));
}

/** A token that arrived where its issuer does not send tokens. */
function misplaced(
  issuer: string,
  expected: TokenLocation | undefined,
  found: TokenLocation,
): IdentityRefusal {
  const where = expected === undefined ? [] : [locationText(expected)];
  return new IdentityRefusal('ERR_TOKEN_LOCATION', {
    check: 'location',
    issuer,
    message: `the token arrived in ${locationText(found)}; issuer ${issuer} sends tokens in ${where[0] ?? 'no configured place'}`,
    found: locationText(found),
    expected: where,
  });
}

interface IssuerState {
  readonly config: ResolvedIssuer;
  readonly federated: readonly string[];
  readonly keys: KeyStore;
  /** The HMAC secret as a key, when the issuer has a (non-empty) one. */
  readonly hmacKey?: KeyObject;
}

/**
 * The key that checks a token's signature: the HMAC secret, or the one key
 * of the issuer's key set that matches `alg` and `kid`. Throws the jose
 * error `jwtVerify` threw for the same key trouble (explain.ts explains it).
 * Answers at once (no asynchronous hop) when the key is ready, as it is on
 * the common path; a promise otherwise.
 */
function signingKey(
  state: IssuerState,
  algorithm: NonNullable<ReturnType<typeof jwsAlgorithm>>,
  kid: string | undefined,
): KeyObject | Promise<KeyObject> {
  if (algorithm.family === 'HMAC') {
    // WebCrypto refuses an empty HMAC key; so does rolegate.
    if (state.hmacKey === undefined) throw new TypeError('the HMAC secret is empty');
    return state.hmacKey;
  }
  const found = state.keys.findKey(algorithm, kid);
  if (found instanceof Promise) return found.then(keyOf);
  return keyOf(found);
}

function keyOf(match: KeyMatch): KeyObject | Promise<KeyObject> {
  if (match.kind === 'none') throw new joseErrors.JWKSNoMatchingKey();
  if (match.kind === 'several') throw new joseErrors.JWKSMultipleMatchingKeys();
  return match.key.ready() ?? match.key.load();
}

/**
 * What jose leaves to us: an `iat` later than now (beyond the clock
 * tolerance), and a lifetime longer than the issuer's maximum: `exp - iat`,
 * or, without `iat`, `exp - now` (with the tolerance, as the issuer's clock
 * may run ahead of ours).
 */
function checkTokenTimes(config: IssuerConfig, payload: JWTPayload, nowS: number): void {
  const { iat, exp } = payload;
  const tolerance = config.clockToleranceSeconds;
  const max = config.maxTokenLifetimeSeconds;
  if (typeof exp !== 'number') throw claimRefused('exp', 'must be a number', config.issuer);
  if (iat === undefined) {
    if (exp - nowS > max + tolerance) throw lifetimeRefused(config, exp - nowS, 'now');
    return;
  }
  if (typeof iat !== 'number') throw claimRefused('iat', 'must be a number', config.issuer);
  if (iat > nowS + tolerance) {
    throw timeRefused('ERR_TOKEN_ISSUED_IN_FUTURE', config, 'iat', iat, nowS);
  }
  if (exp - iat > max) throw lifetimeRefused(config, exp - iat, 'iat');
}

/**
 * `requiredClaims`: each named claim (a claim path, read by the one claim
 * resolver) must be present, and, where values are listed, hold one of them
 * (a list claim: any of its members).
 */
function checkRequiredClaims(
  config: IssuerConfig,
  claims: Readonly<Record<string, unknown>>,
): void {
  for (const [claim, allowed] of Object.entries(config.requiredClaims)) {
    const value = claimAt(claims, claim);
    if (value === undefined || value === null) {
      throw claimRefused(claim, 'is required (requiredClaims) and missing', config.issuer);
    }
    if (allowed !== null) {
      const values = claimValue(value);
      const list = values === undefined ? [] : Array.isArray(values) ? values : [values];
      if (!list.some((v) => typeof v === 'string' && allowed.includes(v))) {
        // The value itself is never named: only that it is not one requiredClaims lists.
        throw claimRefused(
          claim,
          `holds none of the ${allowed.length} value(s) requiredClaims accepts`,
          config.issuer,
        );
      }
    }
  }
}

/** The names a caller of `issuer` matches as `Principal.Federated`. */
export function federatedNames(issuer: IssuerConfig): readonly string[] {
  return [
    ...new Set([issuer.issuer, issuerKeyPrefix(issuer.issuer), ...issuer.federatedPrincipals]),
  ];
}

/**
 * Verified claims + their issuer's configuration -> the {@link Principal}:
 * `sub` must be a non-empty string and `requiredClaims` must hold
 * (`ERR_TOKEN_CLAIM` otherwise); groups come from `groupsClaim`, principal
 * tags from `tagClaims`, both through the one claim resolver
 * (`identity/claims.ts`). The live verifier runs this after the signature,
 * audience and time checks; `rolegate simulate --config` runs it on the
 * claims it is given, so both decide from the very same principal.
 * `federated` defaults to {@link federatedNames} of the issuer.
 */
export function principalFromClaims(
  claims: Readonly<Record<string, unknown>>,
  config: IssuerConfig,
  federated: readonly string[] = federatedNames(config),
): Principal {
  const sub = claims['sub'];
  if (typeof sub !== 'string' || sub === '') {
    throw claimRefused('sub', 'must be a non-empty string', config.issuer);
  }
  checkRequiredClaims(config, claims);
  const tags: Record<string, string> = {};
  for (const [tag, path] of Object.entries(config.tagClaims)) {
    const value = claimText(claims, path);
    if (value !== undefined) tags[tag] = value;
  }
  const exp = claims['exp'];
  return {
    kind: 'jwt',
    issuer: config.issuer,
    subject: sub,
    claims,
    federated,
    ...(config.groupsClaim === undefined ? {} : { groups: claimTexts(claims, config.groupsClaim) }),
    tags,
    ...(typeof exp === 'number' ? { expiresAt: exp } : {}),
  };
}

/** Creates a verifier for the configured issuers. */
export function createJwtVerifier(options: JwtVerifierOptions): PrefetchingJwtVerifier {
  const issuers = new Map<string, IssuerState>();
  const locations: TokenLocation[] = [];
  for (const config of options.issuers) {
    issuers.set(config.issuer, {
      config,
      federated: federatedNames(config),
      ...(config.hmacSecret !== undefined && config.hmacSecret.length > 0
        ? { hmacKey: createSecretKey(config.hmacSecret) }
        : {}),
      keys: createKeyStore({
        issuer: config.issuer,
        ...(config.jwksUri === undefined ? {} : { jwksUri: config.jwksUri }),
        ...(config.jwks === undefined ? {} : { jwks: config.jwks }),
        timing: {
          ...DEFAULT_KEY_TIMING,
          maxAgeMs: config.keys.maxAgeSeconds * 1000,
          cooldownMs: config.keys.cooldownSeconds * 1000,
          staleMs: config.keys.staleSeconds * 1000,
          maxWaitMs: config.keys.maxWaitMs,
        },
        limits: { maxDocumentBytes: config.keys.maxDocumentBytes, maxKeys: config.keys.maxKeys },
        prefetch: options.prefetchKeys === true,
        now: options.now,
        ...(options.fetchJson ? { fetchJson: options.fetchJson } : {}),
        onFetch: (result) => options.onJwksFetch?.(config.issuer, result),
      }),
    });
    if (!locations.some((l) => sameLocation(l, config.token))) locations.push(config.token);
  }
  const cache = new ExpiringLru<Principal>({
    maxEntries: shareOfBound(options.cacheEntries, options.cacheShare),
    maxBytes: shareOfBound(
      options.cacheMaxBytes ?? DEFAULT_TOKEN_CACHE_MAX_BYTES,
      options.cacheShare,
    ),
    // One-off tokens must not churn a full cache (see Doorkeeper).
    doorkeeper: true,
    // Only the copy later calls get is memoised (Principal.memoise).
    held: (principal) => ({ ...principal, memoise: true }),
    ...options.cacheHooks,
    ...(options.onCacheLookup ? { onLookup: options.onCacheLookup } : {}),
  });

  async function verifyUncached(token: string, nowMs: number): Promise<Principal> {
    const peeked = peek(token);
    const { alg, payload, header } = peeked;
    const state = typeof payload.iss === 'string' ? issuers.get(payload.iss) : undefined;
    if (!state) throw unknownIssuer(payload.iss, [...issuers.keys()]);
    const { config } = state;
    if (!config.algorithms.includes(alg)) throw algorithmRefused(config, alg);
    const hmac = (HMAC_ALGORITHMS as readonly string[]).includes(alg);
    if (hmac && config.hmacSecret === undefined) {
      throw algorithmRefused(config, alg, 'needs hmacSecretEnv, which this issuer does not set');
    }
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    try {
      const algorithm = jwsAlgorithm(alg);
      if (algorithm === undefined) {
        throw new joseErrors.JOSENotSupported(`alg ${alg} is not supported`);
      }
      const found = signingKey(state, algorithm, hmac ? undefined : kid);
      const key = found instanceof Promise ? await found : found;
      const signature = decodeBase64urlStrict(peeked.signature);
      if (signature === undefined) {
        throw new joseErrors.JWSInvalid('the signature is not canonical base64url');
      }
      const bits = algorithm.minRsaBits === undefined ? 0 : rsaModulusBits(key);
      if (bits < (algorithm.minRsaBits ?? 0)) {
        throw algorithmRefused(
          config,
          alg,
          `needs an RSA key of at least ${algorithm.minRsaBits} bits; the matching key has ${bits}`,
        );
      }
      const input = Buffer.from(peeked.signingInput, 'latin1');
      if (!verifyJwsSignature(algorithm, key, input, signature)) {
        throw new joseErrors.JWSSignatureVerificationFailed();
      }
      checkRegisteredClaims(payload, config, nowMs);
    } catch (err) {
      throw verifyRefused(err, {
        config,
        payload,
        alg,
        ...(kid === undefined ? {} : { kid }),
        nowS: nowMs / 1000,
        kids: () => state.keys.kids(),
      });
    }
    checkTokenTimes(config, payload, nowMs / 1000);
    return principalFromClaims(payload, config, state.federated);
  }
  async function verify(token: string, location: TokenLocation = { kind: 'bearer' }) {
    // UTF-8 takes at least one byte and at most three per UTF-16 unit: the
    // length alone decides, except in between, where the bytes are counted.
    const units = token.length;
    if (
      units > options.maxTokenBytes ||
      (units * 3 > options.maxTokenBytes && Buffer.byteLength(token) > options.maxTokenBytes)
    ) {
      throw badToken(
        'ERR_TOKEN_TOO_LARGE',
        `the token is longer than tokens.maxBytes (${options.maxTokenBytes} bytes)`,
      );
    }
    const nowMs = options.now();
    // With caching off there is nothing to look up, so no digest to take.
    const key = cache.maxEntries === 0 || cache.maxBytes === 0 ? '' : tokenCacheKey(token);
    let principal = key === '' ? undefined : cache.get(key, nowMs);
    // A cached verification is only as good as the keys that proved it: once
    // its issuer's keys are past the stale window it is verified again, which
    // fails closed while the issuer stays unreachable (an HMAC token does not
    // need the keys and passes again).
    if (principal !== undefined && issuers.get(principal.issuer)?.keys.keysServable() !== true) {
      principal = undefined;
    }
    if (principal === undefined) {
      principal = await verifyUncached(token, nowMs);
      if (principal.expiresAt !== undefined && key !== '')
        cache.set(key, principal, principal.expiresAt * 1000);
    }
    // A token is only accepted where its issuer sends tokens: a cookie-borne
    // token replayed in a header (or the reverse) is refused.
    const expected = issuers.get(principal.issuer)?.config.token;
    if (!expected || !sameLocation(expected, location))
      throw misplaced(principal.issuer, expected, location);
    return principal;
  }

  const keysPrefetched = async (): Promise<void> => {
    await Promise.all([...issuers.values()].map((s) => s.keys.prefetched()));
  };
  return { verify, locations, cache, keysPrefetched };
}
