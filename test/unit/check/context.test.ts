import { describe, expect, it } from '@jest/globals';
import { requestContextResolver } from '../../../src/check/context.js';
import { resolvingContext } from '../../../src/policy/index.js';
import type { Principal } from '../../../src/identity/principal.js';
import type { AuthzRequest } from '../../../src/request/types.js';

const NOW = Date.parse('2026-06-01T12:00:00.000Z');

const request: AuthzRequest = {
  requestId: 'r',
  method: 'PUT',
  path: '/orders/7',
  query: new Map([['Expand', ['items', 'lines']]]),
  host: 'api.example.com',
  headers: { 'x-tenant': 'acme', authorization: 'Bearer secret', cookie: 'session=secret' },
  sourceAddress: '203.0.113.9',
  sourcePrincipal: 'spiffe://example.org/ns/a/sa/b',
  secure: true,
  contextExtensions: { Team: 'blue' },
};

const principal: Principal = {
  kind: 'jwt',
  issuer: 'https://oidc.eks.eu-west-1.amazonaws.com/id/ABC',
  subject: 'system:serviceaccount:orders:billing',
  claims: {
    sub: 'system:serviceaccount:orders:billing',
    aud: ['sts.amazonaws.com'],
    amr: ['pwd', 'mfa'],
    iat: NOW / 1000 - 60,
    Groups: ['a', 'b'],
    realm_access: { roles: ['admin'] },
    'kubernetes.io': { namespace: 'orders' },
  },
  federated: [],
  groups: ['a', 'b'],
  tags: { Team: 'blue' },
};

const context = resolvingContext(
  requestContextResolver(
    request,
    principal,
    { action: 'a:b', resource: 'r', source: 'route[0]', tags: { Tier: 'gold' } },
    NOW,
  ),
);

// Keys as the README's context-key table documents them; names in any case.
const cases: [string, readonly string[] | undefined][] = [
  ['aws:CurrentTime', ['2026-06-01T12:00:00.000Z']],
  ['aws:EpochTime', [String(NOW / 1000)]],
  ['aws:SecureTransport', ['true']],
  ['aws:SourceIp', ['203.0.113.9']],
  ['aws:TokenIssueTime', ['2026-06-01T11:59:00.000Z']],
  ['aws:MultiFactorAuthPresent', ['true']],
  ['aws:PrincipalTag/team', ['blue']],
  ['aws:ResourceTag/tier', ['gold']],
  ['http:method', ['PUT']],
  ['http:path', ['/orders/7']],
  ['http:host', ['api.example.com']],
  ['http:header/X-Tenant', ['acme']],
  ['http:header/authorization', undefined],
  ['http:header/cookie', undefined],
  ['http:query/expand', ['items']],
  ['envoy:context/team', ['blue']],
  ['envoy:source/principal', ['spiffe://example.org/ns/a/sa/b']],
  ['jwt:groups', ['a', 'b']],
  ['jwt:realm_access.roles', ['admin']],
  ['jwt:kubernetes.io.namespace', ['orders']],
  ['jwt:realm_access', undefined],
  ['rolegate:groups', ['a', 'b']],
  ['oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub', ['system:serviceaccount:orders:billing']],
  ['OIDC.EKS.EU-WEST-1.AMAZONAWS.COM/ID/ABC:aud', ['sts.amazonaws.com']],
  ['oidc.eks.eu-west-1.amazonaws.com/id/ABC:amr', ['pwd', 'mfa']],
  ['aws:username', undefined],
];

describe('requestContextResolver', () => {
  it.each(cases)('%s', (key, expected) => {
    expect(context.get(key)).toEqual(expected);
  });

  it('keeps claim lists multivalued', () => {
    expect(context.isMultiValued('jwt:groups')).toBe(true);
    expect(context.isMultiValued('jwt:sub')).toBe(false);
  });

  it('gives no token keys for an mTLS peer', () => {
    const peer: Principal = {
      kind: 'mtls',
      issuer: 'spiffe://example.org',
      subject: 'spiffe://example.org/x',
      claims: {},
      federated: [],
    };
    const ctx = resolvingContext(requestContextResolver(request, peer, undefined, NOW));
    expect(ctx.get('spiffe://example.org:sub')).toBeUndefined();
    expect(ctx.get('jwt:sub')).toBeUndefined();
    expect(ctx.get('envoy:source/principal')).toEqual(['spiffe://example.org/ns/a/sa/b']);
  });
});
