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

describe('upstreamHeaders, memoised per principal', () => {
  /** The computation without the memo: every header set in order, then checked in map order. */
  function reference(
    p: Principal,
    roleArn: string,
    decisionId: string,
    claimHeaders: Record<string, string>,
    grant?: { id: string; expiresAt: number },
  ) {
    const headers = new Map<string, string>([
      ['x-rolegate-principal', p.subject],
      ['x-rolegate-role', roleArn],
      ['x-rolegate-decision-id', decisionId],
    ]);
    if (grant) {
      headers.set('x-rolegate-grant-id', grant.id);
      headers.set('x-rolegate-grant-expires', new Date(grant.expiresAt).toISOString());
    }
    for (const [header, path] of Object.entries(claimHeaders)) {
      const v = path
        .split('.')
        .reduce<unknown>(
          (o, k) =>
            o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined,
          p.claims,
        );
      const text = Array.isArray(v) ? v.join(',') : typeof v === 'string' ? v : undefined;
      if (text !== undefined) headers.set(header, text);
    }
    for (const [header, value] of headers) {
      if (value !== '' && !isSafeHeaderValue(value)) return { ok: false, header };
    }
    return { ok: true, headers: [...headers] };
  }

  it('answers as the computation without it, for 3,000 random principals and settings', () => {
    let seed = 0xc1a1;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      // The high bits: an LCG's low bits repeat with short periods.
      return (seed >>> 16) % n;
    };
    const values = ['a@x', '', 'Zoë', 'bad\r\nx', ' lead', 'nul\u0000'];
    const names = ['x-a', 'x-b', 'x-c', 'x-rolegate-principal', 'x-rolegate-decision-id'];
    const principals = Array.from({ length: 40 }, () =>
      principal(
        {
          email: values[rnd(values.length)],
          team: rnd(2) === 0 ? [values[rnd(3)], values[rnd(values.length)]] : values[rnd(3)],
          org: { unit: values[rnd(values.length)] },
        },
        values[rnd(4) === 0 ? rnd(values.length) : 0],
      ),
    );
    const settings = Array.from({ length: 8 }, () => {
      const out: Record<string, string> = {};
      for (let n = rnd(4); n > 0; n--) {
        out[names[rnd(rnd(3) === 0 ? names.length : 3)] as string] = [
          'email',
          'team',
          'org.unit',
          'none',
        ][rnd(4)] as string;
      }
      return out;
    });
    const mismatches: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const p = principals[rnd(principals.length)] as Principal;
      const claimHeaders = settings[rnd(settings.length)] as Record<string, string>;
      const grant = rnd(4) === 0 ? { id: 'g1', expiresAt: 1_700_000_000_000 } : undefined;
      const got = upstreamHeaders(p, 'arn:aws:iam::1:role/r', `id-${i}`, claimHeaders, grant);
      const want = reference(p, 'arn:aws:iam::1:role/r', `id-${i}`, claimHeaders, grant);
      const shaped = got.ok ? { ok: true, headers: [...got.headers] } : got;
      if (JSON.stringify(shaped) !== JSON.stringify(want))
        mismatches.push(JSON.stringify([shaped, want]));
    }
    expect(mismatches).toEqual([]);
  });
});
