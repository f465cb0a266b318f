/**
 * JWT bearer-token verification against configured issuers. The issuer is
 * chosen from the token's `iss` before any key is fetched, so a token from
 * an unknown issuer costs no network traffic.
 */
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { RolegateError, type ErrorCode } from '../errors.js';
import type { IssuerConfig } from '../config/schema.js';
import { issuerKeyPrefix, type Principal } from './principal.js';
import { TokenCache, tokenCacheKey } from './token-cache.js';

export interface JwtVerifierOptions {
  readonly issuers: readonly IssuerConfig[];
  /** Largest accepted token in bytes. */
  readonly maxTokenBytes: number;
  /** Verified-token cache size; 0 disables it. */
  readonly cacheEntries: number;
  /** Clock in epoch milliseconds. */
  readonly now: () => number;
  /** Resolves an issuer's JWKS URL (discovery). Default: OpenID discovery over `fetch`. */
  readonly discover?: (issuer: string) => Promise<string>;
  /** Called after each token-cache lookup. */
  readonly onCacheLookup?: (hit: boolean) => void;
}

export interface JwtVerifier {
  /** Verifies `token`; throws a {@link RolegateError} with a 401-class code. */
  verify(token: string): Promise<Principal>;
  readonly cache: TokenCache<Principal>;
}

/** OpenID discovery: `<issuer>/.well-known/openid-configuration` -> `jwks_uri`. */
export async function discoverJwksUri(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const res = await fetch(url, { signal: AbortSignal.timeout(5000), redirect: 'error' });
  if (!res.ok) throw new Error(`discovery answered HTTP ${res.status}`);
  const doc: unknown = await res.json();
  const jwksUri = (doc as { jwks_uri?: unknown }).jwks_uri;
  if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri)) {
    throw new Error('discovery document has no valid jwks_uri');
  }
  return jwksUri;
}

function mapJoseError(err: unknown): ErrorCode {
  if (err instanceof RolegateError) return err.code;
  if (err instanceof joseErrors.JWTExpired) return 'ERR_TOKEN_EXPIRED';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf' || err.claim === 'iat') return 'ERR_TOKEN_NOT_YET_VALID';
    if (err.claim === 'aud') return 'ERR_TOKEN_AUDIENCE';
    return 'ERR_TOKEN_CLAIM';
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'ERR_TOKEN_SIGNATURE';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'ERR_TOKEN_KID_UNKNOWN';
  if (err instanceof joseErrors.JWKSMultipleMatchingKeys) return 'ERR_TOKEN_SIGNATURE';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'ERR_TOKEN_ALG';
  if (err instanceof joseErrors.JOSENotSupported) return 'ERR_TOKEN_ALG';
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) {
    return 'ERR_TOKEN_MALFORMED';
  }
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) {
    return 'ERR_JWKS_UNAVAILABLE';
  }
  // Network failures while fetching keys surface as plain errors from fetch.
  return 'ERR_JWKS_UNAVAILABLE';
}

interface IssuerState {
  readonly config: IssuerConfig;
  readonly federated: readonly string[];
  keys?: JWTVerifyGetKey;
  pendingKeys?: Promise<JWTVerifyGetKey>;
}

/** Reads the unverified header and payload; anything unparsable is malformed. */
function peek(token: string): { alg: string; payload: JWTPayload } {
  if (token.split('.').length !== 3) {
    throw new RolegateError('ERR_TOKEN_MALFORMED', 'not a JWS compact serialization');
  }
  try {
    const header = decodeProtectedHeader(token);
    const payload = decodeJwt(token);
    if (typeof header.alg !== 'string') throw new Error('no alg');
    return { alg: header.alg, payload };
  } catch {
    throw new RolegateError('ERR_TOKEN_MALFORMED', 'token header or payload is not valid JSON');
  }
}

/** Creates a verifier for the configured issuers. */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const discover = options.discover ?? discoverJwksUri;
  const issuers = new Map<string, IssuerState>();
  for (const config of options.issuers) {
    const prefix = issuerKeyPrefix(config.issuer);
    issuers.set(config.issuer, {
      config,
      federated: [...new Set([config.issuer, prefix, ...config.federatedPrincipals])],
    });
  }
  const cache = new TokenCache<Principal>(options.cacheEntries, options.onCacheLookup);

  async function keysFor(state: IssuerState): Promise<JWTVerifyGetKey> {
    if (state.keys) return state.keys;
    // One discovery in flight per issuer, however many requests wait for it.
    state.pendingKeys ??= (async () => {
      const uri = state.config.jwksUri ?? (await discover(state.config.issuer));
      const keys = createRemoteJWKSet(new URL(uri), {
        timeoutDuration: 5000,
        cooldownDuration: 30_000,
        cacheMaxAge: 600_000,
      });
      state.keys = keys;
      return keys;
    })().finally(() => {
      delete state.pendingKeys;
    });
    return state.pendingKeys;
  }

  async function verify(token: string): Promise<Principal> {
    if (Buffer.byteLength(token) > options.maxTokenBytes) {
      throw new RolegateError('ERR_TOKEN_TOO_LARGE');
    }
    const key = tokenCacheKey(token);
    const nowMs = options.now();
    const cached = cache.get(key, nowMs);
    if (cached) return cached;

    const { alg, payload } = peek(token);
    const state = typeof payload.iss === 'string' ? issuers.get(payload.iss) : undefined;
    if (!state) throw new RolegateError('ERR_TOKEN_ISSUER_UNKNOWN');
    if (!state.config.algorithms.includes(alg)) {
      throw new RolegateError('ERR_TOKEN_ALG', `algorithm ${alg} is not allowed for this issuer`);
    }
    let verified: JWTPayload;
    try {
      const keys = await keysFor(state);
      ({ payload: verified } = await jwtVerify(token, keys, {
        issuer: state.config.issuer,
        audience: [...state.config.audiences],
        algorithms: [...state.config.algorithms],
        clockTolerance: state.config.clockToleranceSeconds,
        currentDate: new Date(nowMs),
        requiredClaims: ['sub'],
      }));
    } catch (err) {
      throw new RolegateError(mapJoseError(err), undefined, { cause: err });
    }
    if (typeof verified.sub !== 'string' || verified.sub === '') {
      throw new RolegateError('ERR_TOKEN_CLAIM', 'sub must be a non-empty string');
    }
    const principal: Principal = {
      kind: 'jwt',
      issuer: state.config.issuer,
      subject: verified.sub,
      claims: verified,
      federated: state.federated,
      ...(typeof verified.exp === 'number' ? { expiresAt: verified.exp } : {}),
    };
    // Tokens without exp are not cached: nothing bounds how long they stay valid.
    if (principal.expiresAt !== undefined) cache.set(key, principal, principal.expiresAt * 1000);
    return principal;
  }

  return { verify, cache };
}
