import { describe, it, expect } from '@jest/globals';
import { parseBase64, parseBool, parseDate, parseNumber } from '../../../src/policy/values.js';

describe('numbers', () => {
  it.each([
    ['10', 10],
    ['-1.5', -1.5],
    ['+3', 3],
    ['.5', 0.5],
    ['1.', 1],
  ])('%s', (t, n) => expect(parseNumber(t)).toBe(n));
  it.each(['', 'abc', '1e3', '0x10', '1,5', ' 1'])('rejects %j', (t) =>
    expect(parseNumber(t)).toBeUndefined(),
  );
});

describe('dates', () => {
  it('reads ISO 8601 forms as UTC unless a zone is given', () => {
    expect(parseDate('2020-01-01')).toBe(Date.UTC(2020, 0, 1));
    expect(parseDate('2020-01-01T10:20:30Z')).toBe(Date.UTC(2020, 0, 1, 10, 20, 30));
    expect(parseDate('2020-01-01T10:20:30')).toBe(Date.UTC(2020, 0, 1, 10, 20, 30));
    expect(parseDate('2020-01-01T10:20:30.250Z')).toBe(Date.UTC(2020, 0, 1, 10, 20, 30, 250));
    expect(parseDate('2020-01-01T10:20:30+02:00')).toBe(Date.UTC(2020, 0, 1, 8, 20, 30));
    expect(parseDate('2020-01-01T10:20-0130')).toBe(Date.UTC(2020, 0, 1, 11, 50));
  });
  it('reads epoch seconds', () => {
    expect(parseDate('1577836800')).toBe(Date.UTC(2020, 0, 1));
    expect(parseDate('1577836800.5')).toBe(Date.UTC(2020, 0, 1) + 500);
  });
  it.each([
    '2020-13-01',
    '2020-02-30',
    '2021-02-29',
    'tomorrow',
    '2020-01-01T25:00:00Z',
    '2020/01/01',
    '',
  ])('rejects %j', (t) => expect(parseDate(t)).toBeUndefined());
  it('accepts 29 February of a leap year', () =>
    expect(parseDate('2024-02-29')).toBe(Date.UTC(2024, 1, 29)));
});

describe('booleans and base64', () => {
  it('reads booleans in any case', () => {
    expect(parseBool('TRUE')).toBe(true);
    expect(parseBool('False')).toBe(false);
    expect(parseBool('yes')).toBeUndefined();
  });
  it('reads padded base64 only', () => {
    expect(Buffer.from(parseBase64('aGk=') ?? []).toString()).toBe('hi');
    expect(parseBase64('aGk')).toBeUndefined();
    expect(parseBase64('a*==')).toBeUndefined();
  });
});
