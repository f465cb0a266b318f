import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { JWK } from 'jose';
import { jwsAlgorithm, type JwsAlgorithm } from '../../../src/identity/jws-algorithms.js';
import { prepareKeySet } from '../../../src/identity/verify-keys.js';

const alg = (name: string): JwsAlgorithm => {
  const found = jwsAlgorithm(name);
  if (found === undefined) throw new Error(name);
  return found;
};

function ecJwk(kid: string | undefined, extra: Partial<JWK> = {}) {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...(pair.publicKey.export({ format: 'jwk' }) as JWK), ...extra };
  if (kid !== undefined) jwk.kid = kid;
  return { jwk, privateKey: pair.privateKey };
}

describe('prepareKeySet', () => {
  it('imports each key once into a KeyObject that verifies what its private key signed', async () => {
    const a = ecJwk('a');
    const set = prepareKeySet({ keys: [a.jwk] });
    const match = set.select(alg('ES256'), 'a');
    expect(match.kind).toBe('one');
    if (match.kind !== 'one') return;
    const key = await match.key.load();
    expect(match.key.ready()).toBe(key);
    expect(set.select(alg('ES256'), 'a')).toBe(match); // remembered, not searched again
    const data = Buffer.from('hello');
    const sig = sign('sha256', data, { key: a.privateKey, dsaEncoding: 'ieee-p1363' });
    expect(verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
  });

  it('chooses by kty, crv, alg, use, key_ops and kid, as jose does', () => {
    const set = prepareKeySet({
      keys: [
        ecJwk('pinned', { alg: 'ES384' }).jwk,
        ecJwk('enc', { use: 'enc' }).jwk,
        ecJwk('ops', { key_ops: ['encrypt'] }).jwk,
        ecJwk('dup-ops', { key_ops: ['verify', 'verify'] }).jwk,
        ecJwk('ok', { key_ops: ['verify'], use: 'sig', alg: 'ES256' }).jwk,
      ],
    });
    const kinds = (name: string, kid?: string) => set.select(alg(name), kid).kind;
    expect(kinds('ES256', 'pinned')).toBe('none');
    expect(kinds('ES256', 'enc')).toBe('none');
    expect(kinds('ES256', 'ops')).toBe('none');
    expect(kinds('ES256', 'dup-ops')).toBe('none');
    expect(kinds('ES256', 'ok')).toBe('one');
    expect(kinds('ES384', 'ok')).toBe('none'); // another curve and a pinned alg
    expect(kinds('RS256', 'ok')).toBe('none'); // another key type
    expect(kinds('ES256', undefined)).toBe('one'); // without kid: the one usable key
  });

  it('refuses to choose among several matching keys, and refuses HMAC', () => {
    const set = prepareKeySet({ keys: [ecJwk('x').jwk, ecJwk('x').jwk, ecJwk(undefined).jwk] });
    expect(set.select(alg('ES256'), 'x').kind).toBe('several');
    expect(set.select(alg('ES256'), undefined).kind).toBe('several');
    expect(() => set.select(alg('HS256'), 'x')).toThrow('JSON Web Key Set');
  });

  it('rejects the load of a private key with jose’s error, and of a bad point', async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const priv = { ...(pair.privateKey.export({ format: 'jwk' }) as JWK), kid: 'p' };
    const bad = { ...ecJwk('bad').jwk, y: ecJwk(undefined).jwk.x ?? '' };
    const set = prepareKeySet({ keys: [priv, bad] });
    const load = (kid: string) => {
      const m = set.select(alg('ES256'), kid);
      return m.kind === 'one' ? m.key.load() : Promise.reject(new Error(m.kind));
    };
    await expect(load('p')).rejects.toMatchObject({ code: 'ERR_JWKS_INVALID' });
    await expect(load('bad')).rejects.toThrow();
  });

  it('reads a snapshot of the key set: a later change to the document is not seen', () => {
    const keys = [ecJwk('a').jwk];
    const set = prepareKeySet({ keys });
    expect(set.select(alg('ES256'), 'later').kind).toBe('none');
    keys.push(ecJwk('later').jwk);
    expect(set.select(alg('ES256'), 'later').kind).toBe('none');
  });
});
