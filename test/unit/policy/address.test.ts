/**
 * The one address reading (src/policy/address.ts) shared by the doors and by
 * policy CIDR blocks. Embedded-IPv4 forms: RFC 4291 2.5.5 (mapped,
 * compatible), RFC 6052 2.1 (NAT64 well-known prefix), RFC 8215 (local-use
 * NAT64), RFC 3056 (6to4), RFC 4380 (Teredo), RFC 2765 (translated), RFC
 * 5214 (ISATAP). IpAddress semantics: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IPAddress
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  canonicalAddress,
  cidrContains,
  formatIp,
  parseCidr,
  parseIp,
} from '../../../src/policy/address.js';

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

describe('IPv6 text that carries an IPv4 address', () => {
  // Each spelling of 10.1.2.3 that names the IPv4 host: read as 10.1.2.3.
  it.each([
    '::ffff:10.1.2.3',
    '::FFFF:10.1.2.3',
    '::ffff:a01:203',
    '0:0:0:0:0:ffff:10.1.2.3',
    '0000:0000:0000:0000:0000:ffff:0a01:0203',
    '64:ff9b::10.1.2.3',
    '64:ff9b::a01:203',
    '0064:FF9B:0000:0000:0000:0000:0A01:0203',
  ])('%s is the IPv4 address 10.1.2.3', (text) => {
    expect(canonicalAddress(text)).toEqual({ ok: true, ip: '10.1.2.3' });
    expect(parseIp(text)).toEqual({ family: 4, w: [0, 0, 0, 0x0a010203] });
  });

  it.each([
    ['::10.1.2.3', 'IPv4-compatible'],
    ['::a01:203', 'IPv4-compatible'],
    ['0:0:0:0:0:0:10.1.2.3', 'IPv4-compatible'],
    ['::ffff:0:10.1.2.3', 'IPv4-translated'],
    ['::ffff:0:a01:203', 'IPv4-translated'],
    ['2002:a01:203::1', '6to4'],
    ['2002:A01:203:0:0:0:0:1', '6to4'],
    ['2001:0:4136:e378:8000:63bf:f5fe:fdfc', 'Teredo'],
    ['2001::1', 'Teredo'],
    ['64:ff9b:1::a01:203', 'local-use NAT64'],
    ['fe80::5efe:10.1.2.3', 'ISATAP'],
    ['2001:db8::200:5efe:a01:203', 'ISATAP'],
  ])('%s is refused (%s)', (text, kind) => {
    const result = canonicalAddress(text);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toContain(kind);
  });

  it.each(['::', '::1', '2001:db8::1', 'fe80::1', '64:ff9b:2::1'])(
    '%s is an ordinary IPv6 address',
    (text) => expect(canonicalAddress(text).ok).toBe(true),
  );

  it.each([
    '[::1]',
    '10.1.2.3:80',
    '[::1]:80',
    ' 10.1.2.3',
    'fe80::1%eth0',
    '010.1.2.3',
    '10.1',
    'unknown',
    '',
  ])('%j is not an address', (text) =>
    expect(canonicalAddress(text)).toEqual({ ok: false, reason: 'not an IP address' }),
  );

  it('a policy block spelled as mapped or NAT64 IPv6 is the IPv4 block', () => {
    const ten = parseIp('10.200.0.1');
    if (ten === undefined) throw new Error('parse');
    for (const block of ['::ffff:10.0.0.0/104', '64:ff9b::10.0.0.0/104', '64:ff9b::a00:0/104']) {
      const c = parseCidr(block);
      expect(c).toEqual({ family: 4, w: [0, 0, 0, 0x0a000000], bits: 8 });
      expect(c && cidrContains(c, ten)).toBe(true);
    }
  });
});

describe('canonical text (RFC 5952)', () => {
  it.each([
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['fe80::0001', 'fe80::1'],
  ])('%s is %s', (text, want) => expect(canonicalAddress(text)).toEqual({ ok: true, ip: want }));
});

describe('properties', () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
  const dotted = ([a, b, c, d]: [number, number, number, number]) => `${a}.${b}.${c}.${d}`;
  const hex4 = ([a, b, c, d]: [number, number, number, number]) =>
    `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;

  it('every mapped or NAT64 spelling of an IPv4 address is that address', () => {
    fc.assert(
      fc.property(
        v4,
        fc.constantFrom('::ffff:', '64:ff9b::', '0:0:0:0:0:ffff:'),
        fc.boolean(),
        (q, prefix, asHex) => {
          const text = prefix + (asHex ? hex4(q) : dotted(q));
          expect(canonicalAddress(text)).toEqual({ ok: true, ip: dotted(q) });
        },
      ),
    );
  });

  it('an IPv4 address inside any refused embedding is never read as an address outside it', () => {
    fc.assert(
      fc.property(v4, fc.constantFrom('::', '::ffff:0:', '2002:', '64:ff9b:1::'), (q, prefix) => {
        const text =
          prefix === '2002:'
            ? `2002:${hex4(q)}::1`
            : prefix + (q.every((x) => x === 0) ? '10.0.0.9' : dotted(q));
        const result = canonicalAddress(text);
        // Refused, or (for ::0.0.0.0 / ::0.0.0.1, the unspecified and loopback addresses) IPv6.
        const read = result.ok ? result.ip : result.reason;
        expect(result.ok ? !read.includes('.') : /embedding IPv4/.test(read)).toBe(true);
      }),
    );
  });

  it('canonical text reads back as itself (idempotent) for any IPv6 words', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }), (groups) => {
        const text = groups.map((g) => g.toString(16)).join(':');
        const first = canonicalAddress(text);
        if (!first.ok) return;
        expect(canonicalAddress(first.ip)).toEqual(first);
        const ip = parseIp(first.ip);
        if (ip === undefined) throw new Error('parse');
        expect(formatIp(ip)).toBe(first.ip);
      }),
    );
  });
});
