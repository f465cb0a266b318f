import { describe, it, expect } from '@jest/globals';
import {
  compileGlob,
  matchGlob,
  matchGlobRange,
  matchItems,
  parseGlob,
  STAR,
  QMARK,
} from '../../../src/policy/glob.js';
import {
  compileArnPattern,
  matchArn,
  splitRequestArn,
  splitArnText,
  type ArnPattern,
} from '../../../src/policy/arn.js';
import { buildContext } from '../../../src/policy/index.js';

const ctx = buildContext({ 'aws:username': 'bob' });

function arn(text: string, variables = true, cross = true): ArnPattern {
  const r = compileArnPattern(text, variables, cross);
  if (!r.ok) throw new Error(r.message);
  return r.pattern;
}

describe('glob', () => {
  it('parses items and collapses stars', () => {
    expect(parseGlob('a**b?c')).toEqual(['a', STAR, 'b', QMARK, 'c']);
  });

  it.each([
    ['*', '', true],
    ['*', 'anything', true],
    ['abc', 'abc', true],
    ['abc', 'abcd', false],
    ['ab*', 'abzz', true],
    ['ab*', 'a', false],
    ['*yz', 'xxyz', true],
    ['*yz', 'yzx', false],
    ['*mid*', 'a-mid-b', true],
    ['*mid*', 'mi-d', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['a*b*c', 'aXbYbZc', true],
    ['a*b*c', 'aXbYbZ', false],
    ['*a*a*a*b', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', false],
    ['??', 'ab', true],
    ['??', 'abc', false],
  ])('%s ~ %s = %s', (pattern, s, expected) => {
    expect(matchGlob(compileGlob(pattern), s)).toBe(expected);
    expect(matchItems(parseGlob(pattern), s)).toBe(expected);
  });

  it('matches literally when wildcards are off', () => {
    expect(matchGlob(compileGlob('a*', false), 'abc')).toBe(false);
    expect(matchGlob(compileGlob('a*', false), 'a*')).toBe(true);
  });

  it('matches a range without slicing', () => {
    const s = 'xx:abc:yy';
    expect(matchGlobRange(compileGlob('abc'), s, 3, 6)).toBe(true);
    expect(matchGlobRange(compileGlob('ab'), s, 3, 6)).toBe(false);
    expect(matchGlobRange(compileGlob('a*c'), s, 3, 6)).toBe(true);
    expect(matchGlobRange(compileGlob('*b*'), s, 3, 6)).toBe(true);
    expect(matchGlobRange(compileGlob('*y*'), s, 3, 6)).toBe(false);
    expect(matchGlobRange(compileGlob('*c'), s, 3, 6)).toBe(true);
  });
});

describe('ARN patterns', () => {
  it('splits at the first five colons, skipping variables', () => {
    expect(splitArnText('arn:aws:s3:::b/${aws:username}:x')).toEqual([
      'arn',
      'aws',
      's3',
      '',
      '',
      'b/${aws:username}:x',
    ]);
    expect(splitArnText('arn:aws:s3')).toHaveLength(3);
  });

  it('rejects non-ARNs', () => {
    const r = compileArnPattern('s3:::bucket', true, true);
    expect(r.ok).toBe(false);
    expect(compileArnPattern('arn:aws:s3:bucket', true, true).ok).toBe(false);
  });

  it('rejects variables before the resource part', () => {
    const r = compileArnPattern('arn:aws:s3:${aws:RequestedRegion}::b', true, true);
    expect(r).toMatchObject({ ok: false, reason: 'placement' });
  });

  it('reports malformed variables', () => {
    expect(compileArnPattern('arn:aws:s3:::b/${aws:username', true, true)).toMatchObject({
      ok: false,
      reason: 'variable-syntax',
    });
  });

  it('locates request ARNs', () => {
    expect(splitRequestArn('arn:aws:s3:::b/k')).toMatchObject({ ok: true, extra: false });
    expect(splitRequestArn('arn:aws:logs:r:1:log-group:g')).toMatchObject({
      ok: true,
      extra: true,
    });
    expect(splitRequestArn('urn:aws:s3:::b').ok).toBe(false);
    expect(splitRequestArn('arn:aws:s3').ok).toBe(false);
  });

  it.each([
    ['arn:aws:s3:::b/*', 'arn:aws:s3:::b/x/y', true],
    ['arn:aws:s3:::b/*', 'arn:aws:s3:::c/x', false],
    ['arn:aws:*:*:*:*', 'arn:aws:sqs:r:1:q', true],
    ['arn:aws:sqs:us-*-1:1:q', 'arn:aws:sqs:us-east-1:1:q', true],
    ['arn:aws:sqs:us-*-1:1:q', 'arn:aws:sqs:us-east:x-1:1:q', false],
    ['arn:aws:sqs:us-*:1:q', 'arn:aws:sqs:us-east:x:1:q', true],
    ['arn:aws:logs:*:1:log-group:*', 'arn:aws:logs:r:1:log-group:g:log-stream:s', true],
    ['arn:aws:s3:::b/${aws:username}/*', 'arn:aws:s3:::b/bob/k', true],
    ['arn:aws:s3:::b/${aws:username}/*', 'arn:aws:s3:::b/eve/k', false],
    ['arn:aws:s3:::b/${aws:userid}/*', 'arn:aws:s3:::b//k', false],
    ['*', 'not an arn', true],
    ['arn:aws:s3:::*', 'not an arn', false],
  ])('%s ~ %s = %s', (pattern, resource, expected) => {
    expect(matchArn(arn(pattern), splitRequestArn(resource), ctx)).toBe(expected);
  });

  it('without crossing a segment-final * stays in its segment', () => {
    expect(
      matchArn(
        arn('arn:aws:sqs:us-*:1:q', false, false),
        splitRequestArn('arn:aws:sqs:us-east:x:1:q'),
        ctx,
      ),
    ).toBe(false);
  });
});
