/**
 * rolegate's JWT verification against a real OpenID provider: discovery,
 * client-credentials access tokens and ID tokens, key rotation without a
 * restart, an outage inside and past the stale window, a storm of
 * requests with a new kid making a single JWKS fetch, and discovery held to
 * OpenID Connect Discovery (the document's issuer equals the configured one
 * exactly).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jwtVerify } from 'jose';
import { createJwtVerifier } from '../../../src/identity/jwt.js';
import { createKeyStore, DEFAULT_KEY_TIMING } from '../../../src/identity/jwks.js';
import { identityExplanationOf } from '../../../src/identity/refusal.js';
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

describe('discovery against a real OpenID provider', () => {
  /** The provider's issuer as an operator might have written it: localhost for 127.0.0.1. */
  const localhost = () => op.issuer.replace('127.0.0.1', 'localhost');

  async function refusalOf(p: Promise<unknown>): Promise<unknown> {
    try {
      await p;
    } catch (err) {
      return err;
    }
    throw new Error('resolved');
  }

  it('loads no keys for an issuer configured as localhost when the provider says 127.0.0.1, naming both', async () => {
    const configured = localhost();
    const store = createKeyStore({
      issuer: configured,
      timing: { ...DEFAULT_KEY_TIMING, maxWaitMs: 5000 },
      now: () => now,
    });
    const token = await op.clientCredentialsToken();
    const jwksBefore = op.requestCount('/jwks');
    const err = await refusalOf(jwtVerify(token, store.getKey));
    expect((err as RolegateError).code).toBe('ERR_JWKS_UNAVAILABLE');
    const cause = `the discovery document at ${configured}/.well-known/openid-configuration names issuer "${op.issuer}", not the configured issuer "${configured}" (they differ in host 127.0.0.1 vs localhost); OpenID Connect Discovery requires them to be identical`;
    expect(store.loadError()).toBe(cause);
    expect(identityExplanationOf(err)).toEqual({
      check: 'keys',
      issuer: configured,
      cause,
      message: `no usable keys for issuer ${configured}: no keys were ever loaded; last load error: ${cause}`,
    });
    // Refused at discovery: the key set named there is never fetched.
    expect(op.requestCount('/jwks')).toBe(jwksBefore);
  });

  it("loads the keys when the configured issuer is the provider's own, byte for byte", async () => {
    const store = createKeyStore({
      issuer: op.issuer,
      timing: { ...DEFAULT_KEY_TIMING, maxWaitMs: 5000 },
      now: () => now,
    });
    await jwtVerify(await op.clientCredentialsToken(), store.getKey);
    expect(store.loadError()).toBeUndefined();
    expect(store.kids()).toContain(op.currentKid);
  });

  it("tells the operator who configured localhost that the provider's tokens say 127.0.0.1", async () => {
    const v = createJwtVerifier({
      issuers: [issuerConfig(localhost(), { audiences: [API_AUDIENCE] })],
      maxTokenBytes: 16384,
      cacheEntries: 0,
      now: () => now,
    });
    const err = await refusalOf(v.verify(await op.clientCredentialsToken()));
    expect((err as RolegateError).code).toBe('ERR_TOKEN_ISSUER_UNKNOWN');
    expect(identityExplanationOf(err)).toEqual({
      check: 'issuer',
      found: op.issuer,
      expected: [localhost()],
      didYouMean: localhost(),
      message: `iss "${op.issuer}" is not a configured issuer; configured: "${localhost()}"; did you mean "${localhost()}"? (they differ in host 127.0.0.1 vs localhost; issuers are compared exactly)`,
    });
  });
});
