/** Credential extraction: which bytes of the request claim to be a token, and where they were. */
import type { TokenLocation } from './options.js';
import { RolegateError } from '../errors.js';
import { CallerToken } from './token.js';
import type { AuthzRequest } from './types.js';

/** A token (an opaque handle, see `token.ts`) and the place it was found. */
export interface FoundToken {
  readonly token: CallerToken;
  readonly location: TokenLocation;
}

const BEARER = /^Bearer[ ]+([A-Za-z0-9._~+/-]+=*)\s*$/i;

/** The value of cookie `name` in a `Cookie` header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(/;\s*/)) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The bearer token of the `Authorization` header, `undefined` when the
 * request carries none. A header that is present but not a well-formed
 * `Bearer <token>` is malformed, not missing: the caller tried.
 */
export function extractBearerToken(request: AuthzRequest): string | undefined {
  const header = request.headers['authorization'];
  if (header === undefined || header === '') return undefined;
  const m = BEARER.exec(header);
  if (!m || m[1] === undefined) {
    throw new RolegateError('ERR_TOKEN_MALFORMED', 'Authorization header is not "Bearer <token>"');
  }
  return m[1];
}

/** The first token found at any of `locations` (in order), or undefined. */
export function extractToken(
  request: AuthzRequest,
  locations: readonly TokenLocation[],
): FoundToken | undefined {
  for (const location of locations) {
    let token: string | undefined;
    if (location.kind === 'bearer') token = extractBearerToken(request);
    else if (location.kind === 'header') token = request.headers[location.name];
    else token = cookieValue(request.headers['cookie'], location.name);
    if (token !== undefined && token !== '') return { token: CallerToken.of(token), location };
  }
  return undefined;
}
