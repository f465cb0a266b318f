/**
 * The caller's token as the pipeline carries it: extracted once at the edge
 * and passed around as an opaque handle. Printing, logging or serialising
 * the handle gives `[token]`; the text itself is read with
 * {@link revealToken}, which only the identity phase (to verify it) and the
 * STS phase (AssumeRoleWithWebIdentity) call. A unit test
 * (test/unit/request/token.test.ts) fails when any other module does.
 */
import { inspect } from 'node:util';

/** Reads a handle's text; set by the class's static block, private to this module. */
let textOf: (handle: object) => string | undefined;

/** An opaque handle on the caller's raw token; it never shows the token. */
export class CallerToken {
  // A private field, not a WeakMap entry: invisible to JSON, inspect and
  // Object.keys alike, and no ephemeron per request for the GC to trace.
  readonly #text: string;

  private constructor(text: string) {
    this.#text = text;
  }

  /** Wraps the raw token text found in a request. */
  static of(text: string): CallerToken {
    return new CallerToken(text);
  }

  static {
    textOf = (handle) => (#text in handle ? (handle as CallerToken).#text : undefined);
  }

  /** `[token]`: JSON.stringify and loggers see no more. */
  toJSON(): string {
    return '[token]';
  }

  /** `[token]`. */
  toString(): string {
    return '[token]';
  }

  /** `[token]`, for util.inspect and console.log. */
  [inspect.custom](): string {
    return '[token]';
  }
}

/**
 * The raw token text. For the identity phase (verification) and the STS
 * phase (AssumeRoleWithWebIdentity) only.
 */
export function revealToken(handle: CallerToken): string {
  const text = typeof handle === 'object' && handle !== null ? textOf(handle) : undefined;
  if (text === undefined) throw new TypeError('not a token handle from CallerToken.of');
  return text;
}
