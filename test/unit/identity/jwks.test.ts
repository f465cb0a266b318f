import { createServer } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT, jwtVerify, type JWK } from 'jose';
import {
  createKeyStore,
  DEFAULT_KEY_TIMING,
  fetchJsonBounded,
  shownUrl,
  type KeyStoreOptions,
} from '../../../src/identity/jwks.js';
import { RolegateError } from '../../../src/errors.js';
import { JwksIssuer } from '../../harness/jwks.js';
import { closeNow, listenLoopback } from '../../harness/http-server.js';

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

/** Elapsed wall-clock milliseconds of `work` (the key-age clock stays frozen). */
async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await work;
  return { value, ms: performance.now() - start };
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('a hanging or slow issuer (real HTTP servers)', () => {
  // The key-age clock is frozen and moved by hand; waits are real time.
  const idp = new JwksIssuer({ audience: 'api' });
  const T0 = 1_700_000_000_000;
  let now = T0;
  beforeAll(() => idp.start());
  afterAll(() => idp.stop());
  afterEach(() => {
    idp.stall(undefined);
    now = T0;
  });
  const store = (extra: Partial<KeyStoreOptions> = {}) =>
    createKeyStore({
      issuer: idp.issuer,
      jwksUri: idp.jwksUri,
      timing: { ...DEFAULT_KEY_TIMING, maxAgeMs: 60_000 },
      now: () => now,
      ...extra,
    });
  const token = (opts: Parameters<JwksIssuer['mint']>[1] = {}) =>
    idp.mint({}, { subject: 'alice', ...opts });

  it('refuses a first fetch that hangs after maxWaitMs, with one request on the wire', async () => {
    idp.stall(Number.POSITIVE_INFINITY);
    const before = idp.requestCount('/jwks.json');
    const keys = store();
    const t = await token();
    const first = await timed(codeOf(jwtVerify(t, keys.getKey)));
    const second = await timed(codeOf(jwtVerify(t, keys.getKey)));
    expect([first.value, second.value]).toEqual(['ERR_JWKS_UNAVAILABLE', 'ERR_JWKS_UNAVAILABLE']);
    for (const { ms } of [first, second]) {
      expect(ms).toBeGreaterThanOrEqual(240);
      expect(ms).toBeLessThan(750); // the default 5 s fetch timeout is not what a check waits
    }
    // Single flight: the second check waited on the same hanging fetch.
    expect(idp.requestCount('/jwks.json') - before).toBe(1);
  });

  it('serves cached keys at once while a refresh hangs; an unknown kid is refused after maxWaitMs', async () => {
    const keys = store();
    expect(await codeOf(jwtVerify(await token(), keys.getKey))).toBe('ok');
    const before = idp.requestCount('/jwks.json');
    idp.stall(Number.POSITIVE_INFINITY);
    now += 61_000; // past maxAge, inside the stale window
    const known = await timed(codeOf(jwtVerify(await token(), keys.getKey)));
    expect(known.value).toBe('ok');
    expect(known.ms).toBeLessThan(200);
    // The refresh started in the background and is hanging.
    await until(() => idp.requestCount('/jwks.json') === before + 1);
    const unknown = await timed(codeOf(jwtVerify(await token({ kid: 'rotated' }), keys.getKey)));
    expect(unknown.value).toBe('ERR_JWKS_UNAVAILABLE');
    expect(unknown.ms).toBeGreaterThanOrEqual(240);
    expect(unknown.ms).toBeLessThan(750);
    const again = await timed(codeOf(jwtVerify(await token(), keys.getKey)));
    expect([again.value, again.ms < 200]).toEqual(['ok', true]);
    expect(idp.requestCount('/jwks.json')).toBe(before + 1);
  });

  it('lets a fetch that misses the bound finish in the background for the requests that follow', async () => {
    idp.stall(600);
    const before = idp.requestCount('/jwks.json');
    const keys = store();
    const t = await token();
    const first = await timed(codeOf(jwtVerify(t, keys.getKey)));
    expect(first.value).toBe('ERR_JWKS_UNAVAILABLE');
    expect(first.ms).toBeLessThan(750);
    await until(() => keys.lastSuccess() === now);
    const later = await timed(codeOf(jwtVerify(t, keys.getKey)));
    expect(later.value).toBe('ok');
    expect(later.ms).toBeLessThan(200);
    expect(idp.requestCount('/jwks.json') - before).toBe(1);
  });

  it('prefetches at creation so the first token does not wait, without starting the cooldown', async () => {
    const results: string[] = [];
    const keys = store({ prefetch: true, onFetch: (r) => results.push(r) });
    await until(() => keys.lastSuccess() === now);
    const first = await timed(codeOf(jwtVerify(await token(), keys.getKey)));
    expect([first.value, first.ms < 200, results]).toEqual(['ok', true, ['success']]);
    // A rotated kid right away is fetched: the prefetch did not start a cooldown.
    await idp.rotateKey();
    expect(await codeOf(jwtVerify(await token(), keys.getKey))).toBe('ok');
    expect(results).toEqual(['success', 'success']);
  });

  it('prefetched() settles once a slow start-up fetch has the keys, not before', async () => {
    idp.stall(300);
    const keys = store({ prefetch: true });
    let settled = false;
    const done = keys.prefetched().then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 100));
    expect([settled, keys.lastSuccess()]).toEqual([false, 0]);
    await done;
    expect(keys.lastSuccess()).toBe(now);
  });

  it('prefetched() resolves, never rejects, when the start-up fetch fails; at once without a prefetch', async () => {
    const down = createKeyStore({
      issuer: 'http://127.0.0.1:1',
      jwksUri: 'http://127.0.0.1:1/jwks.json',
      timing: DEFAULT_KEY_TIMING,
      now: () => now,
      prefetch: true,
    });
    await expect(down.prefetched()).resolves.toBeUndefined();
    expect(down.lastSuccess()).toBe(0);
    const before = idp.requestCount('/jwks.json');
    await expect(store().prefetched()).resolves.toBeUndefined();
    expect(idp.requestCount('/jwks.json')).toBe(before);
  });
});

describe('fetched document bounds', () => {
  const served = { body: '{}', chunked: false };
  const server = createServer((_req, res) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      ...(served.chunked ? {} : { 'content-length': Buffer.byteLength(served.body) }),
    });
    if (served.chunked) {
      // No content-length: the size is only known while reading.
      const mid = Math.floor(served.body.length / 2);
      res.write(served.body.slice(0, mid));
      res.end(served.body.slice(mid));
    } else res.end(served.body);
  });
  let url = '';
  beforeAll(async () => {
    url = `http://127.0.0.1:${await listenLoopback(server)}/keys`;
  });
  afterAll(() => closeNow(server));

  it('reads a document up to maxBytes and refuses a larger one, declared or chunked', async () => {
    served.body = JSON.stringify({ keys: [], pad: 'x'.repeat(1000) });
    for (const chunked of [false, true]) {
      served.chunked = chunked;
      await expect(fetchJsonBounded(url, 1000, 2048)).resolves.toMatchObject({ keys: [] });
      await expect(fetchJsonBounded(url, 1000, 512)).rejects.toThrow(/larger than 512 bytes/);
    }
  });

  it('keeps the last good keys when a refresh brings an oversize document or too many keys', async () => {
    const k1 = await key('k1');
    const extra = await Promise.all(['k2', 'k3'].map(key));
    served.chunked = false;
    served.body = JSON.stringify({ keys: [k1.jwk] });
    let now = 1_000_000;
    const results: string[] = [];
    const keys = createKeyStore({
      issuer: ISSUER,
      jwksUri: url,
      timing: { ...DEFAULT_KEY_TIMING, maxAgeMs: 60_000, cooldownMs: 1000 },
      limits: { maxDocumentBytes: 4096, maxKeys: 2 },
      now: () => now,
      onFetch: (r) => results.push(r),
    });
    const t = await k1.sign();
    expect(await codeOf(jwtVerify(t, keys.getKey))).toBe('ok');
    const bad = [
      JSON.stringify({ keys: [k1.jwk], pad: 'x'.repeat(5000) }), // > 4096 bytes
      JSON.stringify({ keys: [k1.jwk, ...extra.map((k) => k.jwk)] }), // 3 keys > 2
    ];
    for (const body of bad) {
      served.body = body;
      now += 61_000; // past maxAge: a background refresh is due
      expect(await codeOf(jwtVerify(t, keys.getKey))).toBe('ok');
      await until(() => results.length === 2 + bad.indexOf(body));
      expect(results.at(-1)).toBe('failure');
      expect(keys.lastSuccess()).toBe(1_000_000);
      // The refused document's keys were never taken: k2 stays unknown.
      expect(await codeOf(jwtVerify(await extra[0]!.sign(), keys.getKey))).not.toBe('ok');
      expect(await codeOf(jwtVerify(t, keys.getKey))).toBe('ok');
    }
  });
});

describe('discovery is checked as OpenID Connect Discovery says', () => {
  /** A discovery document naming `named` as its issuer, and a key set. */
  async function idpNaming(named: string | undefined) {
    const k1 = await key('k1');
    let discoveries = 0;
    const fetchJson = async (url: string): Promise<unknown> => {
      if (url.endsWith('/.well-known/openid-configuration')) {
        discoveries++;
        return { ...(named === undefined ? {} : { issuer: named }), jwks_uri: `${ISSUER}/keys` };
      }
      return { keys: [k1.jwk] };
    };
    return { k1, fetchJson, discoveries: () => discoveries };
  }

  async function refusal(p: Promise<unknown>): Promise<RolegateError & { explanation?: unknown }> {
    try {
      await p;
    } catch (err) {
      if (err instanceof RolegateError) return err;
      throw err;
    }
    throw new Error('resolved');
  }

  it('loads no keys when the document names another spelling of the issuer, and says so', async () => {
    const configured = 'http://localhost:9100';
    const idp = await idpNaming('http://127.0.0.1:9100');
    const store = createKeyStore({
      issuer: configured,
      timing: DEFAULT_KEY_TIMING,
      now: () => 1_000_000,
      fetchJson: idp.fetchJson,
    });
    const err = await refusal(jwtVerify(await idp.k1.sign(), store.getKey));
    const cause =
      'the discovery document at http://localhost:9100/.well-known/openid-configuration names issuer "http://127.0.0.1:9100", not the configured issuer "http://localhost:9100" (they differ in host 127.0.0.1 vs localhost); OpenID Connect Discovery requires them to be identical';
    expect(err.code).toBe('ERR_JWKS_UNAVAILABLE');
    expect(err.explanation).toEqual({
      check: 'keys',
      issuer: configured,
      cause,
      message: `no usable keys for issuer ${configured}: no keys were ever loaded; last load error: ${cause}`,
    });
    expect(store.loadError()).toBe(cause);
    expect(store.kids()).toEqual([]);
  });

  it('refuses a trailing-slash difference and a document without an issuer', async () => {
    for (const [configured, named] of [
      [`${ISSUER}/`, ISSUER],
      [ISSUER, undefined],
    ] as const) {
      const idp = await idpNaming(named);
      const store = createKeyStore({
        issuer: configured,
        timing: DEFAULT_KEY_TIMING,
        now: () => 1_000_000,
        fetchJson: idp.fetchJson,
      });
      expect((await refusal(jwtVerify(await idp.k1.sign(), store.getKey))).code).toBe(
        'ERR_JWKS_UNAVAILABLE',
      );
      expect(store.loadError()).toContain(`configured issuer "${configured}"`);
    }
  });

  it('loads the keys when the issuer is identical, and forgets the last load error', async () => {
    const idp = await idpNaming(ISSUER);
    const store = createKeyStore({
      issuer: ISSUER,
      timing: DEFAULT_KEY_TIMING,
      now: () => 1_000_000,
      fetchJson: idp.fetchJson,
    });
    await jwtVerify(await idp.k1.sign(), store.getKey);
    expect(store.loadError()).toBeUndefined();
    expect(store.kids()).toEqual(['k1']);
  });

  it('names an unreachable issuer and never quotes a document that is not JSON', async () => {
    const store = createKeyStore({
      issuer: ISSUER,
      jwksUri: `${ISSUER}/keys`,
      timing: DEFAULT_KEY_TIMING,
      now: () => 1_000_000,
      fetchJson: async () => JSON.parse('{"secret-looking": CANARY-NOT-JSON') as unknown,
    });
    const k1 = await key('k1');
    const err = await refusal(jwtVerify(await k1.sign(), store.getKey));
    expect(store.loadError()).toBe(
      `JWKS ${ISSUER}/keys could not be fetched: the document is not valid JSON`,
    );
    expect(JSON.stringify(err.explanation)).not.toContain('CANARY');
  });
});

describe('shownUrl: key-set URLs in refusals carry no credentials', () => {
  it.each([
    [
      'https://user:pa55@idp.example.com/jwks?token=s3cret',
      'https://redacted@idp.example.com/jwks?redacted',
    ],
    [
      'https://idp.example.com/.well-known/openid-configuration',
      'https://idp.example.com/.well-known/openid-configuration',
    ],
    ['http://127.0.0.1:9100/jwks', 'http://127.0.0.1:9100/jwks'],
    ['not a url', '(an unreadable URL)'],
  ])('%s is shown as %s', (url, shown) => expect(shownUrl(url)).toBe(shown));
});
