import { describe, expect, it } from '@jest/globals';
import { decodeBase64urlStrict } from '../../../src/identity/base64url.js';

describe('decodeBase64urlStrict', () => {
  it('decodes canonical base64url of every length', () => {
    for (let n = 0; n <= 40; n++) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff));
      expect(decodeBase64urlStrict(bytes.toString('base64url'))).toEqual(bytes);
    }
  });

  it.each([
    ['padding', 'YQ=='],
    ['one pad', 'YWI='],
    ['standard alphabet +', 'a+b_'],
    ['standard alphabet /', 'a/b-'],
    ['a space', 'YW Jj'],
    ['a line break', 'YWJj\nZA'],
    ['a tab', '\tYWJj'],
    ['4n+1 characters', 'YWJjZ'],
    ['non-zero unused bits (2 chars)', 'YR'],
    ['non-zero unused bits (3 chars)', 'YWJ'],
    ['a non-ASCII letter', 'YWJé'],
    ['a dot', 'YW.j'],
  ])('refuses %s', (_name, text) => {
    expect(decodeBase64urlStrict(text)).toBeUndefined();
  });

  it('accepts the canonical spelling next to each refused one', () => {
    expect(decodeBase64urlStrict('YQ')?.toString()).toBe('a');
    expect(decodeBase64urlStrict('YWI')?.toString()).toBe('ab');
    expect(decodeBase64urlStrict('-_-_')).toEqual(Buffer.from([0xfb, 0xff, 0xbf]));
  });
});
