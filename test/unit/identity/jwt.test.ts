import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT, type JWTPayload } from 'jose';
import { createJwtVerifier, type JwtVerifier } from '../../../src/identity/jwt.js';
import { RolegateError } from '../../../src/errors.js';
import { DEFAULT_ISSUER_KEYS } from '../../../src/identity/options.js';
import { issuerConfig } from '../../support/issuer.js';
import { JwksIssuer } from '../../harness/jwks.js';

// The verifier's clock is frozen at module load; tokens are minted relative to it.
const NOW_S = Math.floor(Date.now() / 1000);
const NOW_MS = NOW_S * 1000;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (err) {
    return err instanceof RolegateError ? err.code : `not a RolegateError: ${String(err)}`;
  }
}

describe('createJwtVerifier', () => {
  const idp = new JwksIssuer({ audience: 'api' });
  let verifier: JwtVerifier;
  const mint = (opts: Parameters<JwksIssuer['mint']>[1] = {}, claims = {}) =>
    idp.mint({ ...claims }, { subject: 'alice', issuedAt: NOW_S - 10, expiresIn: 300, ...opts });

  beforeAll(async () => {
    await idp.start();
    verifier = createJwtVerifier({
      issuers: [issuerConfig(idp.issuer)],
      maxTokenBytes: 16384,
      cacheEntries: 100,
      now: () => NOW_MS,
    });
  });
  afterAll(() => idp.stop());

  it('verifies a token found by discovery and returns the principal', async () => {
    const token = await idp.mint(
      { groups: ['a', 'b'] },
      { subject: 'alice', issuedAt: NOW_S - 10, expiresIn: 300 },
    );
    // A verifier of its own, so the count does not depend on the tests before this one.
    const fresh = createJwtVerifier({
      issuers: [issuerConfig(idp.issuer)],
      maxTokenBytes: 16384,
      cacheEntries: 100,
      now: () => NOW_MS,
    });
    const before = idp.requestCount('/.well-known/openid-configuration');
    const principal = await fresh.verify(token);
    expect(principal.subject).toBe('alice');
    expect(principal.issuer).toBe(idp.issuer);
    expect(principal.claims['groups']).toEqual(['a', 'b']);
    expect(principal.federated).toContain(idp.issuer.replace('http://', ''));
    expect(idp.requestCount('/.well-known/openid-configuration') - before).toBe(1);
  });

  it('caches verified tokens until exp and counts hits', async () => {
    const v = createJwtVerifier({
      issuers: [issuerConfig(idp.issuer)],
      maxTokenBytes: 16384,
      cacheEntries: 10,
      now: () => NOW_MS,
    });
    const token = await idp.mint({}, { subject: 'bob', issuedAt: NOW_S, expiresIn: 300 });
    const first = await v.verify(token);
    const second = await v.verify(token);
    expect(v.cache.size).toBe(1);
    expect(v.cache.hits).toBe(1);
    // Only the copy the cache holds, which later calls get, is memoised.
    expect(first.memoise).toBeUndefined();
    expect(second.memoise).toBe(true);
    expect(await v.verify(token)).toBe(second);
    expect({ ...first, memoise: true }).toEqual(second);
    // A token without exp is refused: nothing would bound how long it stays valid.
    const forever = await idp.mint({}, { subject: 'bob', issuedAt: NOW_S, expiresIn: null });
    expect(await codeOf(v.verify(forever))).toBe('ERR_TOKEN_CLAIM');
  });

  it('keeps one-off tokens out of a full cache and lets a repeated one in', async () => {
    const refused: number[] = [];
    const v = createJwtVerifier({
      issuers: [issuerConfig(idp.issuer)],
      maxTokenBytes: 16384,
      cacheEntries: 2,
      cacheHooks: { onRefuse: () => refused.push(1) },
      now: () => NOW_MS,
    });
    const mintFor = (subject: string) => idp.mint({}, { subject, issuedAt: NOW_S, expiresIn: 300 });
    const [a, b, c] = await Promise.all([mintFor('a'), mintFor('b'), mintFor('c')]);
    for (const t of [a, b, c]) await v.verify(t);
    expect([v.cache.size, refused.length]).toEqual([2, 1]);
    expect((await v.verify(a)).memoise).toBe(true); // held
    expect((await v.verify(c)).subject).toBe('c'); // second sighting: let in, b (least recent) out
    expect((await v.verify(c)).memoise).toBe(true);
    expect((await v.verify(b)).memoise).toBeUndefined();
    expect([v.cache.evictions, refused.length]).toEqual([1, 2]);
  });

  const cases: [string, () => Promise<string>, string][] = [
    [
      'a token from an unknown issuer',
      () => mint({ issuer: 'https://evil.example' }),
      'ERR_TOKEN_ISSUER_UNKNOWN',
    ],
    ['a wrong audience', () => mint({ audience: 'other' }), 'ERR_TOKEN_AUDIENCE'],
    ['a bad signature', () => mint({ foreignKey: true }), 'ERR_TOKEN_SIGNATURE'],
    ['an unknown kid', () => mint({ kid: 'nope' }), 'ERR_TOKEN_KID_UNKNOWN'],
    [
      'a truncated token',
      async () => (await mint()).slice(0, -20).split('.').slice(0, 2).join('.'),
      'ERR_TOKEN_MALFORMED',
    ],
    [
      'a non-JSON header',
      async () => `bm90IGpzb24.${(await mint()).split('.').slice(1).join('.')}`,
      'ERR_TOKEN_MALFORMED',
    ],
    [
      'alg none',
      async () => {
        const [, payload] = (await mint()).split('.');
        return `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
      },
      'ERR_TOKEN_ALG',
    ],
    ['a JWE where a JWS is expected', async () => 'a.b.c.d.e', 'ERR_TOKEN_ENCRYPTED'],
    [
      'a kid with path characters',
      () => mint({ kid: '../../etc/passwd' }),
      'ERR_TOKEN_KID_INVALID',
    ],
    [
      'an unknown crit header',
      async () => {
        const [, payload, signature] = (await mint()).split('.');
        const header = { alg: 'RS256', kid: idp.kid, crit: ['x-unknown'], 'x-unknown': 1 };
        return `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${payload}.${signature}`;
      },
      'ERR_TOKEN_CRIT',
    ],
    ['a 100 KB token', async () => 'a'.repeat(100_000), 'ERR_TOKEN_TOO_LARGE'],
    // The limit (16,384) is in UTF-8 bytes: 5,462 three-byte characters are
    // 16,386 bytes in 5,462 string units; 16,384 one-byte ones are within it.
    ['16,386 bytes in 5,462 units', async () => '€'.repeat(5_462), 'ERR_TOKEN_TOO_LARGE'],
    [
      '16,385 bytes, one of them 2-byte',
      async () => 'é' + 'a'.repeat(16_383),
      'ERR_TOKEN_TOO_LARGE',
    ],
    [
      '16,384 one-byte units (not too large: malformed)',
      async () => 'a'.repeat(16_384),
      'ERR_TOKEN_MALFORMED',
    ],
  ];
  it.each(cases)('rejects %s', async (_name, make, code) => {
    expect(await codeOf(verifier.verify(await make()))).toBe(code);
  });

  it('rejects expired and not-yet-valid tokens against the frozen clock', async () => {
    const expired = await mint({ issuedAt: NOW_S - 600, expiresIn: -60 });
    expect(await codeOf(verifier.verify(expired))).toBe('ERR_TOKEN_EXPIRED');
    const future = await mint({ notBefore: NOW_S + 600 });
    expect(await codeOf(verifier.verify(future))).toBe('ERR_TOKEN_NOT_YET_VALID');
  });

  it('rejects HS256 even when signed with the public key', async () => {
    const jwk = idp.jwks().keys[0];
    const secret = new TextEncoder().encode(JSON.stringify(jwk));
    const token = await new SignJWT({ sub: 'mallory' })
      .setProtectedHeader({ alg: 'HS256', kid: idp.kid })
      .setIssuer(idp.issuer)
      .setAudience('api')
      .sign(secret);
    expect(await codeOf(verifier.verify(token))).toBe('ERR_TOKEN_ALG');
  });

  it('rejects a token without sub', async () => {
    const token = await idp.mint({}, { issuedAt: NOW_S, expiresIn: 300 });
    expect(await codeOf(verifier.verify(token))).toBe('ERR_TOKEN_CLAIM');
  });
});

describe('issuer options', () => {
  const idp = new JwksIssuer({ audience: 'api' });
  beforeAll(() => idp.start());
  afterAll(() => idp.stop());
  const make = (extra: Parameters<typeof issuerConfig>[1]) =>
    createJwtVerifier({
      issuers: [issuerConfig(idp.issuer, extra)],
      maxTokenBytes: 16384,
      cacheEntries: 10,
      now: () => NOW_MS,
    });

  it('maps nested groups and principal tags from claims', async () => {
    const v = make({ groupsClaim: 'realm_access.roles', tagClaims: { team: 'org.team' } });
    const token = await idp.mint(
      { realm_access: { roles: ['admin', 'dev'] }, org: { team: 'blue' } },
      { subject: 'a', issuedAt: NOW_S },
    );
    const p = await v.verify(token);
    expect(p.groups).toEqual(['admin', 'dev']);
    expect(p.tags).toEqual({ team: 'blue' });
  });

  it('enforces required claims and their values', async () => {
    const v = make({ requiredClaims: { tenant: ['acme'], email: null } });
    const ok = await idp.mint({ tenant: 'acme', email: 'a@x' }, { subject: 'a', issuedAt: NOW_S });
    expect(await codeOf(v.verify(ok))).toBe('resolved');
    const wrong = await idp.mint(
      { tenant: 'other', email: 'a@x' },
      { subject: 'a', issuedAt: NOW_S },
    );
    expect(await codeOf(v.verify(wrong))).toBe('ERR_TOKEN_CLAIM');
    const missing = await idp.mint({ tenant: 'acme' }, { subject: 'a', issuedAt: NOW_S });
    expect(await codeOf(v.verify(missing))).toBe('ERR_TOKEN_CLAIM');
  });

  it('accepts a token only where its issuer sends tokens', async () => {
    const v = make({ token: { kind: 'cookie', name: 'session' } });
    const token = await idp.mint({}, { subject: 'a', issuedAt: NOW_S });
    expect(await codeOf(v.verify(token, { kind: 'cookie', name: 'session' }))).toBe('resolved');
    expect(await codeOf(v.verify(token, { kind: 'bearer' }))).toBe('ERR_TOKEN_LOCATION');
  });

  it('verifies HS256 only with the configured secret', async () => {
    const secret = new TextEncoder().encode('s'.repeat(40));
    const v = createJwtVerifier({
      issuers: [
        { ...issuerConfig('https://hmac.example', { algorithms: ['HS256'] }), hmacSecret: secret },
      ],
      maxTokenBytes: 16384,
      cacheEntries: 0,
      now: () => NOW_MS,
    });
    const sign = (key: Uint8Array) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('https://hmac.example')
        .setAudience('api')
        .setSubject('svc')
        .setExpirationTime(NOW_S + 60)
        .sign(key);
    expect(await codeOf(v.verify(await sign(secret)))).toBe('resolved');
    expect(await codeOf(v.verify(await sign(new TextEncoder().encode('t'.repeat(40)))))).toBe(
      'ERR_TOKEN_SIGNATURE',
    );
  });
});

describe('token time limits', () => {
  // HS256 so each test sets iat and exp exactly, against the frozen clock.
  const ISS = 'https://times.example';
  const secret = new TextEncoder().encode('k'.repeat(40));
  const make = (extra: Parameters<typeof issuerConfig>[1] = {}) =>
    createJwtVerifier({
      issuers: [
        {
          ...issuerConfig(ISS, { algorithms: ['HS256'], clockToleranceSeconds: 30, ...extra }),
          hmacSecret: secret,
        },
      ],
      maxTokenBytes: 16384,
      cacheEntries: 10,
      now: () => NOW_MS,
    });
  const sign = (times: { iat?: unknown; exp: number }) =>
    // A payload as a token may carry it, iat of any JSON type included.
    new SignJWT((times.iat === undefined ? {} : { iat: times.iat }) as JWTPayload)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISS)
      .setAudience('api')
      .setSubject('svc')
      .setExpirationTime(times.exp)
      .sign(secret);

  it('refuses an iat later than now plus the clock tolerance', async () => {
    const v = make();
    expect(await codeOf(v.verify(await sign({ iat: NOW_S + 30, exp: NOW_S + 300 })))).toBe(
      'resolved',
    );
    expect(await codeOf(v.verify(await sign({ iat: NOW_S + 31, exp: NOW_S + 300 })))).toBe(
      'ERR_TOKEN_ISSUED_IN_FUTURE',
    );
    expect(await codeOf(v.verify(await sign({ iat: NOW_S + 86_400, exp: NOW_S + 90_000 })))).toBe(
      'ERR_TOKEN_ISSUED_IN_FUTURE',
    );
    expect(v.cache.size).toBe(1); // refusals are never cached
  });

  it('refuses exp - iat beyond maxTokenLifetimeSeconds (default 24 h)', async () => {
    const v = make();
    const iat = NOW_S - 60;
    // An EKS IRSA token lives exactly 24 h: accepted.
    expect(await codeOf(v.verify(await sign({ iat, exp: iat + 86_400 })))).toBe('resolved');
    expect(await codeOf(v.verify(await sign({ iat, exp: iat + 86_401 })))).toBe(
      'ERR_TOKEN_LIFETIME',
    );
    expect(await codeOf(v.verify(await sign({ iat, exp: iat + 365 * 86_400 })))).toBe(
      'ERR_TOKEN_LIFETIME',
    );
    const short = make({ maxTokenLifetimeSeconds: 3600 });
    expect(await codeOf(short.verify(await sign({ iat, exp: iat + 3600 })))).toBe('resolved');
    expect(await codeOf(short.verify(await sign({ iat, exp: iat + 3601 })))).toBe(
      'ERR_TOKEN_LIFETIME',
    );
  });

  it('without iat, refuses exp - now beyond the maximum plus the tolerance', async () => {
    const v = make({ maxTokenLifetimeSeconds: 3600 });
    expect(await codeOf(v.verify(await sign({ exp: NOW_S + 3630 })))).toBe('resolved');
    expect(await codeOf(v.verify(await sign({ exp: NOW_S + 3631 })))).toBe('ERR_TOKEN_LIFETIME');
  });

  it('refuses an iat that is not a number as a bad claim', async () => {
    const v = make();
    expect(await codeOf(v.verify(await sign({ iat: 'yesterday', exp: NOW_S + 60 })))).toBe(
      'ERR_TOKEN_CLAIM',
    );
  });
});

describe('verified-token cache bounds', () => {
  it('holds at most cacheMaxBytes of principals from large tokens, counting evictions', async () => {
    const ISS = 'https://big.example';
    const secret = new TextEncoder().encode('b'.repeat(40));
    let evictions = 0;
    let oversize = 0;
    let refused = 0;
    const maxBytes = 1024 * 1024;
    const v = createJwtVerifier({
      issuers: [{ ...issuerConfig(ISS, { algorithms: ['HS256'] }), hmacSecret: secret }],
      maxTokenBytes: 256 * 1024,
      cacheEntries: 10_000,
      cacheMaxBytes: maxBytes,
      cacheHooks: {
        onEvict: () => evictions++,
        onOversize: () => oversize++,
        onRefuse: () => refused++,
      },
      now: () => NOW_MS,
    });
    const token = (i: number, padBytes: number) =>
      new SignJWT({ pad: `${i}:`.padEnd(padBytes, 'x') })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(ISS)
        .setAudience('api')
        .setSubject(`svc-${i}`)
        .setIssuedAt(NOW_S)
        .setExpirationTime(NOW_S + 300)
        .sign(secret);
    let peak = 0;
    for (let i = 0; i < 200; i++) {
      // Twice each: once the cache is full, a token gets in on its second sighting.
      const t = await token(i, 100_000); // ~133 KB tokens
      for (let n = 0; n < 2; n++) {
        await v.verify(t);
        peak = Math.max(peak, v.cache.bytes);
      }
    }
    expect(peak).toBeLessThanOrEqual(maxBytes);
    expect(v.cache.size).toBeGreaterThan(0);
    expect(v.cache.size).toBeLessThanOrEqual(10); // 1 MiB / ~100 KB principals
    expect(evictions).toBe(200 - v.cache.size);
    expect(refused).toBe(evictions); // each newcomer to the full cache waited one sighting
    expect(v.cache.hits).toBe(v.cache.size); // the first fill's second sightings hit
    // A principal bigger than the whole bound is verified but not cached.
    const huge = await token(999, 800_000); // an ~800 KB principal
    const before = v.cache.size;
    const v2 = createJwtVerifier({
      issuers: [{ ...issuerConfig(ISS, { algorithms: ['HS256'] }), hmacSecret: secret }],
      maxTokenBytes: 2 * 1024 * 1024,
      cacheEntries: 10_000,
      cacheMaxBytes: 512 * 1024,
      cacheHooks: { onOversize: () => oversize++ },
      now: () => NOW_MS,
    });
    expect((await v2.verify(huge)).subject).toBe('svc-999');
    expect([v2.cache.size, v2.cache.bytes, oversize]).toEqual([0, 0, 1]);
    expect(v.cache.size).toBe(before);
  });
});

describe('verified-token cache and the stale window', () => {
  const idp = new JwksIssuer({ audience: 'api' });
  beforeAll(() => idp.start());
  afterAll(() => idp.stop());

  it('a cached token is refused once its keys are past the stale window, and passes again when the issuer is back', async () => {
    let now = NOW_MS;
    const v = createJwtVerifier({
      issuers: [
        issuerConfig(idp.issuer, {
          keys: { ...DEFAULT_ISSUER_KEYS, maxAgeSeconds: 10, staleSeconds: 20, cooldownSeconds: 1 },
        }),
      ],
      maxTokenBytes: 16384,
      cacheEntries: 100,
      now: () => now,
    });
    const token = await idp.mint({}, { subject: 'carol', issuedAt: NOW_S, expiresIn: 3600 });
    expect((await v.verify(token)).subject).toBe('carol');
    idp.failWith(503);
    try {
      now += 29_000; // past max age, inside the stale window: the cached verification serves
      expect((await v.verify(token)).subject).toBe('carol');
      now += 2_000; // 31 s after the last fetch: the keys can no longer prove the signature
      expect(await codeOf(v.verify(token))).toBe('ERR_JWKS_UNAVAILABLE');
      now += 5_000;
      expect(await codeOf(v.verify(token))).toBe('ERR_JWKS_UNAVAILABLE');
    } finally {
      idp.failWith(undefined);
    }
    now += 2_000; // past the cooldown: the next verification fetches again
    expect((await v.verify(token)).subject).toBe('carol');
  });
});
