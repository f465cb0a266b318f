/** Who the caller is, once a credential has been verified. */
export interface Principal {
  /** How the caller proved itself: a verified JWT, or the mTLS peer identity Envoy saw. */
  readonly kind: 'jwt' | 'mtls';
  /** Exact `iss` of the token; for mTLS peers the SPIFFE trust domain URI (`spiffe://<domain>`). */
  readonly issuer: string;
  /** `sub` of the token, or the peer's URI SAN. */
  readonly subject: string;
  /** All claims of the verified token (empty for mTLS peers). */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Names the caller matches as `Principal.Federated` in trust policies. */
  readonly federated: readonly string[];
  /** Groups from the issuer's `groupsClaim`, as `rolegate:groups`. */
  readonly groups?: readonly string[];
  /** Principal tags from the issuer's `tagClaims`, as `aws:PrincipalTag/<tag>`. */
  readonly tags?: Readonly<Record<string, string>>;
  /** `exp` in epoch seconds, when the token has one. */
  readonly expiresAt?: number;
}

/** The issuer as AWS web-identity condition keys write it: no scheme, no trailing slash. */
export function issuerKeyPrefix(issuer: string): string {
  return issuer.replace(/^https?:\/\//, '').replace(/\/+$/, '');
}
