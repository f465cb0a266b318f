import { describe, it, expect } from '@jest/globals';
import {
  cidrContains,
  parseBase64,
  parseBool,
  parseCidr,
  parseDate,
  parseIp,
  parseNumber,
} from '../../../src/policy/values.js';

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

describe('IP addresses', () => {
  it.each([
    '0.0.0.0',
    '255.255.255.255',
    '::',
    '::1',
    '2001:db8::',
    'fe80::1:2',
    '::ffff:10.0.0.1',
    '1:2:3:4:5:6:7:8',
  ])('parses %s', (t) => expect(parseIp(t)).toBeDefined());
  it.each([
    '256.0.0.1',
    '1.2.3',
    '01.2.3.4',
    '1.2.3.4.5',
    '1::2::3',
    '12345::',
    'g::1',
    '1:2:3:4:5:6:7:8:9',
    '',
    'fe80::1%eth0',
  ])('rejects %j', (t) => expect(parseIp(t)).toBeUndefined());
  it('treats IPv4-mapped IPv6 as IPv4', () => expect(parseIp('::ffff:10.0.0.1')?.family).toBe(4));

  it.each([
    ['10.0.0.0/8', '10.255.1.1', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['10.1.2.3', '10.1.2.3', true],
    ['10.1.2.3/31', '10.1.2.2', true],
    ['10.0.0.1/8', '10.9.9.9', true],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['2001:db8::/33', '2001:db8:8000::1', false],
    ['::/0', '2001:db8::1', true],
    ['::/0', '10.0.0.1', false],
    ['0.0.0.0/0', '::1', false],
    ['2001:db8::/32', '10.0.0.1', false],
    ['::ffff:10.0.0.0/104', '10.1.1.1', true],
  ])('%s contains %s = %s', (cidr, ip, expected) => {
    const c = parseCidr(cidr);
    const a = parseIp(ip);
    if (c === undefined || a === undefined) throw new Error('parse');
    expect(cidrContains(c, a)).toBe(expected);
  });
  it.each(['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', '2001:db8::/129', 'x/8'])(
    'rejects CIDR %j',
    (t) => expect(parseCidr(t)).toBeUndefined(),
  );
});
