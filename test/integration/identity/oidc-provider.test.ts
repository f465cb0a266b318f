/**
 * rolegate's JWT verification against a real OpenID provider: discovery,
 * client-credentials access tokens and ID tokens, key rotation without a
 * restart, an outage inside and past the stale window, and a storm of
 * requests with a new kid making a single JWKS fetch.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createJwtVerifier } from '../../../src/identity/jwt.js';
import { RolegateError } from '../../../src/errors.js';
import {
  API_AUDIENCE,
  OidcProviderPeer,
  SERVICE_CLIENT,
  WEB_CLIENT,
} from '../../harness/oidc-provider.js';
import { issuerConfig } from '../../support/issuer.js';
import { DEFAULT_ISSUER_KEYS } from '../../../src/identity/options.js';

const op = new OidcProviderPeer();
let now = Date.now(); // frozen; tests move it explicitly

function verifier(timing = { maxAgeSeconds: 600, cooldownSeconds: 30, staleSeconds: 3600 }) {
  // A generous wait: these tests are about discovery, rotation and single flight under
  // a shared CPU; the maxWaitMs bound has its own tests (test/unit/identity/jwks.test.ts).
  const keys = { ...DEFAULT_ISSUER_KEYS, maxWaitMs: 2000, ...timing };
  return createJwtVerifier({
    issuers: [
      issuerConfig(op.issuer, {
        audiences: [API_AUDIENCE, WEB_CLIENT.id],
        keys,
        // The provider stamps iat from the real clock, a little after `now` was
        // frozen: the documented default tolerance, not the unit tests' 0.
        clockToleranceSeconds: 30,
      }),
    ],
    maxTokenBytes: 16384,
    cacheEntries: 0,
    now: () => now,
  });
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err instanceof RolegateError ? err.code : String(err);
  }
}

beforeAll(() => op.start());
afterAll(() => op.stop());

describe('against a real OpenID provider', () => {
  it('verifies a client-credentials JWT access token found by discovery', async () => {
    const token = await op.clientCredentialsToken();
    const principal = await verifier().verify(token);
    expect(principal.subject).toBe(SERVICE_CLIENT.id);
    expect(principal.claims['aud']).toBe(API_AUDIENCE);
    expect(op.requestCount('/.well-known/openid-configuration')).toBeGreaterThanOrEqual(1);
  });

  it('verifies an ID token from the authorization-code flow', async () => {
    const token = await op.idToken('alice');
    const principal = await verifier().verify(token);
    expect(principal.subject).toBe('alice');
    expect(principal.claims['aud']).toBe(WEB_CLIENT.id);
  });

  it('accepts tokens signed with rotated keys without a restart', async () => {
    const v = verifier({ maxAgeSeconds: 600, cooldownSeconds: 30, staleSeconds: 3600 });
    await v.verify(await op.clientCredentialsToken());
    const newKid = await op.rotateKeys();
    const token = await op.clientCredentialsToken();
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid).toBe(newKid);
    now += 31_000; // past the refetch cooldown
    expect(await codeOf(v.verify(token))).toBe('ok');
  });

  it('makes one JWKS fetch for a storm of requests with a new kid', async () => {
    const v = verifier();
    await v.verify(await op.clientCredentialsToken());
    await op.rotateKeys();
    const token = await op.clientCredentialsToken();
    now += 31_000;
    const before = op.requestCount('/jwks');
    const results = await Promise.all(Array.from({ length: 1000 }, () => codeOf(v.verify(token))));
    expect([...new Set(results)]).toEqual(['ok']);
    expect(op.requestCount('/jwks') - before).toBe(1);
  });

  it('keeps serving cached keys inside the stale window, then fails closed', async () => {
    const v = verifier({ maxAgeSeconds: 60, cooldownSeconds: 5, staleSeconds: 120 });
    const token = await op.clientCredentialsToken();
    await v.verify(token);
    await op.stop();
    try {
      now += 100_000; // keys are 100 s old: past max age, inside the stale window
      expect(await codeOf(v.verify(token))).toBe('ok');
      now += 100_000; // 200 s: past 60 + 120
      expect(await codeOf(v.verify(token))).toBe('ERR_JWKS_UNAVAILABLE');
    } finally {
      await op.start();
    }
  });
});
