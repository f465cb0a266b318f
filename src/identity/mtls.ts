/**
 * mTLS peers as principals: the identity Envoy verified on the downstream
 * connection (`source.principal`, a SPIFFE URI SAN in a mesh), used when a
 * request carries no token and the config enables it.
 */
import type { MtlsConfig } from './options.js';
import type { AuthzRequest } from '../request/types.js';
import type { Principal } from './principal.js';

const SPIFFE_ID = /^spiffe:\/\/([a-z0-9._-]+)(\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?$/;

/** The peer principal, or undefined when mTLS is off, absent, or outside the trust domains. */
export function peerPrincipal(request: AuthzRequest, mtls: MtlsConfig): Principal | undefined {
  if (!mtls.enabled || request.sourcePrincipal === undefined) return undefined;
  const m = SPIFFE_ID.exec(request.sourcePrincipal);
  if (!m || m[1] === undefined) return undefined;
  const domain = m[1];
  if (mtls.trustDomains.length > 0 && !mtls.trustDomains.includes(domain)) return undefined;
  return {
    kind: 'mtls',
    issuer: `spiffe://${domain}`,
    subject: request.sourcePrincipal,
    claims: {},
    federated: [],
  };
}
