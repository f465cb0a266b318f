import { describe, expect, it } from '@jest/globals';
import { extractToken } from '../../../src/request/credentials.js';
import { revealToken } from '../../../src/request/token.js';
import type { AuthzRequest } from '../../../src/request/types.js';
import type { TokenLocation } from '../../../src/request/options.js';

const req = (headers: Record<string, string>): AuthzRequest => ({
  requestId: '',
  method: 'GET',
  path: '/',
  query: new Map(),
  host: 'h',
  headers,
  secure: true,
  contextExtensions: {},
});

const bearer: TokenLocation = { kind: 'bearer' };
const header: TokenLocation = { kind: 'header', name: 'x-id-token' };
const cookie: TokenLocation = { kind: 'cookie', name: 'session' };

describe('extractToken', () => {
  it('finds the first configured location that holds a token', () => {
    const r = req({ 'x-id-token': 'h.h.h', cookie: 'a=1; session=c.c.c; b=2' });
    const first = extractToken(r, [bearer, header, cookie]);
    expect(first?.location).toEqual(header);
    expect(first && revealToken(first.token)).toBe('h.h.h');
    const second = extractToken(r, [cookie, header]);
    expect(second?.location).toEqual(cookie);
    expect(second && revealToken(second.token)).toBe('c.c.c');
  });
  it('finds nothing when no location holds a token', () => {
    expect(extractToken(req({ cookie: 'other=1' }), [bearer, cookie])).toBeUndefined();
  });
});
