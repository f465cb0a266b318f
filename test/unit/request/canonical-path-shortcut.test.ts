import { describe, expect, it } from '@jest/globals';
import {
  canonicalPath,
  canonicalPathByRules,
  MAX_PATH_LENGTH,
} from '../../../src/request/canonical-path.js';
import { seededRandom } from '../../support/random.js';

/** Characters every rule of canonical-path.ts looks at, plus plain ones. */
const ALPHABET = [
  '/',
  '/',
  '/',
  '.',
  '.',
  'a',
  'Z',
  '0',
  '-',
  '_',
  '~',
  '%',
  '2',
  'e',
  'F',
  'f',
  ';',
  '\\',
  '#',
  ' ',
  '\t',
  '\x7f',
  '\x00',
  '\x85',
  'é',
  '\u2028',
  '?',
  '@',
  ':',
  '!',
  '*',
  '+',
  '=',
];

describe('canonicalPath, for a path already canonical', () => {
  it('answers as the full rules do, refusals and their codes included (seeded, 200,000 paths)', () => {
    const random = seededRandom(29);
    let shortcut = 0;
    for (let n = 0; n < 200_000; n++) {
      let raw = '/';
      const length = 1 + Math.floor(random() * 14);
      for (let i = 0; i < length; i++) raw += ALPHABET[Math.floor(random() * ALPHABET.length)];
      // The rules, not this generator, decide: compare every answer whole.
      expect(canonicalPath(raw)).toEqual(canonicalPathByRules(raw));
      if (/^[/a-zA-Z0-9\-_~?@:!*+=]*$/.test(raw)) shortcut++;
    }
    // The generator reaches the shortcut's own inputs, not only the rules' refusals.
    expect(shortcut).toBeGreaterThan(1000);
  });

  it.each([
    ['/', '/'],
    ['/a/', '/a'],
    ['/inventory/42', '/inventory/42'],
    ['/.a/..b/...', '/.a/..b/...'],
    ['/a/./b', '/a/b'],
    ['/a/../b', '/b'],
    ['/a//b', '/a/b'],
  ])('reads %s as %s', (raw, path) => {
    expect(canonicalPath(raw)).toEqual({ ok: true, path });
  });

  it.each([
    ['//x/a', 'ERR_PATH_NETWORK_PATH'],
    ['/..', 'ERR_PATH_TRAVERSAL'],
    ['/a;b', 'ERR_PATH_INVALID'],
    ['/a b', 'ERR_PATH_INVALID'],
    ['/a#b', 'ERR_PATH_INVALID'],
    ['/a%2Fb', 'ERR_PATH_ENCODED_SEPARATOR'],
    [`/${'a'.repeat(MAX_PATH_LENGTH)}`, 'ERR_PATH_INVALID'],
  ])('still refuses %s (%s)', (raw, code) => {
    const r = canonicalPath(raw);
    expect(r.ok ? 'ok' : r.code).toBe(code);
  });
});
