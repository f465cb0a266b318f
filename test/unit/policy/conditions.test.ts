import { describe, it, expect } from '@jest/globals';
import {
  compileClause,
  evalClause,
  OPERATORS,
  parseOperator,
  type ErrorSink,
} from '../../../src/policy/conditions.js';
import { buildContext, type ContextInput } from '../../../src/policy/index.js';
import type { ErrorCode } from '../../../src/errors.js';

function run(
  op: string,
  key: string,
  values: (string | number | boolean)[],
  input: ContextInput,
): { holds: boolean; errors: ErrorCode[] } {
  const parsed = parseOperator(op);
  if (parsed === undefined) throw new Error(`no operator ${op}`);
  const { clause, problems } = compileClause(parsed, key, values, { variables: true });
  expect(problems).toEqual([]);
  const errors: ErrorCode[] = [];
  const sink: ErrorSink = { report: (code) => errors.push(code) };
  return { holds: evalClause(clause, buildContext(input), sink), errors };
}

describe('parseOperator', () => {
  it('knows every IAM operator', () => {
    expect([...OPERATORS.keys()].sort()).toEqual(
      [
        'ArnEquals',
        'ArnLike',
        'ArnNotEquals',
        'ArnNotLike',
        'BinaryEquals',
        'Bool',
        'DateEquals',
        'DateGreaterThan',
        'DateGreaterThanEquals',
        'DateLessThan',
        'DateLessThanEquals',
        'DateNotEquals',
        'IpAddress',
        'NotIpAddress',
        'Null',
        'NumericEquals',
        'NumericGreaterThan',
        'NumericGreaterThanEquals',
        'NumericLessThan',
        'NumericLessThanEquals',
        'NumericNotEquals',
        'StringEquals',
        'StringEqualsIgnoreCase',
        'StringLike',
        'StringNotEquals',
        'StringNotEqualsIgnoreCase',
        'StringNotLike',
      ].sort(),
    );
  });

  it('parses prefixes and the IfExists suffix', () => {
    expect(parseOperator('ForAllValues:StringLikeIfExists')).toMatchObject({
      set: 2,
      ifExists: true,
      base: { name: 'StringLike' },
    });
    expect(parseOperator('ForAnyValue:NotIpAddress')).toMatchObject({
      set: 1,
      ifExists: false,
      base: { negated: true },
    });
    expect(parseOperator('Null')).toMatchObject({ set: 0, ifExists: false });
  });

  it.each([
    'NullIfExists',
    'ForAnyValue:Null',
    'StringEquals ',
    'IfExists',
    'stringEquals',
    'ForAnyValue:',
    'StringEqualsIfExistsIfExists',
  ])('rejects %j', (op) => expect(parseOperator(op)).toBeUndefined());
});

describe('evalClause', () => {
  it('records an evaluation error for unreadable request values and does not hold', () => {
    expect(run('NumericLessThan', 'app:n', [5], { 'app:n': 'x' })).toEqual({
      holds: false,
      errors: ['ERR_CONTEXT_VALUE_TYPE'],
    });
    expect(run('NumericNotEquals', 'app:n', [5], { 'app:n': 'x' })).toEqual({
      holds: false,
      errors: ['ERR_CONTEXT_VALUE_TYPE'],
    });
    expect(run('NotIpAddress', 'aws:SourceIp', ['10.0.0.0/8'], { 'aws:SourceIp': 'x' }).holds).toBe(
      false,
    );
    expect(
      run('DateLessThan', 'aws:CurrentTime', ['2020-01-01'], { 'aws:CurrentTime': 'x' }).errors,
    ).toEqual(['ERR_CONTEXT_VALUE_TYPE']);
    expect(
      run('Bool', 'aws:SecureTransport', ['true'], { 'aws:SecureTransport': 'x' }).errors,
    ).toEqual(['ERR_CONTEXT_VALUE_TYPE']);
    expect(run('BinaryEquals', 'app:b', ['QQ=='], { 'app:b': '!' }).errors).toEqual([
      'ERR_CONTEXT_VALUE_TYPE',
    ]);
    expect(
      run('ArnLike', 'aws:PrincipalArn', ['arn:aws:iam::*:*'], { 'aws:PrincipalArn': 'nope' })
        .errors,
    ).toEqual(['ERR_CONTEXT_VALUE_TYPE']);
  });

  it('ArnLike "*" matches any value, even a non-ARN', () => {
    expect(run('ArnLike', 'aws:PrincipalArn', ['*'], { 'aws:PrincipalArn': 'nope' })).toEqual({
      holds: true,
      errors: [],
    });
  });

  it('a plain positive operator holds when any request value matches', () => {
    expect(run('NumericGreaterThan', 'jwt:n', [5], { 'jwt:n': [1, 9] }).holds).toBe(true);
  });

  it('a plain negated operator holds only when no request value matches', () => {
    expect(
      run('NotIpAddress', 'jwt:ips', ['10.0.0.0/8'], { 'jwt:ips': ['1.1.1.1', '10.0.0.1'] }).holds,
    ).toBe(false);
    expect(
      run('NotIpAddress', 'jwt:ips', ['10.0.0.0/8'], { 'jwt:ips': ['1.1.1.1', '2.2.2.2'] }).holds,
    ).toBe(true);
  });

  it('ForAllValues with a negated operator: every value outside the list', () => {
    expect(
      run('ForAllValues:StringNotLike', 'aws:TagKeys', ['sys-*'], { 'aws:TagKeys': ['a', 'b'] })
        .holds,
    ).toBe(true);
    expect(
      run('ForAllValues:StringNotLike', 'aws:TagKeys', ['sys-*'], { 'aws:TagKeys': ['a', 'sys-x'] })
        .holds,
    ).toBe(false);
  });

  it('uses a Set for long value lists with the same result', () => {
    const many = Array.from({ length: 20 }, (_, i) => `u${i}`);
    expect(run('StringEquals', 'aws:username', many, { 'aws:username': 'u17' }).holds).toBe(true);
    expect(run('StringEquals', 'aws:username', many, { 'aws:username': 'u20' }).holds).toBe(false);
    expect(
      run('StringEqualsIgnoreCase', 'aws:username', many, { 'aws:username': 'U3' }).holds,
    ).toBe(true);
  });

  it('Null with both values always holds (OR across values)', () => {
    expect(run('Null', 'a:b', ['true', 'false'], {}).holds).toBe(true);
    expect(run('Null', 'a:b', ['true', 'false'], { 'a:b': 'x' }).holds).toBe(true);
  });

  it('compiles numbers and dates given as JSON numbers', () => {
    expect(run('NumericEquals', 'app:n', [1.5], { 'app:n': '1.5' }).holds).toBe(true);
    expect(
      run('DateEquals', 'aws:EpochTime', [1577836800], { 'aws:EpochTime': '2020-01-01T00:00:00Z' })
        .holds,
    ).toBe(true);
  });

  it('parses each date once per context', () => {
    const ctx = buildContext({ 'aws:CurrentTime': '2020-01-01T00:00:00Z' });
    const parsed = parseOperator('DateLessThan');
    if (parsed === undefined) throw new Error('op');
    const { clause } = compileClause(parsed, 'aws:CurrentTime', ['2030-01-01'], {
      variables: true,
    });
    const sink: ErrorSink = { report: () => undefined };
    expect(evalClause(clause, ctx, sink)).toBe(true);
    expect(evalClause(clause, ctx, sink)).toBe(true);
  });
});
