import { describe, it } from '@jest/globals';
import { check, cond, DOCS, type Case } from './harness.js';

const M = DOCS.multivalued;

const cases: Case[] = [
  cond(
    'ForAnyValue: one request value matches',
    M,
    { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['env', 'team'] } },
    { 'aws:TagKeys': ['team', 'cost'] },
    true,
  ),
  cond(
    'ForAnyValue: no request value matches',
    M,
    { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['env'] } },
    { 'aws:TagKeys': ['team', 'cost'] },
    false,
  ),
  cond(
    'ForAnyValue: absent key is false',
    M,
    { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['env'] } },
    {},
    false,
  ),
  cond(
    'ForAnyValue: empty list is false',
    M,
    { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['env'] } },
    { 'aws:TagKeys': [] },
    false,
  ),
  cond(
    'ForAllValues: all request values in the list',
    M,
    { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['env', 'team'] } },
    { 'aws:TagKeys': ['team', 'env'] },
    true,
  ),
  cond(
    'ForAllValues: one request value outside',
    M,
    { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['env', 'team'] } },
    { 'aws:TagKeys': ['team', 'cost'] },
    false,
  ),
  cond(
    'ForAllValues: absent key is true',
    M,
    { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['env'] } },
    {},
    true,
  ),
  cond(
    'ForAllValues: empty list is true',
    M,
    { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['env'] } },
    { 'aws:TagKeys': [] },
    true,
  ),
  // "ForAllValues ... also returns true if there are no context keys in the
  // request or if the context key value resolves to a null data set, such as
  // an empty string."
  cond(
    'ForAllValues: an empty string is a null data set, so true',
    M,
    { 'ForAllValues:StringEquals': { 'jwt:groups': ['admin'] } },
    { 'jwt:groups': '' },
    true,
  ),
  cond(
    'ForAllValues: a list holding only an empty string is a null data set',
    M,
    { 'ForAllValues:StringEquals': { 'jwt:groups': ['admin'] } },
    { 'jwt:groups': [''] },
    true,
  ),
  cond(
    'ForAllValues: a negated operator on an empty string is true too',
    M,
    { 'ForAllValues:StringNotLike': { 'jwt:groups': ['*'] } },
    { 'jwt:groups': '' },
    true,
  ),
  cond(
    'ForAllValues: an empty string among real values must match like any value',
    M,
    { 'ForAllValues:StringEquals': { 'jwt:groups': ['admin'] } },
    { 'jwt:groups': ['admin', ''] },
    false,
  ),
  cond(
    'ForAllValues with Null false does not reject an empty string (the key is present)',
    M,
    { 'ForAllValues:StringEquals': { 'jwt:groups': ['admin'] }, Null: { 'jwt:groups': 'false' } },
    { 'jwt:groups': '' },
    true,
  ),
  // "ForAnyValue ... For no matching context key or a null dataset, the
  // operator returns false."
  cond(
    'ForAnyValue: an empty string is a null data set, so false',
    M,
    { 'ForAnyValue:StringLike': { 'jwt:groups': ['*'] } },
    { 'jwt:groups': '' },
    false,
  ),
  cond(
    'ForAllValues with Null false guards the absent case',
    M,
    { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['env'] }, Null: { 'aws:TagKeys': 'false' } },
    {},
    false,
  ),
  cond(
    'ForAnyValue:StringLike',
    M,
    { 'ForAnyValue:StringLike': { 'aws:TagKeys': ['team-*'] } },
    { 'aws:TagKeys': ['x', 'team-red'] },
    true,
  ),
  cond(
    'ForAllValues:StringLike one outside',
    M,
    { 'ForAllValues:StringLike': { 'aws:TagKeys': ['team-*'] } },
    { 'aws:TagKeys': ['x', 'team-red'] },
    false,
  ),
  cond(
    'ForAnyValue:StringNotEquals: some value not listed',
    M,
    { 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': ['env'] } },
    { 'aws:TagKeys': ['env', 'team'] },
    true,
  ),
  cond(
    'ForAnyValue:StringNotEquals: every value listed',
    M,
    { 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': ['env', 'team'] } },
    { 'aws:TagKeys': ['env', 'team'] },
    false,
  ),
  cond(
    'ForAllValues:StringNotEquals: none listed',
    M,
    { 'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['secret'] } },
    { 'aws:TagKeys': ['env', 'team'] },
    true,
  ),
  cond(
    'ForAllValues:StringNotEquals: one listed',
    M,
    { 'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['secret'] } },
    { 'aws:TagKeys': ['env', 'secret'] },
    false,
  ),
  cond(
    'ForAnyValue:StringEqualsIgnoreCase',
    M,
    { 'ForAnyValue:StringEqualsIgnoreCase': { 'jwt:groups': ['ADMINS'] } },
    { 'jwt:groups': ['users', 'admins'] },
    true,
  ),
  cond(
    'ForAnyValue:NumericGreaterThan',
    M,
    { 'ForAnyValue:NumericGreaterThan': { 'jwt:levels': 5 } },
    { 'jwt:levels': [1, 7] },
    true,
  ),
  cond(
    'ForAllValues:NumericGreaterThan',
    M,
    { 'ForAllValues:NumericGreaterThan': { 'jwt:levels': 5 } },
    { 'jwt:levels': [1, 7] },
    false,
  ),
  cond(
    'ForAnyValue:IpAddress',
    M,
    { 'ForAnyValue:IpAddress': { 'app:hops': '10.0.0.0/8' } },
    { 'app:hops': ['1.1.1.1', '10.2.2.2'] },
    true,
  ),
  cond(
    'ForAnyValue:StringEqualsIfExists with absent key holds',
    M,
    { 'ForAnyValue:StringEqualsIfExists': { 'aws:TagKeys': ['env'] } },
    {},
    true,
  ),
  cond(
    'ForAllValues: key names case-insensitive',
    M,
    { 'ForAllValues:StringEquals': { 'AWS:TAGKEYS': ['env'] } },
    { 'aws:tagkeys': ['env'] },
    true,
  ),
  cond(
    'ForAnyValue works on a single value too',
    M,
    { 'ForAnyValue:StringEquals': { 'jwt:amr': ['mfa'] } },
    { 'jwt:amr': 'mfa' },
    true,
  ),
  // Plain operators on multivalued request values (rolegate rule, see docs/policy-language.md)
  cond(
    'plain StringEquals on a list: any value matches',
    M,
    { StringEquals: { 'jwt:groups': 'admins' } },
    { 'jwt:groups': ['users', 'admins'] },
    true,
  ),
  cond(
    'plain StringEquals on a list: none matches',
    M,
    { StringEquals: { 'jwt:groups': 'admins' } },
    { 'jwt:groups': ['users', 'dev'] },
    false,
  ),
  cond(
    'plain StringNotEquals on a list: one matches, so false',
    M,
    { StringNotEquals: { 'jwt:groups': 'admins' } },
    { 'jwt:groups': ['users', 'admins'] },
    false,
  ),
  cond(
    'plain StringNotEquals on a list: none matches',
    M,
    { StringNotEquals: { 'jwt:groups': 'admins' } },
    { 'jwt:groups': ['users', 'dev'] },
    true,
  ),
  cond(
    'plain operator on an empty list behaves as absent',
    M,
    { StringEquals: { 'jwt:groups': 'admins' } },
    { 'jwt:groups': [] },
    false,
  ),
];

describe('multivalued context keys (IAM User Guide)', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => check(c));
});
