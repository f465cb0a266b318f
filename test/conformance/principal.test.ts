import { describe, it } from '@jest/globals';
import { check, checkRefused, DOCS, type Case, type Refusal } from './harness.js';

const P = DOCS.principal;
const NP = DOCS.notPrincipal;
const ISSUER = 'arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC';

const trust = (
  name: string,
  doc: Case['doc'],
  stmt: Record<string, unknown>,
  principal: Case['principal'],
  holds: boolean,
  context: Case['context'] = {},
): Case => ({
  name,
  doc,
  kind: 'resource',
  policy: [{ Effect: 'Allow', Action: 'sts:AssumeRoleWithWebIdentity', ...stmt }],
  action: 'sts:AssumeRoleWithWebIdentity',
  resource: 'arn:aws:iam::123456789012:role/app',
  ...(principal !== undefined ? { principal } : {}),
  context,
  expect: holds ? 'Allow' : 'ImplicitDeny',
});

const cases: Case[] = [
  trust('"*" matches anyone', P, { Principal: '*' }, { Federated: ['x'] }, true),
  trust('"*" matches even without a principal', P, { Principal: '*' }, undefined, true),
  trust('{"AWS": "*"} matches anyone', P, { Principal: { AWS: '*' } }, { Federated: ['x'] }, true),
  trust(
    'Federated exact match',
    P,
    { Principal: { Federated: ISSUER } },
    { Federated: [ISSUER] },
    true,
  ),
  trust(
    'Federated other provider',
    P,
    { Principal: { Federated: ISSUER } },
    { Federated: [`${ISSUER}X`] },
    false,
  ),
  trust(
    'Federated is case-sensitive',
    P,
    { Principal: { Federated: ISSUER } },
    { Federated: [ISSUER.toLowerCase()] },
    false,
  ),
  trust(
    'principal type must match',
    P,
    { Principal: { Federated: ISSUER } },
    { AWS: [ISSUER] },
    false,
  ),
  trust(
    'list of principals: OR',
    P,
    { Principal: { Federated: ['a', ISSUER] } },
    { Federated: [ISSUER] },
    true,
  ),
  trust(
    'AWS account id equals the account root ARN',
    P,
    { Principal: { AWS: '123456789012' } },
    { AWS: ['arn:aws:iam::123456789012:root'] },
    true,
  ),
  trust(
    'account root ARN equals the account id',
    P,
    { Principal: { AWS: 'arn:aws:iam::123456789012:root' } },
    { AWS: ['123456789012'] },
    true,
  ),
  trust(
    'AWS role ARN exact',
    P,
    { Principal: { AWS: 'arn:aws:iam::123456789012:role/ci' } },
    { AWS: ['arn:aws:iam::123456789012:role/ci'] },
    true,
  ),
  trust(
    'AWS role ARN other role',
    P,
    { Principal: { AWS: 'arn:aws:iam::123456789012:role/ci' } },
    { AWS: ['arn:aws:iam::123456789012:role/cd'] },
    false,
  ),
  trust(
    'Service principal',
    P,
    { Principal: { Service: 'ec2.amazonaws.com' } },
    { Service: ['ec2.amazonaws.com'] },
    true,
  ),
  trust(
    'no request principal: named principal does not match',
    P,
    { Principal: { Federated: ISSUER } },
    undefined,
    false,
  ),
  trust(
    'web identity trust with sub condition',
    P,
    {
      Principal: { Federated: ISSUER },
      Condition: {
        StringEquals: {
          'oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub': 'system:serviceaccount:ns:sa',
        },
      },
    },
    { Federated: [ISSUER] },
    true,
    { 'oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub': 'system:serviceaccount:ns:sa' },
  ),
  trust(
    'web identity trust with wrong sub',
    P,
    {
      Principal: { Federated: ISSUER },
      Condition: {
        StringEquals: {
          'oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub': 'system:serviceaccount:ns:sa',
        },
      },
    },
    { Federated: [ISSUER] },
    false,
    { 'oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub': 'system:serviceaccount:ns:other' },
  ),
  trust(
    'NotPrincipal: listed principal does not match',
    NP,
    { NotPrincipal: { Federated: ISSUER } },
    { Federated: [ISSUER] },
    false,
  ),
  trust(
    'NotPrincipal: other principal matches',
    NP,
    { NotPrincipal: { Federated: ISSUER } },
    { Federated: ['other'] },
    true,
  ),
  {
    name: 'Deny with NotPrincipal denies everyone else',
    doc: NP,
    kind: 'resource',
    policy: [
      { Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole' },
      {
        Effect: 'Deny',
        NotPrincipal: { AWS: 'arn:aws:iam::123456789012:role/ci' },
        Action: 'sts:AssumeRole',
      },
    ],
    action: 'sts:AssumeRole',
    principal: { AWS: ['arn:aws:iam::123456789012:role/other'] },
    expect: 'ExplicitDeny',
  },
  {
    name: 'Deny with NotPrincipal spares the listed principal',
    doc: NP,
    kind: 'resource',
    policy: [
      { Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole' },
      {
        Effect: 'Deny',
        NotPrincipal: { AWS: 'arn:aws:iam::123456789012:role/ci' },
        Action: 'sts:AssumeRole',
      },
    ],
    action: 'sts:AssumeRole',
    principal: { AWS: ['arn:aws:iam::123456789012:role/ci'] },
    expect: 'Allow',
  },
  {
    name: 'identity policies ignore the request principal',
    doc: P,
    policy: [{ Effect: 'Allow', Action: 'svc:Do', Resource: '*' }],
    principal: { AWS: ['anyone'] },
    expect: 'Allow',
  },
];

// "You cannot use NotPrincipal in an identity-based policy or in an IAM role
// trust policy." (NotPrincipal page.) The cases above are resource policies.
const refusals: Refusal[] = [
  {
    name: 'NotPrincipal in a role trust policy',
    doc: NP,
    kind: 'trust',
    policy: [
      {
        Effect: 'Allow',
        NotPrincipal: { Federated: ISSUER },
        Action: 'sts:AssumeRoleWithWebIdentity',
      },
    ],
    code: 'ERR_POLICY_PRINCIPAL',
    path: '$.Statement[0].NotPrincipal',
  },
  {
    name: 'NotPrincipal in a Deny of a role trust policy',
    doc: NP,
    kind: 'trust',
    policy: [
      { Sid: 'Web', Effect: 'Allow', Principal: { Federated: ISSUER }, Action: 'sts:*' },
      { Sid: 'NotCi', Effect: 'Deny', NotPrincipal: { AWS: '123456789012' }, Action: 'sts:*' },
    ],
    code: 'ERR_POLICY_PRINCIPAL',
    path: '$.Statement[1].NotPrincipal',
  },
  {
    name: 'NotPrincipal in an identity policy',
    doc: NP,
    policy: [
      { Effect: 'Allow', NotPrincipal: { AWS: '123456789012' }, Action: 's3:*', Resource: '*' },
    ],
    code: 'ERR_POLICY_PRINCIPAL',
    path: '$.Statement[0].NotPrincipal',
  },
];

describe('Principal and NotPrincipal in trust policies (IAM User Guide)', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => check(c));
  it('a role trust policy with Principal still loads', () =>
    check({
      name: 'trust policy with Principal',
      doc: P,
      kind: 'trust',
      policy: [
        {
          Effect: 'Allow',
          Principal: { Federated: ISSUER },
          Action: 'sts:AssumeRoleWithWebIdentity',
        },
      ],
      action: 'sts:AssumeRoleWithWebIdentity',
      principal: { Federated: [ISSUER] },
      expect: 'Allow',
    }));
  it.each(refusals.map((r) => [r.name, r] as const))('refused: %s', (_name, r) => checkRefused(r));
});
