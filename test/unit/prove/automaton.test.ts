/**
 * The exact partition of a string domain: the representatives' verdict
 * combinations are exactly those that brute force over every short string
 * finds (IAM glob semantics: `*` any run, `?` one character; IAM User
 * Guide, "IAM JSON policy elements: Condition operators", StringLike).
 */
import { describe, expect, it } from '@jest/globals';
import {
  globTokens,
  literalTokens,
  matches,
  representatives,
  tokenPredicate,
  type Tokens,
} from '../../../src/prove/automaton.js';
import { ProveUnknown } from '../../../src/prove/unknown.js';

function* strings(alphabet: string, max: number): Generator<string> {
  yield '';
  let layer = [''];
  for (let n = 1; n <= max; n++) {
    const next: string[] = [];
    for (const s of layer) for (const c of alphabet) next.push(s + c);
    yield* next;
    layer = next;
  }
}

function vectors(patterns: readonly Tokens[], alphabet: string, max: number): Set<string> {
  const out = new Set<string>();
  for (const s of strings(alphabet, max))
    out.add(patterns.map((p) => (matches(p, s) ? '1' : '0')).join(''));
  return out;
}

describe('representatives', () => {
  const cases: readonly (readonly string[])[] = [
    ['a*', '*b', 'ab'],
    ['t-*', 't-a?', 't-ab'],
    ['*', 'x'],
    ['a?c', 'a*c', '*'],
  ];
  it.each(cases)('finds every verdict combination brute force finds (%s ...)', (...texts) => {
    const patterns = texts.map((t) => globTokens(t));
    const reps = representatives(
      patterns.map((p) => tokenPredicate(p)),
      { what: 'test' },
    );
    const found = new Set(reps.map((r) => r.verdicts.map((v) => (v ? '1' : '0')).join('')));
    const alphabet = [...new Set([...texts.join('').replace(/[*?]/g, ''), 'q'])].join('');
    // Every pattern here is at most 4 characters long: strings of 6 reach every combination.
    expect(found).toEqual(vectors(patterns, alphabet, 6));
    for (const r of reps) expect(r.verdicts).toEqual(patterns.map((p) => matches(p, r.text)));
  });

  it('keeps StringEquals literal: a * in an equality constant is no wildcard', () => {
    const reps = representatives([tokenPredicate(literalTokens('a*'))], { what: 'test' });
    expect(reps.map((r) => r.verdicts[0])).toEqual([false, true]);
    expect(reps.find((r) => r.verdicts[0] === true)?.text).toBe('a*');
  });

  it('is unknown, not partial, beyond its bound on automaton states', () => {
    const many = Array.from({ length: 12 }, (_, i) =>
      tokenPredicate(globTokens(`*${'ab'.repeat(i)}*`)),
    );
    expect(() => representatives(many, { what: 'a wide domain', maxStates: 10 })).toThrow(
      ProveUnknown,
    );
  });
});
