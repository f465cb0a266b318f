/** The transport-neutral request every pipeline phase works on. */
export interface AuthzRequest {
  /** Envoy's request id (`x-request-id`), or empty. */
  readonly requestId: string;
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Path without the query string, as sent (not percent-decoded). */
  readonly path: string;
  /** Query parameters; the first value of a repeated name is `http:query/<name>`. */
  readonly query: ReadonlyMap<string, readonly string[]>;
  /** Host (authority) without a trailing dot, lower-cased. */
  readonly host: string;
  /** Lower-cased header names; repeated headers joined with `,` as HTTP allows. */
  readonly headers: Readonly<Record<string, string>>;
  /** The downstream peer's IP address, when Envoy sent one. */
  readonly sourceAddress?: string;
  /** The mTLS peer identity Envoy saw (URI SAN, e.g. a SPIFFE ID). */
  readonly sourcePrincipal?: string;
  /** True when the downstream connection used TLS. */
  readonly secure: boolean;
  /** Envoy per-route `check_settings.context_extensions`. */
  readonly contextExtensions: Readonly<Record<string, string>>;
}
