/**
 * The explanations of identity refusals: for each way a token is refused,
 * the token's side against the configured side, in one sentence and as
 * fields (see `IdentityExplanation` in `decision/explanation.ts`). Only
 * claim names, issuers, audiences, key ids, algorithm names and times are
 * named; never the token or any other claim value.
 */
import { errors as joseErrors, type JWTPayload } from 'jose';
import { RolegateError, type ErrorCode } from '../errors.js';
import type { IdentityTime } from '../decision/explanation.js';
import type { TokenLocation } from '../request/options.js';
import type { IssuerConfig } from './options.js';
import { IdentityRefusal, MAX_SHOWN_VALUES, quoted, shown } from './refusal.js';
import { nearestIssuer } from './issuer-spelling.js';

/** How a token location reads in a sentence. */
export function locationText(location: TokenLocation): string {
  if (location.kind === 'bearer') return 'the Authorization header (Bearer)';
  return location.kind === 'header' ? `header ${location.name}` : `cookie ${location.name}`;
}

/** No credential where any issuer sends tokens (and no mTLS peer standing in). */
export function missingCredential(
  locations: readonly TokenLocation[],
  mtlsEnabled: boolean,
): IdentityRefusal {
  const where = locations.map(locationText);
  const looked = where.length === 0 ? 'no issuer is configured' : `looked in ${where.join(', ')}`;
  return new IdentityRefusal('ERR_CREDENTIAL_MISSING', {
    check: 'credential',
    message: `no token found (${looked})${mtlsEnabled ? ' and no mTLS peer identity' : ''}`,
    expected: where,
  });
}

/** A token refused for its form or size, before any issuer was chosen. */
export function badToken(code: ErrorCode, message: string): IdentityRefusal {
  return new IdentityRefusal(code, { check: 'token', message });
}

/**
 * A token whose `iss` names no configured issuer: the `iss` against the
 * configured issuers, and the one it most likely meant when they differ
 * only in spelling (`localhost` vs `127.0.0.1`, scheme, trailing slash).
 */
export function unknownIssuer(iss: unknown, configured: readonly string[]): IdentityRefusal {
  const list = configured.length === 0 ? 'none' : quoted(configured);
  if (typeof iss !== 'string') {
    return new IdentityRefusal('ERR_TOKEN_ISSUER_UNKNOWN', {
      check: 'issuer',
      message: `the token has no iss string; configured issuers: ${list}`,
      expected: configured,
    });
  }
  const found = shown(iss);
  const near = nearestIssuer(iss, configured);
  const hint =
    near === undefined
      ? ''
      : `; did you mean ${quoted([near.issuer])}? (they differ in ${near.differences.join(', ')}; issuers are compared exactly)`;
  return new IdentityRefusal('ERR_TOKEN_ISSUER_UNKNOWN', {
    check: 'issuer',
    message: `iss ${quoted([found])} is not a configured issuer; configured: ${list}${hint}`,
    found,
    expected: configured,
    ...(near === undefined ? {} : { didYouMean: near.issuer }),
  });
}

/** An algorithm the issuer does not allow (or an HMAC one without a secret). */
export function algorithmRefused(
  config: IssuerConfig,
  alg: string,
  why = 'is not allowed for this issuer',
): IdentityRefusal {
  return new IdentityRefusal('ERR_TOKEN_ALG', {
    check: 'algorithm',
    issuer: config.issuer,
    message: `alg ${quoted([shown(alg)])} ${why}; allowed: ${quoted(config.algorithms)}`,
    found: shown(alg),
    expected: config.algorithms,
  });
}

/** A claim that is missing, of the wrong type, or holds no accepted value: its name only. */
export function claimRefused(
  claim: string,
  problem: string,
  issuer?: string,
  code: ErrorCode = 'ERR_TOKEN_CLAIM',
): IdentityRefusal {
  return new IdentityRefusal(code, {
    check: 'claim',
    message: `claim ${claim} ${problem}`,
    claim,
    ...(issuer === undefined ? {} : { issuer }),
  });
}

const iso = (s: number): string =>
  Number.isFinite(s) && Math.abs(s) < 8.64e12 ? new Date(s * 1000).toISOString() : String(s);

/**
 * A time claim on the wrong side of the clock: `exp` passed, `nbf` or `iat`
 * still ahead. Says by how many seconds, and the skew the issuer allows.
 */
export function timeRefused(
  code: ErrorCode,
  config: IssuerConfig,
  claim: IdentityTime['claim'],
  value: number,
  nowS: number,
): IdentityRefusal {
  const now = Math.floor(nowS);
  const offBySeconds = Math.round(claim === 'exp' ? now - value : value - now);
  const toleranceSeconds = config.clockToleranceSeconds;
  const side =
    claim === 'exp'
      ? `the token expired ${offBySeconds} s ago`
      : `the token is ${offBySeconds} s ahead of the clock`;
  return new IdentityRefusal(code, {
    check: 'time',
    issuer: config.issuer,
    message: `${claim} ${iso(value)} against the clock ${iso(now)}: ${side}, beyond the allowed skew of ${toleranceSeconds} s (clockToleranceSeconds)`,
    time: { claim, value, now, offBySeconds, toleranceSeconds },
  });
}

/** A lifetime longer than `maxTokenLifetimeSeconds`. */
export function lifetimeRefused(
  config: IssuerConfig,
  lifetime: number,
  from: 'iat' | 'now',
): IdentityRefusal {
  const max = config.maxTokenLifetimeSeconds;
  const span = from === 'iat' ? 'exp - iat' : 'exp - now (the token has no iat)';
  const allowed =
    from === 'iat' ? `${max} s` : `${max} s + ${config.clockToleranceSeconds} s of skew`;
  return new IdentityRefusal('ERR_TOKEN_LIFETIME', {
    check: 'lifetime',
    issuer: config.issuer,
    message: `${span} is ${Math.round(lifetime)} s; maxTokenLifetimeSeconds allows ${allowed}`,
  });
}

/** The token's `aud` as the explanation shows it: its strings, bounded. */
function audiencesOf(aud: unknown): string[] {
  const list = Array.isArray(aud) ? aud : aud === undefined ? [] : [aud];
  return list
    .filter((a): a is string => typeof a === 'string')
    .slice(0, MAX_SHOWN_VALUES)
    .map(shown);
}

/** What a failed signature or claim check knew: the issuer, the token, the clock, the keys. */
export interface VerifyContext {
  readonly config: IssuerConfig;
  /** The unverified payload (read for `aud` and the time claims only). */
  readonly payload: JWTPayload;
  readonly alg: string;
  /** The `kid` header, when the token has one. */
  readonly kid?: string;
  readonly nowS: number;
  /** The key ids of the issuer's keys in use. */
  readonly kids: () => readonly string[];
}

function audienceRefused(ctx: VerifyContext): IdentityRefusal {
  const found = audiencesOf(ctx.payload.aud);
  const expected = ctx.config.audiences;
  const foundText = found.length === 0 ? 'no aud' : `aud ${quoted(found)}`;
  return new IdentityRefusal('ERR_TOKEN_AUDIENCE', {
    check: 'audience',
    issuer: ctx.config.issuer,
    message: `${foundText} matches none of the audiences accepted for issuer ${ctx.config.issuer}: ${quoted(expected)}`,
    found,
    expected,
  });
}

function keyRefused(ctx: VerifyContext, several: boolean): IdentityRefusal {
  const kids = [...ctx.kids()];
  const kid = ctx.kid === undefined ? undefined : shown(ctx.kid);
  const has = kids.length === 0 ? 'no key ids' : `key ids ${quoted(kids)}`;
  const message = several
    ? `the token has no kid and several keys of issuer ${ctx.config.issuer} match alg ${quoted([shown(ctx.alg)])} (${has})`
    : `${kid === undefined ? 'the token has no kid and' : `kid ${quoted([kid])}:`} no key of issuer ${ctx.config.issuer} matches it for alg ${quoted([shown(ctx.alg)])}; the key set has ${has}`;
  return new IdentityRefusal(several ? 'ERR_TOKEN_SIGNATURE' : 'ERR_TOKEN_KID_UNKNOWN', {
    check: 'key',
    issuer: ctx.config.issuer,
    message,
    ...(kid === undefined ? {} : { found: kid }),
    expected: kids,
  });
}

/** A claim check jose refused (`exp`, `nbf`, `aud`, a required or mistyped claim). */
function claimCheckRefused(
  err: { readonly claim: string; readonly reason: string },
  ctx: VerifyContext,
): IdentityRefusal {
  const { claim, reason } = err;
  const value = ctx.payload[claim];
  if (claim === 'aud') return audienceRefused(ctx);
  if (
    (claim === 'exp' || claim === 'nbf') &&
    typeof value === 'number' &&
    reason === 'check_failed'
  ) {
    const code = claim === 'exp' ? 'ERR_TOKEN_EXPIRED' : 'ERR_TOKEN_NOT_YET_VALID';
    return timeRefused(code, ctx.config, claim, value, ctx.nowS);
  }
  const problem = reason === 'missing' ? 'is missing' : 'does not hold a valid value (its type)';
  const code = claim === 'nbf' ? 'ERR_TOKEN_NOT_YET_VALID' : 'ERR_TOKEN_CLAIM';
  return claimRefused(claim, problem, ctx.config.issuer, code);
}

/**
 * The refusal of a jose verification failure, explained against `ctx`.
 * A refusal already explained (the key store's) passes through.
 */
export function verifyRefused(err: unknown, ctx: VerifyContext): IdentityRefusal {
  if (err instanceof IdentityRefusal) return err;
  const issuer = ctx.config.issuer;
  if (err instanceof RolegateError) {
    // Thrown by a key resolver without an explanation: its code stands, its words explain.
    const check = err.code === 'ERR_JWKS_UNAVAILABLE' ? 'keys' : 'signature';
    return new IdentityRefusal(err.code, { check, issuer, message: err.message });
  }
  if (err instanceof joseErrors.JWTExpired || err instanceof joseErrors.JWTClaimValidationFailed) {
    return claimCheckRefused(err, ctx);
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
    const kid = ctx.kid === undefined ? 'the key' : `key ${quoted([shown(ctx.kid)])}`;
    return new IdentityRefusal('ERR_TOKEN_SIGNATURE', {
      check: 'signature',
      issuer,
      message: `the signature does not verify with ${kid} of issuer ${issuer} (alg ${quoted([shown(ctx.alg)])})`,
      ...(ctx.kid === undefined ? {} : { found: shown(ctx.kid) }),
    });
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey) return keyRefused(ctx, false);
  if (err instanceof joseErrors.JWKSMultipleMatchingKeys) return keyRefused(ctx, true);
  if (err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported) {
    return algorithmRefused(ctx.config, ctx.alg, 'is not supported by the matching key');
  }
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) {
    // jose's own message may quote the token's content: its code only.
    return badToken('ERR_TOKEN_MALFORMED', `the token is not a valid JWS/JWT (${err.code})`);
  }
  if (err instanceof joseErrors.JWKInvalid || err instanceof joseErrors.JWKSInvalid) {
    return new IdentityRefusal('ERR_JWKS_UNAVAILABLE', {
      check: 'keys',
      issuer,
      message: `the key set of issuer ${issuer} holds an invalid key (${err.code})`,
    });
  }
  return new IdentityRefusal(
    'ERR_INTERNAL',
    { check: 'signature', issuer, message: 'verification failed unexpectedly' },
    { cause: err },
  );
}
