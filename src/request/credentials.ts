/** Credential extraction: which bytes of the request claim to be a token. */
import { RolegateError } from '../errors.js';
import type { AuthzRequest } from './types.js';

/**
 * The bearer token of the `Authorization` header, `undefined` when the
 * request carries none. A header that is present but not a well-formed
 * `Bearer <token>` is malformed, not missing: the caller tried.
 */
export function extractBearerToken(request: AuthzRequest): string | undefined {
  const header = request.headers['authorization'];
  if (header === undefined || header === '') return undefined;
  const m = /^Bearer[ ]+([A-Za-z0-9._~+/-]+=*)\s*$/i.exec(header);
  if (!m || m[1] === undefined) {
    throw new RolegateError('ERR_TOKEN_MALFORMED', 'Authorization header is not "Bearer <token>"');
  }
  return m[1];
}
