import { describe, expect, it } from '@jest/globals';
import type { Principal } from '../../../src/identity/principal.js';
import {
  isSafeHeaderValue,
  MAX_HEADER_VALUE_LENGTH,
  upstreamHeaders,
} from '../../../src/response/upstream-headers.js';

const principal = (claims: Record<string, unknown>, subject = 'alice'): Principal => ({
  kind: 'jwt',
  issuer: 'https://idp',
  subject,
  claims,
  federated: ['https://idp'],
});

describe('isSafeHeaderValue', () => {
  it.each([
    ['alice@example.com', true],
    ['a b\tc', true],
    ['Zoë Ørsted', true],
    ['', true],
    ['evil\r\nx-rolegate-role: admin', false],
    ['line\nbreak', false],
    ['nul\u0000byte', false],
    ['bell\u0007', false],
    ['del\u007f', false],
    ['c1\u0085next-line', false],
    ['sep\u2028', false],
    [' leading', false],
    ['trailing\t', false],
    ['x'.repeat(MAX_HEADER_VALUE_LENGTH), true],
    ['x'.repeat(MAX_HEADER_VALUE_LENGTH + 1), false],
  ])('%j -> %s', (value, safe) => expect(isSafeHeaderValue(value)).toBe(safe));
});

describe('upstreamHeaders', () => {
  const claimHeaders = { 'x-user-email': 'email', 'x-team': 'org.team' };

  it('sets principal, role, decision id and the present claims', () => {
    const r = upstreamHeaders(
      principal({ email: 'a@x', org: { team: 'blue' } }),
      'arn:r',
      'd-1',
      claimHeaders,
    );
    expect(r.ok && Object.fromEntries(r.headers)).toEqual({
      'x-rolegate-principal': 'alice',
      'x-rolegate-role': 'arn:r',
      'x-rolegate-decision-id': 'd-1',
      'x-user-email': 'a@x',
      'x-team': 'blue',
    });
  });

  it('names the header whose claim holds CR LF, never its value', () => {
    const r = upstreamHeaders(
      principal({ email: 'a@x\r\nx-admin: 1' }),
      'arn:r',
      'd-1',
      claimHeaders,
    );
    expect(r).toEqual({ ok: false, header: 'x-user-email' });
  });

  it('refuses a subject with a NUL, which would reach the principal header', () => {
    const r = upstreamHeaders(principal({}, 'bob\u0000'), 'arn:r', 'd-1', claimHeaders);
    expect(r).toEqual({ ok: false, header: 'x-rolegate-principal' });
  });

  it('joins a list claim with commas and checks the joined value', () => {
    const ok = upstreamHeaders(principal({ g: ['a', 'b'] }), 'arn:r', 'd', { 'x-g': 'g' });
    expect(ok.ok && ok.headers.get('x-g')).toBe('a,b');
    const bad = upstreamHeaders(principal({ g: ['a', 'b\n'] }), 'arn:r', 'd', { 'x-g': 'g' });
    expect(bad).toEqual({ ok: false, header: 'x-g' });
  });
});
