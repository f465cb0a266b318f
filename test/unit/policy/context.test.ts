import { describe, it, expect } from '@jest/globals';
import { buildContext, extendContext } from '../../../src/policy/index.js';

describe('buildContext', () => {
  it('lower-cases keys and finds them in any case', () => {
    const c = buildContext({ 'AWS:UserName': 'bob' });
    expect(c.get('aws:username')).toEqual(['bob']);
    expect(c.get('AWS:USERNAME')).toEqual(['bob']);
    expect(c.get('aws:userid')).toBeUndefined();
  });

  it('stringifies numbers and booleans', () => {
    const c = buildContext({
      'a:n': 1.5,
      'a:big': 1e21,
      'a:b': true,
      'a:f': false,
      'a:list': [1, true, 'x'],
    });
    expect(c.get('a:n')).toEqual(['1.5']);
    expect(c.get('a:big')).toEqual(['1e+21']);
    expect(c.get('a:b')).toEqual(['true']);
    expect(c.get('a:f')).toEqual(['false']);
    expect(c.get('a:list')).toEqual(['1', 'true', 'x']);
  });

  it('remembers which keys were arrays', () => {
    const c = buildContext({ 'a:one': ['x'], 'a:empty': [], 'a:s': 'x' });
    expect(c.isMultiValued('A:ONE')).toBe(true);
    expect(c.isMultiValued('a:empty')).toBe(true);
    expect(c.get('a:empty')).toEqual([]);
    expect(c.isMultiValued('a:s')).toBe(false);
    expect(c.isMultiValued('a:none')).toBe(false);
  });

  it('skips undefined values and merges keys that differ only in case', () => {
    const c = buildContext({ 'a:u': undefined, 'a:k': 'x', 'A:K': 'y' });
    expect(c.get('a:u')).toBeUndefined();
    expect(c.get('a:k')).toEqual(['x', 'y']);
    expect(c.isMultiValued('a:k')).toBe(true);
  });
});

describe('extendContext', () => {
  it('adds and hides keys of the base without changing it', () => {
    const base = buildContext({
      'aws:SourceIp': '10.0.0.1',
      'aws:PrincipalArn': 'arn:base',
      tags: ['a'],
    });
    const ext = extendContext(base, { 'AWS:PrincipalArn': 'arn:role', 'aws:userid': 'r:alice' });
    expect(ext.get('aws:principalarn')).toEqual(['arn:role']);
    expect(ext.get('aws:SourceIp')).toEqual(['10.0.0.1']);
    expect(ext.get('aws:userid')).toEqual(['r:alice']);
    expect(ext.isMultiValued('TAGS')).toBe(true);
    expect(base.get('aws:PrincipalArn')).toEqual(['arn:base']);
    expect(base.get('aws:userid')).toBeUndefined();
  });

  it('refuses a context it did not build', () => {
    expect(() => extendContext({ get: () => undefined, isMultiValued: () => false }, {})).toThrow(
      TypeError,
    );
  });
});
