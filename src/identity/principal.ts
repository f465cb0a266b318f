export type { Principal } from '../decision/parties.js';

/** The issuer as AWS web-identity condition keys write it: no scheme, no trailing slash. */
export function issuerKeyPrefix(issuer: string): string {
  return issuer.replace(/^https?:\/\//, '').replace(/\/+$/, '');
}
