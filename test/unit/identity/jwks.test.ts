import { describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT, jwtVerify, type JWK } from 'jose';
import { createKeyStore, DEFAULT_KEY_TIMING } from '../../../src/identity/jwks.js';
import { RolegateError } from '../../../src/errors.js';

const ISSUER = 'https://idp.test';

async function key(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256' };
  const sign = () =>
    new SignJWT({ sub: 's' }).setProtectedHeader({ alg: 'ES256', kid }).sign(privateKey);
  return { jwk, sign };
}

/** A fake IdP: our own fetch seam, counting requests; the real IdP is in test/integration. */
function fakeIdp(initial: JWK[]) {
  const state = { keys: initial, down: false, fetches: 0, discoveries: 0 };
  const fetchJson = async (url: string): Promise<unknown> => {
    await new Promise((r) => setTimeout(r, 5));
    if (state.down) throw new Error('connect ECONNREFUSED');
    if (url.endsWith('/.well-known/openid-configuration')) {
      state.discoveries++;
      return { issuer: ISSUER, jwks_uri: `${ISSUER}/keys` };
    }
    state.fetches++;
    return { keys: state.keys };
  };
  return { state, fetchJson };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err instanceof RolegateError ? err.code : (err as Error).constructor.name;
  }
}

describe('createKeyStore', () => {
  it('discovers the JWKS once and verifies with it', async () => {
    const k1 = await key('k1');
    const idp = fakeIdp([k1.jwk]);
    let now = 1_000_000;
    const store = createKeyStore({
      issuer: ISSUER,
      timing: DEFAULT_KEY_TIMING,
      now: () => now,
      fetchJson: idp.fetchJson,
    });
    await jwtVerify(await k1.sign(), store.getKey);
    now += 1000;
    await jwtVerify(await k1.sign(), store.getKey);
    expect(idp.state).toMatchObject({ discoveries: 1, fetches: 1 });
    expect(store.lastSuccess()).toBe(1_000_000);
  });

  it('makes one fetch for a storm of requests with a new kid', async () => {
    const k1 = await key('k1');
    const k2 = await key('k2');
    const idp = fakeIdp([k1.jwk]);
    let now = 1_000_000;
    const store = createKeyStore({
      issuer: ISSUER,
      jwksUri: `${ISSUER}/keys`,
      timing: DEFAULT_KEY_TIMING,
      now: () => now,
      fetchJson: idp.fetchJson,
    });
    await jwtVerify(await k1.sign(), store.getKey);
    idp.state.keys = [k1.jwk, k2.jwk]; // the IdP rotates
    now += 31_000; // past the cooldown that followed the first fetch
    const token = await k2.sign();
    const results = await Promise.all(
      Array.from({ length: 1000 }, () => codeOf(jwtVerify(token, store.getKey))),
    );
    expect([...new Set(results)]).toEqual(['ok']);
    expect(idp.state.fetches).toBe(2);
  });

  it('refetches an unknown kid at most once per cooldown', async () => {
    const k1 = await key('k1');
    const stranger = await key('unknown');
    const idp = fakeIdp([k1.jwk]);
    let now = 1_000_000;
    const store = createKeyStore({
      issuer: ISSUER,
      jwksUri: `${ISSUER}/keys`,
      timing: DEFAULT_KEY_TIMING,
      now: () => now,
      fetchJson: idp.fetchJson,
    });
    await jwtVerify(await k1.sign(), store.getKey);
    now += 31_000;
    expect(await codeOf(jwtVerify(await stranger.sign(), store.getKey))).toBe('JWKSNoMatchingKey');
    expect(await codeOf(jwtVerify(await stranger.sign(), store.getKey))).toBe('JWKSNoMatchingKey');
    expect(idp.state.fetches).toBe(2);
    now += 31_000;
    await codeOf(jwtVerify(await stranger.sign(), store.getKey));
    expect(idp.state.fetches).toBe(3);
  });

  it('serves cached keys through an outage for the stale window, then fails closed', async () => {
    const k1 = await key('k1');
    const idp = fakeIdp([k1.jwk]);
    let now = 1_000_000;
    const timing = {
      ...DEFAULT_KEY_TIMING,
      maxAgeMs: 60_000,
      staleMs: 120_000,
      cooldownMs: 10_000,
    };
    const store = createKeyStore({
      issuer: ISSUER,
      jwksUri: `${ISSUER}/keys`,
      timing,
      now: () => now,
      fetchJson: idp.fetchJson,
    });
    const token = await k1.sign();
    await jwtVerify(token, store.getKey);
    idp.state.down = true;
    now += 150_000; // past max age, inside max age + stale window
    expect(await codeOf(jwtVerify(token, store.getKey))).toBe('ok');
    now += 40_000; // 190 s after the last good fetch: past 60 + 120
    expect(await codeOf(jwtVerify(token, store.getKey))).toBe('ERR_JWKS_UNAVAILABLE');
    idp.state.down = false;
    now += 10_000; // cooldown over: the IdP is back, keys refresh
    expect(await codeOf(jwtVerify(token, store.getKey))).toBe('ok');
  });

  it('never fetches a fixed key set', async () => {
    const k1 = await key('k1');
    const idp = fakeIdp([]);
    const store = createKeyStore({
      issuer: ISSUER,
      jwks: { keys: [k1.jwk] },
      timing: DEFAULT_KEY_TIMING,
      now: () => 0,
      fetchJson: idp.fetchJson,
    });
    await jwtVerify(await k1.sign(), store.getKey);
    expect(idp.state.fetches + idp.state.discoveries).toBe(0);
  });

  it('fails closed when the IdP was never reachable', async () => {
    const k1 = await key('k1');
    const idp = fakeIdp([k1.jwk]);
    idp.state.down = true;
    const store = createKeyStore({
      issuer: ISSUER,
      timing: DEFAULT_KEY_TIMING,
      now: () => 0,
      fetchJson: idp.fetchJson,
    });
    expect(await codeOf(jwtVerify(await k1.sign(), store.getKey))).toBe('ERR_JWKS_UNAVAILABLE');
  });
});
