/**
 * The session cookie's attributes (Secure and `__Host-` over https, the
 * plain-http development name otherwise) and what `access.signIn` accepts as
 * its external URL: https, or plain http only on a loopback host.
 */
import { describe, expect, it } from '@jest/globals';
import { accessSchema } from '../../../src/access/options.js';
import { sessionCookie, sessionIdHash } from '../../../src/access/sessions.js';

const signIn = (externalUrl?: string) =>
  accessSchema.safeParse({
    signIn: {
      issuer: 'https://idp.example.com',
      clientId: 'rolegate',
      ...(externalUrl === undefined ? {} : { externalUrl }),
    },
  });

describe('the session cookie', () => {
  it('is Secure and __Host- over https', () => {
    expect(sessionCookie(true, 'abc', 60.9)).toBe(
      '__Host-rolegate-session=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure',
    );
  });

  it('is the development cookie over plain http, and cleared with Max-Age=0', () => {
    expect(sessionCookie(false, '', -5)).toBe(
      'rolegate-session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax',
    );
  });

  it('is stored only as a hash', () => {
    expect(sessionIdHash('a'.repeat(43))).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sessionIdHash('a'.repeat(43))).not.toContain('aaaa');
  });
});

describe('access.signIn', () => {
  it.each([
    undefined,
    'https://rolegate.example.com',
    'http://127.0.0.1:9004',
    'http://localhost:9004',
  ])('accepts externalUrl %s', (externalUrl) => {
    const parsed = signIn(externalUrl);
    expect(parsed.success).toBe(true);
    expect(parsed.data?.signIn).toMatchObject({ scopes: ['openid'], sessionSeconds: 28_800 });
  });

  it.each([
    ['http://rolegate.example.com', 'must be https'],
    ['https://rolegate.example.com/approvals', 'no path'],
    ['ftp://rolegate.example.com', 'http(s) origin'],
  ])('refuses externalUrl %s', (externalUrl, message) => {
    const parsed = signIn(externalUrl);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.message).join('; ')).toContain(message);
  });
});
