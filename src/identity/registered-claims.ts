/**
 * The registered-claim checks a verified token passes, exactly as jose's
 * `jwtVerify` made them for rolegate (issuer, audiences, clock tolerance,
 * `sub` and `exp` required), in the same order, failing with the same jose
 * error classes, so `verifyRefused` (explain.ts) explains them as before:
 *
 * 1. `iss`, `aud`, `exp` and `sub` must be present (in that order);
 * 2. `iss` must be the issuer, `aud` (a string or an array) must hold one of
 *    the accepted audiences;
 * 3. `iat`, `nbf` and `exp`, when present, must be numbers; `nbf` must not
 *    be later than now plus the tolerance, `exp` must be later than now
 *    minus the tolerance (now in whole seconds).
 *
 * What jose left to rolegate (an `iat` ahead of the clock, the maximum
 * lifetime, a non-empty `sub`, `requiredClaims`) is checked after these, in
 * jwt.ts.
 */
import { errors as joseErrors, type JWTPayload } from 'jose';
import type { IssuerConfig } from './options.js';

const PRESENT_IN_ORDER = ['iss', 'aud', 'exp', 'sub'] as const;

function unexpected(payload: JWTPayload, claim: string): joseErrors.JWTClaimValidationFailed {
  return new joseErrors.JWTClaimValidationFailed(
    `unexpected "${claim}" claim value`,
    payload,
    claim,
    'check_failed',
  );
}

/** The claim's value when absent or a number; throws when it is anything else. */
function numericDate(payload: JWTPayload, claim: 'iat' | 'nbf' | 'exp'): number | undefined {
  const value = payload[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'number') {
    throw new joseErrors.JWTClaimValidationFailed(
      `"${claim}" claim must be a number`,
      payload,
      claim,
      'invalid',
    );
  }
  return value;
}

/** Whether `aud` (a string or an array) holds one of `accepted`. */
function audienceAccepted(aud: unknown, accepted: readonly string[]): boolean {
  if (typeof aud === 'string') return accepted.includes(aud);
  return Array.isArray(aud) && accepted.some((a) => aud.includes(a));
}

/**
 * Throws jose's `JWTClaimValidationFailed` or `JWTExpired` for the first
 * check `payload` fails (see the module comment); `nowMs` in epoch ms.
 */
export function checkRegisteredClaims(
  payload: JWTPayload,
  config: IssuerConfig,
  nowMs: number,
): void {
  for (const claim of PRESENT_IN_ORDER) {
    if (!Object.hasOwn(payload, claim)) {
      throw new joseErrors.JWTClaimValidationFailed(
        `missing required "${claim}" claim`,
        payload,
        claim,
        'missing',
      );
    }
  }
  if (payload.iss !== config.issuer) throw unexpected(payload, 'iss');
  if (!audienceAccepted(payload.aud, config.audiences)) throw unexpected(payload, 'aud');
  const now = Math.floor(nowMs / 1000);
  const tolerance = config.clockToleranceSeconds;
  numericDate(payload, 'iat');
  const nbf = numericDate(payload, 'nbf');
  if (nbf !== undefined && nbf > now + tolerance) throw unexpected(payload, 'nbf');
  const exp = numericDate(payload, 'exp');
  if (exp !== undefined && exp <= now - tolerance) {
    throw new joseErrors.JWTExpired(
      '"exp" claim timestamp check failed',
      payload,
      'exp',
      'check_failed',
    );
  }
}
