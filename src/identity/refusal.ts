/**
 * An identity refusal: a {@link RolegateError} that carries, for the
 * operator, why (the token's side against the configured side). `check()`
 * puts the explanation on the deny's outcome, where the audit record and
 * `rolegate simulate` read it. Only claim names, issuers, audiences, key
 * ids, algorithm names and times go in; never the token or another claim
 * value.
 */
import { RolegateError, type ErrorCode } from '../errors.js';
import type { IdentityExplanation } from '../decision/explanation.js';

/** A refusal of the identity phase, with its explanation. */
export class IdentityRefusal extends RolegateError {
  readonly explanation: IdentityExplanation;

  constructor(code: ErrorCode, explanation: IdentityExplanation, options?: { cause?: unknown }) {
    super(code, explanation.message, options);
    this.name = 'IdentityRefusal';
    this.explanation = explanation;
  }
}

/** The identity explanation a thrown value carries, if it is an {@link IdentityRefusal}. */
export function identityExplanationOf(err: unknown): IdentityExplanation | undefined {
  return err instanceof IdentityRefusal ? err.explanation : undefined;
}

/** Longest text copied from a token (an `iss`, an `aud`, an `alg`) into an explanation. */
export const MAX_SHOWN_CHARS = 200;
/** Most `aud` values copied from a token into an explanation. */
export const MAX_SHOWN_VALUES = 10;

/**
 * Text from an unverified token as an explanation shows it: control
 * characters replaced by `?` (a log line stays one line), cut at
 * {@link MAX_SHOWN_CHARS} with a trailing `…`. Only for the values an
 * explanation may name (issuer, audience, key id, algorithm).
 */
export function shown(value: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return clean.length > MAX_SHOWN_CHARS ? `${clean.slice(0, MAX_SHOWN_CHARS)}…` : clean;
}

/** A list of texts as a sentence shows it: `"a", "b"`. */
export function quoted(values: readonly string[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}
