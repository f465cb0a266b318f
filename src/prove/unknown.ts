/**
 * The prover's refusal: a construct it does not decide exactly. It is
 * thrown, never skipped, so a result is either proved or unknown (exit 2).
 */
import { RolegateError, type ErrorCode } from '../errors.js';

/** Where an uncovered construct sits: file, policy, statement and JSON path when known. */
export interface ConstructPlace {
  readonly file?: string;
  readonly policy?: string;
  /** Sid, or `#<index>`. */
  readonly statement?: string;
  readonly path?: string;
}

/** A construct outside the covered fragment (`ERR_DIFF_UNKNOWN`). */
export class ProveUnknown extends RolegateError {
  readonly place: ConstructPlace;
  constructor(code: ErrorCode, message: string, place: ConstructPlace = {}) {
    super(code, message);
    this.name = 'ProveUnknown';
    this.place = place;
  }
}

/** `file policy statement path` of a place, for one line of text. */
export function placeText(place: ConstructPlace): string {
  const parts = [
    place.file,
    place.policy === undefined ? undefined : `policy ${place.policy}`,
    place.statement === undefined ? undefined : `statement ${place.statement}`,
    place.path,
  ].filter((p): p is string => p !== undefined && p !== '');
  return parts.join(' ');
}
