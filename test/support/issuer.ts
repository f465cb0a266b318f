import { DEFAULT_ALGORITHMS, type IssuerConfig } from '../../src/config/schema.js';

/** A validated issuer config with the documented defaults, for unit tests. */
export function issuerConfig(issuer: string, extra: Partial<IssuerConfig> = {}): IssuerConfig {
  return {
    issuer,
    audiences: ['api'],
    algorithms: [...DEFAULT_ALGORITHMS],
    clockToleranceSeconds: 0,
    federatedPrincipals: [],
    requiredClaims: {},
    tagClaims: {},
    claimPatterns: {},
    token: { kind: 'bearer' },
    keys: { maxAgeSeconds: 600, cooldownSeconds: 30, staleSeconds: 3600 },
    ...extra,
  };
}
