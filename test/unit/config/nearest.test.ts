import { describe, expect, it } from '@jest/globals';
import { editDistance, looseName, nearest } from '../../../src/config/nearest.js';

describe('did you mean: the configured name nearest to one a policy wrote', () => {
  it.each([
    ['', '', 0],
    ['abc', 'abc', 0],
    ['abc', 'abd', 1],
    ['abc', 'ab', 1],
    ['kitten', 'sitting', 3],
  ])('editDistance(%j, %j) = %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  it.each([
    ['http://localhost:9100', '127.0.0.1:9100'],
    ['localhost:9100', '127.0.0.1:9100'],
    ['[::1]:9100/x', '127.0.0.1:9100/x'],
    ['HTTPS://Login.Example.com/', 'login.example.com'],
    ['localhost.example.com', 'localhost.example.com'],
  ])('looseName(%j) = %j', (name, loose) => {
    expect(looseName(name)).toBe(loose);
  });

  it.each<[string, string[], string | undefined]>([
    ['localhost:9100', ['login.example.com', '127.0.0.1:9100'], '127.0.0.1:9100'],
    [
      'https://login.example.org',
      ['https://login.example.com', 'http://127.0.0.1:9100'],
      'https://login.example.com',
    ],
    ['login.example.com/', ['idp.example.com', 'login.example.com'], 'login.example.com'],
    ['a', ['b', 'c'], 'b'],
    ['anything', [], undefined],
  ])('nearest(%j) among %j is %j', (name, candidates, expected) => {
    expect(nearest(name, candidates)).toBe(expected);
  });
});
