import { describe, it, expect } from '@jest/globals';
import { compilePolicy, type Diagnostic } from '../../../src/policy/index.js';

const origin = { name: 'pol', file: 'f.json' };

function diags(
  statements: unknown,
  version: string | null = '2012-10-17',
  kind: 'identity' | 'resource' = 'identity',
): Diagnostic[] {
  const doc: Record<string, unknown> = { Statement: statements };
  if (version !== null) doc['Version'] = version;
  return [...compilePolicy(doc, { ...origin, kind }).diagnostics];
}

function only(d: readonly Diagnostic[]): Diagnostic {
  expect(d).toHaveLength(1);
  const first = d[0];
  if (first === undefined) throw new Error('no diagnostic');
  return first;
}

const ok = { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' };

describe('compilePolicy: documents', () => {
  it('compiles a valid document without diagnostics', () => {
    const r = compilePolicy({ Version: '2012-10-17', Id: 'x', Statement: [ok] }, origin);
    expect(r.diagnostics).toEqual([]);
    expect(r.policy).toMatchObject({
      name: 'pol',
      file: 'f.json',
      kind: 'identity',
      statementCount: 1,
    });
  });

  it('accepts a single statement object', () => {
    expect(
      compilePolicy({ Version: '2012-10-17', Statement: ok }, origin).policy?.statementCount,
    ).toBe(1);
  });

  it('accepts an absent Version and 2008-10-17', () => {
    expect(diags([ok], null)).toEqual([]);
    expect(diags([ok], '2008-10-17')).toEqual([]);
  });

  it.each([
    [[], 'ERR_POLICY_SHAPE', '$'],
    ['text', 'ERR_POLICY_SHAPE', '$'],
    [{ Version: '2012-10-17' }, 'ERR_POLICY_MISSING_ELEMENT', '$'],
    [{ Version: '2012-10-17', Statement: [] }, 'ERR_POLICY_MISSING_ELEMENT', '$.Statement'],
    [{ Version: '2012-10-17', Statement: 'x' }, 'ERR_POLICY_SHAPE', '$.Statement'],
    [{ Version: '2012-10-18', Statement: [ok] }, 'ERR_POLICY_VERSION', '$.Version'],
    [{ Version: 2012, Statement: [ok] }, 'ERR_POLICY_SHAPE', '$.Version'],
    [{ Version: '2012-10-17', Id: 5, Statement: [ok] }, 'ERR_POLICY_SHAPE', '$.Id'],
    [{ Version: '2012-10-17', Statement: [ok], Extra: 1 }, 'ERR_POLICY_UNKNOWN_ELEMENT', '$.Extra'],
  ])('document %j gives %s at %s', (doc, code, path) => {
    const r = compilePolicy(doc, origin);
    expect(r.policy).toBeUndefined();
    expect(only(r.diagnostics)).toMatchObject({
      code,
      path,
      severity: 'error',
      file: 'f.json',
      policy: 'pol',
    });
  });
});

describe('compilePolicy: statements', () => {
  it.each([
    [{ ...ok, Effect: 'allow' }, 'ERR_POLICY_EFFECT', '$.Statement[0].Effect'],
    [{ ...ok, Effect: 1 }, 'ERR_POLICY_SHAPE', '$.Statement[0].Effect'],
    [{ Action: 's3:*', Resource: '*' }, 'ERR_POLICY_MISSING_ELEMENT', '$.Statement[0]'],
    [{ ...ok, NotAction: 's3:*' }, 'ERR_POLICY_CONFLICTING_ELEMENTS', '$.Statement[0].NotAction'],
    [{ Effect: 'Allow', Resource: '*' }, 'ERR_POLICY_MISSING_ELEMENT', '$.Statement[0]'],
    [{ ...ok, NotResource: '*' }, 'ERR_POLICY_CONFLICTING_ELEMENTS', '$.Statement[0].NotResource'],
    [{ Effect: 'Allow', Action: 's3:*' }, 'ERR_POLICY_MISSING_ELEMENT', '$.Statement[0]'],
    [{ ...ok, Action: 'GetObject' }, 'ERR_POLICY_ACTION', '$.Statement[0].Action'],
    [
      { ...ok, Action: ['s3:GetObject', 's3 Get'] },
      'ERR_POLICY_ACTION',
      '$.Statement[0].Action[1]',
    ],
    [{ ...ok, Action: [] }, 'ERR_POLICY_SHAPE', '$.Statement[0].Action'],
    [{ ...ok, Action: [1] }, 'ERR_POLICY_SHAPE', '$.Statement[0].Action[0]'],
    [{ ...ok, Action: { a: 1 } }, 'ERR_POLICY_SHAPE', '$.Statement[0].Action'],
    [{ ...ok, Resource: 'bucket/*' }, 'ERR_POLICY_ARN', '$.Statement[0].Resource'],
    [{ ...ok, Resource: ['*', 'arn:aws:s3'] }, 'ERR_POLICY_ARN', '$.Statement[0].Resource[1]'],
    [
      { ...ok, Resource: 'arn:aws:s3:${aws:RequestedRegion}::b' },
      'ERR_POLICY_VARIABLE_PLACEMENT',
      '$.Statement[0].Resource',
    ],
    [
      { ...ok, Resource: 'arn:aws:s3:::b/${aws:username' },
      'ERR_POLICY_VARIABLE_SYNTAX',
      '$.Statement[0].Resource',
    ],
    [
      { ...ok, Resource: 'arn:aws:s3:::b/${}' },
      'ERR_POLICY_VARIABLE_SYNTAX',
      '$.Statement[0].Resource',
    ],
    [
      { ...ok, Resource: 'arn:aws:s3:::b/${aws:TagKeys}' },
      'ERR_POLICY_VARIABLE_MULTIVALUED',
      '$.Statement[0].Resource',
    ],
    [{ ...ok, Principal: '*' }, 'ERR_POLICY_PRINCIPAL', '$.Statement[0].Principal'],
    [{ ...ok, Sid: 7 }, 'ERR_POLICY_SHAPE', '$.Statement[0].Sid'],
    [{ ...ok, Foo: 1 }, 'ERR_POLICY_UNKNOWN_ELEMENT', '$.Statement[0].Foo'],
    [{ ...ok, effect: 'Allow' }, 'ERR_POLICY_UNKNOWN_ELEMENT', '$.Statement[0].effect'],
    ['s', 'ERR_POLICY_SHAPE', '$.Statement[0]'],
  ])('statement %j gives %s at %s', (stmt, code, path) => {
    expect(only(diags([stmt]))).toMatchObject({ code, path, statement: '#0' });
  });

  it('names the statement by Sid', () => {
    expect(only(diags([ok, { ...ok, Sid: 'Read', Effect: 'Maybe' }]))).toMatchObject({
      statement: 'Read',
      path: '$.Statement[1].Effect',
    });
  });

  it('rejects duplicate Sids', () => {
    expect(
      only(
        diags([
          { ...ok, Sid: 'A' },
          { ...ok, Sid: 'A' },
        ]),
      ),
    ).toMatchObject({
      code: 'ERR_POLICY_DUPLICATE_SID',
      path: '$.Statement[1].Sid',
      statement: 'A',
    });
  });

  it('reports every problem, not only the first', () => {
    const d = diags([{ Effect: 'Perhaps', Action: 'x', Resource: 'y' }]);
    expect(d.map((x) => x.code).sort()).toEqual([
      'ERR_POLICY_ACTION',
      'ERR_POLICY_ARN',
      'ERR_POLICY_EFFECT',
    ]);
  });

  it('rejects variables under an old or absent Version', () => {
    const stmt = { ...ok, Resource: 'arn:aws:s3:::b/${aws:username}/*' };
    expect(only(diags([stmt], null))).toMatchObject({
      code: 'ERR_POLICY_VARIABLE_VERSION',
      path: '$.Statement[0].Resource',
    });
    expect(only(diags([stmt], '2008-10-17')).code).toBe('ERR_POLICY_VARIABLE_VERSION');
    const c = { ...ok, Condition: { StringEquals: { 'http:path': '${aws:username}' } } };
    expect(only(diags([c], '2008-10-17'))).toMatchObject({
      code: 'ERR_POLICY_VARIABLE_VERSION',
      path: '$.Statement[0].Condition.StringEquals["http:path"]',
    });
  });
});

describe('compilePolicy: trust policies', () => {
  const trust = {
    Effect: 'Allow',
    Principal: { Federated: 'arn:aws:iam::123456789012:oidc-provider/x' },
    Action: 'sts:AssumeRoleWithWebIdentity',
  };
  it('accepts Principal without Resource', () => {
    expect(diags([trust], '2012-10-17', 'resource')).toEqual([]);
  });
  it.each([
    [{ Effect: 'Allow', Action: 'sts:AssumeRole' }, 'ERR_POLICY_MISSING_ELEMENT', '$.Statement[0]'],
    [
      { ...trust, NotPrincipal: '*' },
      'ERR_POLICY_CONFLICTING_ELEMENTS',
      '$.Statement[0].NotPrincipal',
    ],
    [{ ...trust, Principal: 'someone' }, 'ERR_POLICY_PRINCIPAL', '$.Statement[0].Principal'],
    [
      { ...trust, Principal: { Robot: 'x' } },
      'ERR_POLICY_PRINCIPAL',
      '$.Statement[0].Principal.Robot',
    ],
    [
      { ...trust, Principal: { AWS: 'bob' } },
      'ERR_POLICY_PRINCIPAL',
      '$.Statement[0].Principal.AWS',
    ],
    [
      { ...trust, Principal: { AWS: ['123456789012', ''] } },
      'ERR_POLICY_PRINCIPAL',
      '$.Statement[0].Principal.AWS[1]',
    ],
    [{ ...trust, Principal: {} }, 'ERR_POLICY_PRINCIPAL', '$.Statement[0].Principal'],
    [
      { ...trust, Principal: { Federated: 5 } },
      'ERR_POLICY_SHAPE',
      '$.Statement[0].Principal.Federated',
    ],
    [{ ...trust, Resource: 'nope' }, 'ERR_POLICY_ARN', '$.Statement[0].Resource'],
  ])('%j gives %s at %s', (stmt, code, path) => {
    expect(only(diags([stmt], '2012-10-17', 'resource'))).toMatchObject({ code, path });
  });
});

describe('compilePolicy: conditions', () => {
  const withCond = (Condition: unknown): Diagnostic[] => diags([{ ...ok, Condition }]);
  const P = '$.Statement[0].Condition';
  it.each([
    [{ StringEqualz: { 'aws:username': 'a' } }, 'ERR_POLICY_UNKNOWN_OPERATOR', `${P}.StringEqualz`],
    [{ stringequals: { 'aws:username': 'a' } }, 'ERR_POLICY_UNKNOWN_OPERATOR', `${P}.stringequals`],
    [
      { NullIfExists: { 'aws:username': 'true' } },
      'ERR_POLICY_UNKNOWN_OPERATOR',
      `${P}.NullIfExists`,
    ],
    [
      { 'ForAnyValue:Null': { 'aws:TagKeys': 'true' } },
      'ERR_POLICY_UNKNOWN_OPERATOR',
      `${P}["ForAnyValue:Null"]`,
    ],
    [
      { 'ForSomeValues:StringEquals': { 'aws:TagKeys': 'a' } },
      'ERR_POLICY_UNKNOWN_OPERATOR',
      `${P}["ForSomeValues:StringEquals"]`,
    ],
    [
      { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '10.0.0.0/33'] } },
      'ERR_POLICY_BAD_CIDR',
      `${P}.IpAddress["aws:SourceIp"][1]`,
    ],
    [
      { NotIpAddressIfExists: { 'aws:SourceIp': 'home' } },
      'ERR_POLICY_BAD_CIDR',
      `${P}.NotIpAddressIfExists["aws:SourceIp"]`,
    ],
    [
      { DateLessThan: { 'aws:CurrentTime': 'next week' } },
      'ERR_POLICY_BAD_DATE',
      `${P}.DateLessThan["aws:CurrentTime"]`,
    ],
    [{ NumericEquals: { 'app:n': 'ten' } }, 'ERR_POLICY_BAD_NUMBER', `${P}.NumericEquals["app:n"]`],
    [{ NumericEquals: { 'app:n': true } }, 'ERR_POLICY_BAD_NUMBER', `${P}.NumericEquals["app:n"]`],
    [
      { Bool: { 'aws:SecureTransport': 'yes' } },
      'ERR_POLICY_BAD_BOOL',
      `${P}.Bool["aws:SecureTransport"]`,
    ],
    [{ Null: { 'aws:username': 1 } }, 'ERR_POLICY_BAD_BOOL', `${P}.Null["aws:username"]`],
    [
      { BinaryEquals: { 'app:b': 'not base64!' } },
      'ERR_POLICY_BAD_BINARY',
      `${P}.BinaryEquals["app:b"]`,
    ],
    [
      { ArnLike: { 'aws:PrincipalArn': 'role/admin' } },
      'ERR_POLICY_ARN',
      `${P}.ArnLike["aws:PrincipalArn"]`,
    ],
    [
      { ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::${aws:userid}' } },
      'ERR_POLICY_ARN',
      `${P}.ArnEquals["aws:PrincipalArn"]`,
    ],
    [
      { 'ForAnyValue:StringEquals': { 'aws:username': ['a'] } },
      'ERR_POLICY_SET_OPERATOR_SINGLE_VALUED',
      `${P}["ForAnyValue:StringEquals"]["aws:username"]`,
    ],
    [
      { 'ForAllValues:StringLike': { 'http:header/x-team': 'a*' } },
      'ERR_POLICY_SET_OPERATOR_SINGLE_VALUED',
      `${P}["ForAllValues:StringLike"]["http:header/x-team"]`,
    ],
    [
      { StringEquals: { 'aws:username': '${aws:TagKeys}' } },
      'ERR_POLICY_VARIABLE_MULTIVALUED',
      `${P}.StringEquals["aws:username"]`,
    ],
    [
      { StringEquals: { 'aws:username': '${aws:username' } },
      'ERR_POLICY_VARIABLE_SYNTAX',
      `${P}.StringEquals["aws:username"]`,
    ],
    [
      { StringEquals: { 'aws:username': { a: 1 } } },
      'ERR_POLICY_SHAPE',
      `${P}.StringEquals["aws:username"]`,
    ],
    [
      { StringEquals: { 'aws:username': [] } },
      'ERR_POLICY_SHAPE',
      `${P}.StringEquals["aws:username"]`,
    ],
    [
      { StringEquals: { 'aws:username': [null] } },
      'ERR_POLICY_SHAPE',
      `${P}.StringEquals["aws:username"][0]`,
    ],
    [{ StringEquals: 'x' }, 'ERR_POLICY_SHAPE', `${P}.StringEquals`],
    [{ StringEquals: { '': 'x' } }, 'ERR_POLICY_SHAPE', `${P}.StringEquals[""]`],
    ['x', 'ERR_POLICY_SHAPE', P],
  ])('%j gives %s at %s', (condition, code, path) => {
    expect(only(withCond(condition))).toMatchObject({ code, path, severity: 'error' });
  });

  it('accepts set operators on multivalued and unknown keys', () => {
    expect(
      withCond({
        'ForAnyValue:StringEquals': {
          'aws:TagKeys': ['a'],
          'jwt:groups': 'g',
          'x.example.com:amr': 'mfa',
        },
      }),
    ).toEqual([]);
  });

  it('honours a custom key registry', () => {
    const r = compilePolicy(
      {
        Version: '2012-10-17',
        Statement: [{ ...ok, Condition: { 'ForAnyValue:StringEquals': { 'jwt:tenant': 'a' } } }],
      },
      origin,
      { keys: { singleValued: ['jwt:tenant'], multiValued: [] } },
    );
    expect(only(r.diagnostics).code).toBe('ERR_POLICY_SET_OPERATOR_SINGLE_VALUED');
  });
});

describe('compilePolicy: warnings', () => {
  it('warns on Allow * on * without conditions, and still compiles', () => {
    const r = compilePolicy(
      { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
      origin,
    );
    expect(r.policy).toBeDefined();
    expect(only(r.diagnostics)).toMatchObject({
      severity: 'warning',
      code: 'WARN_POLICY_ALLOW_ALL',
      path: '$.Statement[0]',
    });
  });
  it('does not warn when a condition narrows it', () => {
    expect(
      diags([
        {
          Effect: 'Allow',
          Action: '*',
          Resource: '*',
          Condition: { Bool: { 'aws:SecureTransport': 'true' } },
        },
      ]),
    ).toEqual([]);
  });
  it.each([
    [{ Effect: 'Deny', NotAction: '*', Resource: '*' }, '$.Statement[0].NotAction'],
    [
      { Effect: 'Allow', Action: 's3:*', NotResource: ['arn:aws:s3:::a', '*'] },
      '$.Statement[0].NotResource',
    ],
    [
      { ...ok, Condition: { Null: { 'aws:username': 'true', 'AWS:USERNAME': 'false' } } },
      '$.Statement[0].Condition.Null',
    ],
    [
      {
        ...ok,
        Condition: { Null: { 'aws:username': 'true' }, StringEquals: { 'aws:username': 'bob' } },
      },
      '$.Statement[0].Condition.StringEquals',
    ],
  ])('warns that %j never matches', (stmt, path) => {
    expect(only(diags([stmt]))).toMatchObject({
      severity: 'warning',
      code: 'WARN_POLICY_NEVER_MATCHES',
      path,
    });
  });
  it('warns on NotPrincipal "*"', () => {
    expect(
      only(
        diags(
          [{ Effect: 'Deny', NotPrincipal: '*', Action: 'sts:AssumeRole' }],
          '2012-10-17',
          'resource',
        ),
      ).code,
    ).toBe('WARN_POLICY_NEVER_MATCHES');
  });
  it('Null true with an IfExists condition is fine', () => {
    expect(
      diags([
        {
          ...ok,
          Condition: {
            Null: { 'aws:username': 'true' },
            StringEqualsIfExists: { 'aws:username': 'bob' },
          },
        },
      ]),
    ).toEqual([]);
  });
});
