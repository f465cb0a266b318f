import {
  DEFAULT_ALGORITHMS,
  DEFAULT_ISSUER_KEYS,
  DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  type IssuerConfig,
} from '../../src/identity/options.js';

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
    keys: DEFAULT_ISSUER_KEYS,
    maxTokenLifetimeSeconds: DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
    ...extra,
  };
}
