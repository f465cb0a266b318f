/** Who the caller is, once a credential has been verified. */
export interface Principal {
  /** How the caller proved itself. */
  readonly kind: 'jwt';
  /** Exact `iss` of the token. */
  readonly issuer: string;
  /** `sub` of the token. */
  readonly subject: string;
  /** All claims of the verified token. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Names the caller matches as `Principal.Federated` in trust policies. */
  readonly federated: readonly string[];
  /** `exp` in epoch seconds, when the token has one. */
  readonly expiresAt?: number;
}

/** The issuer as AWS web-identity condition keys write it: no scheme, no trailing slash. */
export function issuerKeyPrefix(issuer: string): string {
  return issuer.replace(/^https?:\/\//, '').replace(/\/+$/, '');
}
