import { describe, expect, it } from '@jest/globals';
import { peerPrincipal } from '../../../src/identity/mtls.js';
import type { AuthzRequest } from '../../../src/request/types.js';

const req = (sourcePrincipal?: string): AuthzRequest => ({
  requestId: '',
  method: 'GET',
  path: '/',
  query: new Map(),
  host: 'h',
  headers: {},
  secure: true,
  contextExtensions: {},
  ...(sourcePrincipal === undefined ? {} : { sourcePrincipal }),
});

describe('peerPrincipal', () => {
  const on = { enabled: true, trustDomains: ['example.org'] };
  it('turns a SPIFFE ID in an accepted trust domain into a principal', () => {
    expect(peerPrincipal(req('spiffe://example.org/ns/a/sa/b'), on)).toMatchObject({
      kind: 'mtls',
      issuer: 'spiffe://example.org',
      subject: 'spiffe://example.org/ns/a/sa/b',
    });
  });
  it.each([
    ['mTLS off', req('spiffe://example.org/x'), { enabled: false, trustDomains: [] }],
    ['no peer', req(), on],
    ['a foreign trust domain', req('spiffe://evil.example/x'), on],
    ['a non-SPIFFE principal', req('CN=client'), on],
    ['a malformed SPIFFE ID', req('spiffe://example.org/a b'), on],
  ])('gives nothing for %s', (_name, request, mtls) => {
    expect(peerPrincipal(request, mtls)).toBeUndefined();
  });
});
