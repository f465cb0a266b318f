/**
 * `KeyStore.findKey`, the request path's key lookup: at once from fresh
 * keys, and with the refetch rules `getKey` has (jwks.test.ts): an unknown
 * kid refetches the keys, at most once per cooldown, shared by every caller.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { JWK } from 'jose';
import { createKeyStore, DEFAULT_KEY_TIMING } from '../../../src/identity/jwks.js';
import { jwsAlgorithm } from '../../../src/identity/jws-algorithms.js';
import type { KeyMatch } from '../../../src/identity/verify-keys.js';

const ISSUER = 'https://idp.test';
const ES256 = jwsAlgorithm('ES256');

function jwk(kid: string): JWK {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg: 'ES256' };
}

/** Our own fetch seam, counting JWKS fetches. */
function idp(keys: JWK[]) {
  const state = { keys, fetches: 0 };
  const fetchJson = async (): Promise<unknown> => {
    await new Promise((r) => setTimeout(r, 5));
    state.fetches++;
    return { keys: state.keys };
  };
  return { state, fetchJson };
}

/** A key store on `server` whose clock is `clock.now`. */
const storeOf = (server: ReturnType<typeof idp>, clock: { now: number }) =>
  createKeyStore({
    issuer: ISSUER,
    jwksUri: `${ISSUER}/keys`,
    timing: DEFAULT_KEY_TIMING,
    now: () => clock.now,
    fetchJson: server.fetchJson,
  });

const kind = async (m: KeyMatch | Promise<KeyMatch>) => (await m).kind;

describe('KeyStore.findKey', () => {
  if (ES256 === undefined) throw new Error('ES256');

  it('answers without a promise from keys younger than maxAge', async () => {
    const server = idp([jwk('k1')]);
    const clock = { now: 1_000_000 };
    const store = storeOf(server, clock);
    const first = store.findKey(ES256, 'k1');
    expect(first).toBeInstanceOf(Promise); // nothing loaded yet: it fetches
    expect(await kind(first)).toBe('one');
    clock.now += 1_000;
    const second = store.findKey(ES256, 'k1');
    expect(second).not.toBeInstanceOf(Promise);
    expect(await kind(second)).toBe('one');
    clock.now += DEFAULT_KEY_TIMING.maxAgeMs; // past maxAge: served, refreshed in the background
    expect(await kind(store.findKey(ES256, 'k1'))).toBe('one');
    const deadline = Date.now() + 2_000;
    while (server.state.fetches < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(server.state.fetches).toBe(2);
  });

  it('refetches for an unknown kid once per cooldown, one fetch for many callers', async () => {
    const server = idp([jwk('k1')]);
    const clock = { now: 1_000_000 };
    const store = storeOf(server, clock);
    expect(await kind(store.findKey(ES256, 'k1'))).toBe('one');
    server.state.keys = [jwk('k1'), jwk('k2')]; // the IdP rotates
    clock.now += DEFAULT_KEY_TIMING.cooldownMs + 1;
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => kind(store.findKey(ES256, 'k2'))),
    );
    expect([...new Set(answers)]).toEqual(['one']);
    expect(server.state.fetches).toBe(2);
    // A kid nobody has: within the cooldown, no fetch; after it, one.
    expect(await kind(store.findKey(ES256, 'gone'))).toBe('none');
    expect(server.state.fetches).toBe(2);
    clock.now += DEFAULT_KEY_TIMING.cooldownMs + 1;
    expect(await kind(store.findKey(ES256, 'gone'))).toBe('none');
    expect(server.state.fetches).toBe(3);
  });

  it('never fetches for a fixed key set', async () => {
    const server = idp([]);
    const store = createKeyStore({
      issuer: ISSUER,
      jwks: { keys: [jwk('k1')] },
      timing: DEFAULT_KEY_TIMING,
      now: () => 1_000_000,
      fetchJson: server.fetchJson,
    });
    expect(await kind(store.findKey(ES256, 'k1'))).toBe('one');
    expect(await kind(store.findKey(ES256, 'other'))).toBe('none');
    expect(server.state.fetches).toBe(0);
  });
});
