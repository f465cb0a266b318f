// IPv4 and IPv6 are disjoint address families for IpAddress / NotIpAddress:
// an IPv6 block (even ::/0) never holds an IPv4 request address, and the
// reverse. The AWS page documents each operator on "an IPv4 or IPv6 address
// or range"; aws:SourceIp carries one family per request.
import { describe, it } from '@jest/globals';
import { check, cond, DOCS, type Case } from './harness.js';

const O = DOCS.operators;

const cases: Case[] = [
  cond(
    'IpAddress ::/0 does not hold an IPv4 address',
    O,
    { IpAddress: { 'aws:SourceIp': '::/0' } },
    { 'aws:SourceIp': '198.51.100.7' },
    false,
  ),
  cond(
    'IpAddress 0.0.0.0/0 does not hold an IPv6 address',
    O,
    { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } },
    { 'aws:SourceIp': '2001:db8::7' },
    false,
  ),
  cond(
    'NotIpAddress on an IPv6 block holds for every IPv4 address',
    O,
    { NotIpAddress: { 'aws:SourceIp': ['::/0'] } },
    { 'aws:SourceIp': '198.51.100.7' },
    true,
  ),
  cond(
    'NotIpAddress on IPv4 blocks holds for an IPv6 address',
    O,
    { NotIpAddress: { 'aws:SourceIp': '0.0.0.0/0' } },
    { 'aws:SourceIp': '2001:db8::7' },
    true,
  ),
  cond(
    'IpAddress mixed families: the IPv4 block decides for an IPv4 address',
    O,
    { IpAddress: { 'aws:SourceIp': ['2001:db8::/32', '198.51.100.0/24'] } },
    { 'aws:SourceIp': '198.51.100.7' },
    true,
  ),
  cond(
    'IpAddress mixed families: the IPv6 block decides for an IPv6 address',
    O,
    { IpAddress: { 'aws:SourceIp': ['2001:db8::/32', '198.51.100.0/24'] } },
    { 'aws:SourceIp': '2001:db8:1::1' },
    true,
  ),
  cond(
    'IpAddress an IPv6 block below the mapped range (::ffff:0:0/95) holds no IPv4 address',
    O,
    { IpAddress: { 'aws:SourceIp': '::ffff:0.0.0.0/95' } },
    { 'aws:SourceIp': '198.51.100.7' },
    false,
  ),
];

describe('IP address families (IAM User Guide, IP address condition operators)', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => check(c));
});
