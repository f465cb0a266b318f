/**
 * The parties of a decision, as every phase after the one that found them
 * reads them: who the caller is, what the request means in IAM terms, and
 * which role decided. Types only: identity, route and roles produce them;
 * response, audit, metrics and the AWS phase read them through here.
 */

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
  /**
   * Set on the copy the token cache holds, which later calls read again:
   * only such a principal gets per-principal memos (trust verdicts, claim
   * header values). A principal verified for one call gets none, because a
   * weak map's values outlive their key through V8's scavenges and a memo
   * of a one-off token was measured to be promoted to old space.
   */
  readonly memoise?: true;
}

/** The IAM view of one HTTP request. */
export interface RouteMatch {
  readonly action: string;
  readonly resource: string;
  /** Where the mapping came from: `context_extensions`, `route[<i>]` or `default`. */
  readonly source: string;
  /** `aws:ResourceTag/<k>` values. */
  readonly tags: Readonly<Record<string, string>>;
  /**
   * The Backstage entity (normalised ref) whose catalog tags join `tags`
   * (owner, system, lifecycle) before any policy reads them; absent for
   * routes without one.
   */
  readonly entity?: string;
  /** Temporary AWS credentials for the upstream: `required` or `optional`; absent = none. */
  readonly credentials?: 'required' | 'optional';
}

/** The role that decided a request (a configured or IAM-loaded role). */
export interface DecidedRole {
  readonly name: string;
  readonly arn: string;
}
