import type { ErrorCode } from '../errors.js';

/** The transport-neutral request every pipeline phase works on. */
export interface AuthzRequest {
  /** The `x-request-id` header when printable ASCII of at most 128 characters, else Envoy's stream id, or empty. */
  readonly requestId: string;
  /** Upper-case HTTP method. */
  readonly method: string;
  /**
   * The canonical path (see `canonical-path.ts`): percent-decoded once, dot
   * segments resolved, empty segments and a trailing `/` dropped. Empty
   * when `refused` is set.
   */
  readonly path: string;
  /** Query parameters; the first value of a repeated name is `http:query/<name>`. */
  readonly query: ReadonlyMap<string, readonly string[]>;
  /** Host (authority) without a trailing dot, lower-cased. */
  readonly host: string;
  /** Lower-cased header names; repeated headers joined with `,` as HTTP allows. */
  readonly headers: Readonly<Record<string, string>>;
  /** The downstream peer's IP address in canonical form (IPv4-mapped IPv6 as IPv4), when Envoy sent one. */
  readonly sourceAddress?: string;
  /** The mTLS peer identity Envoy saw (URI SAN, e.g. a SPIFFE ID). */
  readonly sourcePrincipal?: string;
  /** True when the downstream connection used TLS. */
  readonly secure: boolean;
  /** Envoy per-route `check_settings.context_extensions`. */
  readonly contextExtensions: Readonly<Record<string, string>>;
  /** Set when the request cannot be canonicalised: the check denies with this code, reading nothing else. */
  readonly refused?: ErrorCode;
}
