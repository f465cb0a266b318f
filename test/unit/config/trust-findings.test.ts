/**
 * Trust policies that can never match (docs/findings.md): condition keys
 * no configured source provides, `Federated` names no issuer answers to,
 * and roles no configured identity can assume. Each case is a whole
 * configuration loaded as `rolegate validate --config` loads it.
 */
import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../../src/config/load.js';
import { securityFindings } from '../../../src/config/security.js';
import type { Finding } from '../../../src/config/finding.js';

const DEV = 'http://127.0.0.1:9100';
const LOGIN = 'https://login.example.com';
const EKS = 'https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';
const EKS_ARN =
  'arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';

const NEW_CODES = new Set([
  'WARN_TRUST_KEY_UNPROVIDED',
  'WARN_TRUST_FEDERATED_UNKNOWN',
  'WARN_ROLE_TRUST_UNSATISFIABLE',
]);

type Statement = Record<string, unknown>;

/** A web-identity Allow trusting `federated` under `condition`. */
function web(condition?: Record<string, unknown>, federated: unknown = DEV): Statement {
  return {
    Effect: 'Allow',
    Principal: { Federated: federated },
    Action: 'sts:AssumeRoleWithWebIdentity',
    ...(condition === undefined ? {} : { Condition: condition }),
  };
}

interface Setup {
  readonly issuers?: readonly Record<string, unknown>[];
  readonly mtls?: Record<string, unknown>;
  readonly access?: Record<string, unknown>;
}

/** One role `r` with trust `statements`, read by `rolegate validate --config`. */
function findingsOf(statements: readonly Statement[], setup: Setup = {}): Finding[] {
  const config = {
    issuers: setup.issuers ?? [{ issuer: DEV, audiences: ['rolegate-dev'] }],
    ...(setup.mtls === undefined ? {} : { mtls: setup.mtls }),
    ...(setup.access === undefined ? {} : { access: setup.access }),
    roles: [
      {
        name: 'r',
        trustPolicy: { Version: '2012-10-17', Statement: statements },
        policies: {
          read: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*' }],
          },
        },
      },
    ],
  };
  const loaded = loadConfig({ file: 'rolegate.yaml', text: JSON.stringify(config) });
  return securityFindings(loaded, 'rolegate.yaml').filter((f) => NEW_CODES.has(f.code));
}

/** `[code, path]` of each finding, paths relative to the role's trust statements. */
function brief(found: readonly Finding[]): [string, string][] {
  return found.map((f) => [
    f.code,
    (f.path ?? '').replace('$.roles[0].trustPolicy.Statement', 'S').replace('$.roles[0]', 'R'),
  ]);
}

const ON_MTLS = { enabled: true, trustDomains: ['example.org'] };

describe('WARN_TRUST_KEY_UNPROVIDED: condition keys no configured source provides', () => {
  it.each<[string, Statement[], Setup, [string, string][], string]>([
    [
      'localhost for the configured 127.0.0.1',
      [web({ StringEquals: { 'localhost:9100:aud': 'rolegate-dev' } })],
      {},
      [
        ['WARN_TRUST_KEY_UNPROVIDED', 'S[0].Condition.StringEquals["localhost:9100:aud"]'],
        ['WARN_ROLE_TRUST_UNSATISFIABLE', 'R.trustPolicy'],
      ],
      'did you mean 127.0.0.1:9100:aud (issuer http://127.0.0.1:9100)?',
    ],
    [
      'the issuer with its scheme',
      [web({ StringEquals: { 'http://127.0.0.1:9100:sub': 'alice' } })],
      {},
      [
        ['WARN_TRUST_KEY_UNPROVIDED', 'S[0].Condition.StringEquals["http://127.0.0.1:9100:sub"]'],
        ['WARN_ROLE_TRUST_UNSATISFIABLE', 'R.trustPolicy'],
      ],
      'did you mean 127.0.0.1:9100:sub',
    ],
    [
      'the issuer with a trailing slash',
      [web({ StringEquals: { 'login.example.com/:sub': 'alice' } }, `${LOGIN}/`)],
      { issuers: [{ issuer: `${LOGIN}/`, audiences: ['api'] }] },
      [
        ['WARN_TRUST_KEY_UNPROVIDED', 'S[0].Condition.StringEquals["login.example.com/:sub"]'],
        ['WARN_ROLE_TRUST_UNSATISFIABLE', 'R.trustPolicy'],
      ],
      'did you mean login.example.com:sub (issuer https://login.example.com/)?',
    ],
    [
      'a misspelt host',
      [web({ StringEquals: { 'logn.example.com:aud': 'api' } }, LOGIN)],
      { issuers: [{ issuer: LOGIN, audiences: ['api'] }] },
      [
        ['WARN_TRUST_KEY_UNPROVIDED', 'S[0].Condition.StringEquals["logn.example.com:aud"]'],
        ['WARN_ROLE_TRUST_UNSATISFIABLE', 'R.trustPolicy'],
      ],
      'logn.example.com names no configured issuer',
    ],
    [
      'a claim other than sub, aud or amr under the issuer prefix',
      [web({ StringEquals: { '127.0.0.1:9100:email': 'a@example.com' } })],
      {},
      [
        ['WARN_TRUST_KEY_UNPROVIDED', 'S[0].Condition.StringEquals["127.0.0.1:9100:email"]'],
        ['WARN_ROLE_TRUST_UNSATISFIABLE', 'R.trustPolicy'],
      ],
      'did you mean jwt:email?',
    ],
    [
      'an unknown issuer and a claim that is no issuer key',
      [web({ StringEquals: { 'accounts.google.com:oaud': 'x' } })],
      {},
      [
        ['WARN_TRUST_KEY_UNPROVIDED', 'S[0].Condition.StringEquals["accounts.google.com:oaud"]'],
        ['WARN_ROLE_TRUST_UNSATISFIABLE', 'R.trustPolicy'],
      ],
      'accounts.google.com names no configured issuer), so StringEquals on it never holds and the statement admits no one; did you mean jwt:oaud?',
    ],
    [
      'the key of a configured issuer the statement does not admit',
      [web({ StringEquals: { 'login.example.com:sub': 'alice' } })],
      {
        issuers: [
          { issuer: DEV, audiences: ['rolegate-dev'] },
          { issuer: LOGIN, audiences: ['api'] },
        ],
      },
      [
        ['WARN_TRUST_KEY_UNPROVIDED', 'S[0].Condition.StringEquals["login.example.com:sub"]'],
        ['WARN_ROLE_TRUST_UNSATISFIABLE', 'R.trustPolicy'],
      ],
      "login.example.com is issuer https://login.example.com's, but this statement admits only tokens of http://127.0.0.1:9100",
    ],
    [
      'a principal tag no tagClaims defines',
      [web({ StringEquals: { 'aws:PrincipalTag/teem': 'red' } })],
      { issuers: [{ issuer: DEV, audiences: ['rolegate-dev'], tagClaims: { team: 'org.team' } }] },
      [
        ['WARN_TRUST_KEY_UNPROVIDED', 'S[0].Condition.StringEquals["aws:PrincipalTag/teem"]'],
        ['WARN_ROLE_TRUST_UNSATISFIABLE', 'R.trustPolicy'],
      ],
      'did you mean aws:PrincipalTag/team?',
    ],
    [
      'rolegate:groups without a groupsClaim',
      [web({ 'ForAnyValue:StringEquals': { 'rolegate:groups': ['admins'] } })],
      {},
      [
        [
          'WARN_TRUST_KEY_UNPROVIDED',
          'S[0].Condition["ForAnyValue:StringEquals"]["rolegate:groups"]',
        ],
        ['WARN_ROLE_TRUST_UNSATISFIABLE', 'R.trustPolicy'],
      ],
      'sets groupsClaim',
    ],
    [
      'a token key in an mTLS (sts:AssumeRole) statement',
      [
        {
          Effect: 'Allow',
          Principal: { Spiffe: 'spiffe://example.org/ns/billing/sa/billing' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'jwt:sub': 'billing' } },
        },
      ],
      { mtls: ON_MTLS },
      [
        ['WARN_TRUST_KEY_UNPROVIDED', 'S[0].Condition.StringEquals["jwt:sub"]'],
        ['WARN_ROLE_TRUST_UNSATISFIABLE', 'R.trustPolicy'],
      ],
      'an mTLS peer (sts:AssumeRole) carries no token',
    ],
    [
      'a negated operator: the condition always holds (the role stays assumable)',
      [web({ StringNotEquals: { 'localhost:9100:sub': 'mallory' } })],
      {},
      [['WARN_TRUST_KEY_UNPROVIDED', 'S[0].Condition.StringNotEquals["localhost:9100:sub"]']],
      'StringNotEquals on it always holds and checks nothing',
    ],
    [
      'Null false requires the key',
      [web({ Null: { 'aws:PrincipalTag/team': 'false' } })],
      {},
      [
        ['WARN_TRUST_KEY_UNPROVIDED', 'S[0].Condition.Null["aws:PrincipalTag/team"]'],
        ['WARN_ROLE_TRUST_UNSATISFIABLE', 'R.trustPolicy'],
      ],
      'Null on it never holds and the statement admits no one',
    ],
    [
      'a Deny that never applies',
      [web(), { ...web({ StringEquals: { 'localhost:9100:sub': 'mallory' } }), Effect: 'Deny' }],
      {},
      [['WARN_TRUST_KEY_UNPROVIDED', 'S[1].Condition.StringEquals["localhost:9100:sub"]']],
      'the Deny never applies',
    ],
  ])('%s', (_name, statements, setup, expected, message) => {
    const found = findingsOf(statements, setup);
    expect(brief(found)).toEqual(expected);
    expect(found[0]?.message).toContain(message);
    expect(found[0]).toMatchObject({
      severity: 'warning',
      file: 'rolegate.yaml',
      policy: 'r/trust',
      statement: expected[0]?.[1].startsWith('S[1]') === true ? '#1' : '#0',
      doc: `docs/findings.md#${expected[0]?.[0].toLowerCase() ?? ''}`,
    });
  });

  it.each<[string, Statement[], Setup]>([
    ['the issuer without its scheme', [web({ StringEquals: { '127.0.0.1:9100:aud': 'x' } })], {}],
    ['key names ignore case', [web({ StringEquals: { '127.0.0.1:9100:AUD': 'x' } })], {}],
    ['amr under the issuer prefix', [web({ StringEquals: { '127.0.0.1:9100:amr': 'mfa' } })], {}],
    ['any jwt: claim', [web({ 'ForAnyValue:StringEquals': { 'jwt:groups': ['admins'] } })], {}],
    [
      'a principal tag of tagClaims (any case)',
      [web({ StringEquals: { 'aws:PrincipalTag/Team': 'red' } })],
      { issuers: [{ issuer: DEV, audiences: ['rolegate-dev'], tagClaims: { team: 'org.team' } }] },
    ],
    [
      'rolegate:groups with a groupsClaim',
      [web({ 'ForAnyValue:StringEquals': { 'rolegate:groups': ['admins'] } })],
      { issuers: [{ issuer: DEV, audiences: ['rolegate-dev'], groupsClaim: 'groups' }] },
    ],
    [
      'request keys are not judged',
      [
        web({
          IpAddress: { 'aws:SourceIp': '10.0.0.0/8' },
          StringEquals: { 'http:header/x-team': 'red', 'envoy:context/tier': 'gold' },
        }),
      ],
      {},
    ],
    ['a namespace that is no host is not judged', [web({ StringEquals: { 'app:size': '1' } })], {}],
    [
      'an EKS issuer named by its IAM OIDC provider ARN',
      [
        web(
          {
            StringEquals: {
              'oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub':
                'system:serviceaccount:orders:billing',
            },
          },
          EKS_ARN,
        ),
      ],
      {
        issuers: [
          { issuer: EKS, audiences: ['sts.amazonaws.com'], federatedPrincipals: [EKS_ARN] },
        ],
      },
    ],
    [
      'Principal "*" admits every issuer, so either key is provided',
      [{ ...web({ StringEquals: { 'login.example.com:sub': 'alice' } }), Principal: '*' }],
      {
        issuers: [
          { issuer: DEV, audiences: ['rolegate-dev'] },
          { issuer: LOGIN, audiences: ['api'] },
        ],
      },
    ],
    [
      'an mTLS statement testing the peer only',
      [
        {
          Effect: 'Allow',
          Principal: { Spiffe: 'spiffe://example.org/ns/billing/sa/billing' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'envoy:source/principal': 'x' } },
        },
      ],
      { mtls: ON_MTLS },
    ],
  ])('no finding: %s', (_name, statements, setup) => {
    expect(brief(findingsOf(statements, setup))).toEqual([]);
  });
});

describe('WARN_TRUST_FEDERATED_UNKNOWN: Federated names that no configured issuer answers to', () => {
  it.each<[string, unknown, readonly Record<string, unknown>[], string, string]>([
    [
      'another domain',
      'https://login.example.org',
      [{ issuer: LOGIN, audiences: ['api'] }],
      'S[0].Principal.Federated',
      'did you mean https://login.example.com?',
    ],
    [
      'localhost for 127.0.0.1',
      'http://localhost:9100',
      [{ issuer: DEV, audiences: ['rolegate-dev'] }],
      'S[0].Principal.Federated',
      'did you mean http://127.0.0.1:9100?',
    ],
    [
      'without the trailing slash the issuer has (names are compared exactly)',
      LOGIN,
      [{ issuer: `${LOGIN}/`, audiences: ['api'] }],
      'S[0].Principal.Federated',
      'did you mean https://login.example.com/?',
    ],
    [
      'the second of a list',
      [DEV, 'http://127.0.0.1:9200'],
      [{ issuer: DEV, audiences: ['rolegate-dev'] }],
      'S[0].Principal.Federated[1]',
      'did you mean http://127.0.0.1:9100?',
    ],
    [
      "an IAM provider ARN not in the issuer's federatedPrincipals",
      EKS_ARN,
      [{ issuer: EKS, audiences: ['sts.amazonaws.com'] }],
      'S[0].Principal.Federated',
      `did you mean ${EKS}?`,
    ],
  ])('%s', (_name, federated, issuers, path, message) => {
    const found = findingsOf([web({ StringEquals: { 'jwt:sub': 'alice' } }, federated)], {
      issuers,
    });
    const unknown = found.filter((f) => f.code === 'WARN_TRUST_FEDERATED_UNKNOWN');
    expect(brief(unknown)).toEqual([['WARN_TRUST_FEDERATED_UNKNOWN', path]]);
    expect(unknown[0]?.message).toContain(message);
    // A list with one configured issuer still admits its tokens.
    const assumable = Array.isArray(federated);
    expect(found.some((f) => f.code === 'WARN_ROLE_TRUST_UNSATISFIABLE')).toBe(!assumable);
  });

  it.each<[string, unknown, readonly Record<string, unknown>[]]>([
    ['the issuer URL', DEV, [{ issuer: DEV, audiences: ['x'] }]],
    ['the issuer without its scheme', '127.0.0.1:9100', [{ issuer: DEV, audiences: ['x'] }]],
    [
      'a federatedPrincipals name',
      EKS_ARN,
      [{ issuer: EKS, audiences: ['x'], federatedPrincipals: [EKS_ARN] }],
    ],
    ['any issuer', '*', [{ issuer: DEV, audiences: ['x'] }]],
  ])('no finding: %s', (_name, federated, issuers) => {
    const found = findingsOf([web({ StringEquals: { 'jwt:sub': 'alice' } }, federated)], {
      issuers,
    });
    expect(brief(found)).toEqual([]);
  });
});

describe('WARN_ROLE_TRUST_UNSATISFIABLE: roles no configured identity can assume', () => {
  const peer = (id: string): Statement => ({
    Effect: 'Allow',
    Principal: { Spiffe: id },
    Action: 'sts:AssumeRole',
  });

  it.each<[string, Statement[], Setup, string]>([
    [
      'sts:AssumeRole with mTLS off',
      [peer('spiffe://example.org/ns/a/sa/b')],
      {},
      'sts:AssumeRole is for mTLS peers and mtls.enabled is false',
    ],
    [
      'a SPIFFE peer outside the trust domains',
      [peer('spiffe://other.org/ns/a/sa/b')],
      { mtls: ON_MTLS },
      'is outside mtls.trustDomains (example.org)',
    ],
    [
      'no trust action rolegate asks for',
      [{ Effect: 'Allow', Principal: { Federated: DEV }, Action: 'sts:TagSession' }],
      {},
      'allows neither sts:AssumeRoleWithWebIdentity nor sts:AssumeRole',
    ],
    [
      'no issuer configured',
      [web({ StringEquals: { 'jwt:sub': 'a' } })],
      { issuers: [] },
      'no issuer is configured',
    ],
    [
      'every statement fails, each for its reason',
      [
        web({ StringEquals: { 'localhost:9100:aud': 'rolegate-dev' } }),
        web({ StringEquals: { 'jwt:sub': 'a' } }, 'http://localhost:9100'),
      ],
      {},
      'statement #0: it needs localhost:9100:aud, which no admitted token has; statement #1: Principal.Federated http://localhost:9100 is no configured issuer',
    ],
  ])('%s', (_name, statements, setup, message) => {
    const role = findingsOf(statements, setup).filter(
      (f) => f.code === 'WARN_ROLE_TRUST_UNSATISFIABLE',
    );
    expect(brief(role)).toEqual([['WARN_ROLE_TRUST_UNSATISFIABLE', 'R.trustPolicy']]);
    expect(role[0]?.message).toContain('role r can never be assumed');
    expect(role[0]?.message).toContain(message);
  });

  it.each<[string, Statement[], Setup]>([
    [
      'one good statement is enough',
      [
        web({ StringEquals: { 'localhost:9100:aud': 'x' } }),
        web({ StringEquals: { 'jwt:sub': 'a' } }),
      ],
      {},
    ],
    [
      'an mTLS peer of the trust domains',
      [peer('spiffe://example.org/ns/a/sa/b')],
      { mtls: ON_MTLS },
    ],
    ['any mTLS peer', [peer('*')], { mtls: { enabled: true } }],
    [
      'IfExists and ForAllValues hold on a missing key',
      [
        web({
          StringEqualsIfExists: { 'localhost:9100:aud': 'x' },
          'ForAllValues:StringEquals': { 'rolegate:groups': ['a'] },
        }),
      ],
      {},
    ],
    [
      'a role granted just in time only',
      [web({ StringEquals: { 'localhost:9100:aud': 'x' } })],
      { access: { enabled: true, roles: { r: {} } } },
    ],
  ])('no role finding: %s', (_name, statements, setup) => {
    const found = findingsOf(statements, setup);
    expect(found.filter((f) => f.code === 'WARN_ROLE_TRUST_UNSATISFIABLE')).toEqual([]);
  });
});
