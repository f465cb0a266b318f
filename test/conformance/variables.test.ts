import { describe, it } from '@jest/globals';
import { check, cond, DOCS, type Case } from './harness.js';

const V = DOCS.variables;

const res = (
  resource: string,
  requested: string,
  context: Case['context'],
  holds: boolean,
  name: string,
): Case => ({
  name,
  doc: V,
  policy: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: resource }],
  action: 's3:GetObject',
  resource: requested,
  ...(context !== undefined ? { context } : {}),
  expect: holds ? 'Allow' : 'ImplicitDeny',
});

const cases: Case[] = [
  res(
    'arn:aws:s3:::bucket/home/${aws:username}/*',
    'arn:aws:s3:::bucket/home/bob/f',
    { 'aws:username': 'bob' },
    true,
    'variable in the resource part',
  ),
  res(
    'arn:aws:s3:::bucket/home/${aws:username}/*',
    'arn:aws:s3:::bucket/home/alice/f',
    { 'aws:username': 'bob' },
    false,
    'variable with another user',
  ),
  res(
    'arn:aws:s3:::bucket/home/${AWS:UserName}/*',
    'arn:aws:s3:::bucket/home/bob/f',
    { 'aws:username': 'bob' },
    true,
    'variable key names are case-insensitive',
  ),
  res(
    'arn:aws:s3:::bucket/home/${aws:username}/*',
    'arn:aws:s3:::bucket/home/Bob/f',
    { 'aws:username': 'bob' },
    false,
    'substituted value is case-sensitive in Resource',
  ),
  res(
    'arn:aws:s3:::bucket/home/${aws:username}/*',
    'arn:aws:s3:::bucket/home//f',
    {},
    false,
    'absent key without default matches nothing',
  ),
  res(
    "arn:aws:s3:::bucket/home/${aws:username, 'guest'}/*",
    'arn:aws:s3:::bucket/home/guest/f',
    {},
    true,
    'default value for an absent key',
  ),
  res(
    "arn:aws:s3:::bucket/home/${aws:username, 'guest'}/*",
    'arn:aws:s3:::bucket/home/bob/f',
    { 'aws:username': 'bob' },
    true,
    'default ignored when present',
  ),
  res(
    'arn:aws:s3:::bucket/${aws:username}',
    'arn:aws:s3:::bucket/anything',
    { 'aws:username': '*' },
    false,
    'substituted * is literal, not a wildcard',
  ),
  res(
    'arn:aws:s3:::bucket/${aws:username}',
    'arn:aws:s3:::bucket/*',
    { 'aws:username': '*' },
    true,
    'substituted * matches a literal *',
  ),
  res(
    'arn:aws:s3:::bucket/${aws:username}',
    'arn:aws:s3:::bucket/ab',
    { 'aws:username': 'a?' },
    false,
    'substituted ? is literal',
  ),
  res('arn:aws:s3:::bucket/${*}', 'arn:aws:s3:::bucket/*', {}, true, '${*} is a literal asterisk'),
  res('arn:aws:s3:::bucket/${*}', 'arn:aws:s3:::bucket/x', {}, false, '${*} is not a wildcard'),
  res(
    'arn:aws:s3:::bucket/a${?}',
    'arn:aws:s3:::bucket/a?',
    {},
    true,
    '${?} is a literal question mark',
  ),
  res(
    'arn:aws:s3:::bucket/a${$}',
    'arn:aws:s3:::bucket/a$',
    {},
    true,
    '${$} is a literal dollar sign',
  ),
  res(
    'arn:aws:s3:::bucket/${aws:PrincipalTag/team}/*',
    'arn:aws:s3:::bucket/red/x',
    { 'aws:principaltag/team': 'red' },
    true,
    'tag key variable',
  ),
  cond(
    'variable in StringEquals',
    V,
    { StringEquals: { 'http:header/x-owner': '${aws:username}' } },
    { 'aws:username': 'bob', 'http:header/x-owner': 'bob' },
    true,
  ),
  cond(
    'variable in StringEquals, different',
    V,
    { StringEquals: { 'http:header/x-owner': '${aws:username}' } },
    { 'aws:username': 'bob', 'http:header/x-owner': 'eve' },
    false,
  ),
  cond(
    'variable in StringLike keeps written wildcards',
    V,
    { StringLike: { 'http:path': '/users/${aws:username}/*' } },
    { 'aws:username': 'bob', 'http:path': '/users/bob/a/b' },
    true,
  ),
  cond(
    'variable in StringLike: value * is literal',
    V,
    { StringLike: { 'http:path': '/users/${aws:username}' } },
    { 'aws:username': '*', 'http:path': '/users/bob' },
    false,
  ),
  cond(
    'absent variable in positive operator: no match',
    V,
    { StringEquals: { 'http:path': '${aws:username}' } },
    { 'http:path': '' },
    false,
  ),
  cond(
    'absent variable in negated operator: holds',
    V,
    { StringNotEquals: { 'http:path': '${aws:username}' } },
    { 'http:path': 'x' },
    true,
  ),
  cond(
    'default in a condition value',
    V,
    { StringEquals: { 'http:path': "${aws:username, 'anon'}" } },
    { 'http:path': 'anon' },
    true,
  ),
  cond(
    'variable in StringEqualsIgnoreCase',
    V,
    { StringEqualsIgnoreCase: { 'http:header/x-user': '${aws:username}' } },
    { 'aws:username': 'Bob', 'http:header/x-user': 'BOB' },
    true,
  ),
  cond(
    'variable in ArnLike',
    V,
    { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/${aws:username}' } },
    { 'aws:username': 'ops', 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/ops' },
    true,
  ),
  cond(
    'variable in ArnLike, other role',
    V,
    { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/${aws:username}' } },
    { 'aws:username': 'ops', 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/dev' },
    false,
  ),
  cond(
    'variable from a JWT claim',
    V,
    { StringEquals: { 'http:header/x-tenant': '${jwt:tenant}' } },
    { 'jwt:tenant': 't1', 'http:header/x-tenant': 't1' },
    true,
  ),
];

describe('policy variables (IAM User Guide)', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => check(c));
});
