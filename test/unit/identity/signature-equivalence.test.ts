/**
 * rolegate's verifier (node:crypto on prepared KeyObjects, its own compact
 * reader and claim checks) against the verifier it replaced, built here
 * from jose alone: jose's `decodeProtectedHeader`/`decodeJwt` for the
 * token's form, jose's `jwtVerify` over `createLocalJWKSet` (or the HMAC
 * secret) for key choice, signature and registered claims, with rolegate's
 * own rules around it (size, `none`, `crit`, `kid`, issuer, algorithm
 * allow-list, lifetime, `sub`) restated as they were. Token by token, both
 * must give the expected answer: accept, or the same refusal code.
 *
 * Where they differ, the case says so (`before`) and why: rolegate reads
 * base64url strictly (RFC 7515 section 2), where jose's `atob` skips
 * whitespace, takes `=` padding and ignores the unused bits of the last
 * character, so it accepted other spellings of a signed token; and an RSA
 * key below 2048 bits, which jose refused with a TypeError (an internal
 * error), is now an algorithm refusal that names the key size.
 *
 * The corpus: valid tokens of every supported algorithm with several keys
 * (jose-signed and signed here), and hostile ones (tampering, algorithm
 * confusion, wrong key type and curve, truncated, overlong and DER
 * signatures, high-S and out-of-range ECDSA values, non-canonical base64url,
 * padding, whitespace, `crit`, `none`, weak RSA keys, unusable keys) plus
 * every case of the hostile-token tests (test/unit/identity/jwt.test.ts and
 * test/e2e/identity.test.ts).
 */
import {
  constants,
  createHmac,
  generateKeyPairSync,
  sign as cryptoSign,
  type KeyObject,
} from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import {
  CompactEncrypt,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
} from 'jose';
import { createJwtVerifier, type ResolvedIssuer } from '../../../src/identity/jwt.js';
import { verifyRefused } from '../../../src/identity/explain.js';
import { RolegateError } from '../../../src/errors.js';
import { DEFAULT_ALGORITHMS } from '../../../src/identity/options.js';
import { issuerConfig } from '../../support/issuer.js';

const NOW_MS = Date.parse('2026-06-01T12:00:00Z');
const NOW_S = NOW_MS / 1000;
const ISS = 'https://keys.example';
const ISS_ES256_ONLY = 'https://es256-only.example';
const ISS_HMAC = 'https://hmac.example';
const MAX_TOKEN_BYTES = 16_384;
const SECRET = new TextEncoder().encode('s3cr3t-'.repeat(6));

type Answer = 'accept' | string;

// ---- keys -------------------------------------------------------------------

interface TestKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  /** The JWK the key set publishes. */
  readonly jwk: JWK;
}

const rsaKey = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits });
const ecKey = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve });

function testKey(
  kid: string | undefined,
  pair: { privateKey: KeyObject; publicKey: KeyObject },
  extra: Partial<JWK> = {},
): TestKey {
  const jwk = { ...(pair.publicKey.export({ format: 'jwk' }) as JWK), ...extra };
  if (kid !== undefined) jwk.kid = kid;
  return { kid: kid ?? '', privateKey: pair.privateKey, jwk };
}

const K = {
  r1: testKey('r1', rsaKey(2048), { alg: 'RS256', use: 'sig' }),
  r2: testKey('r2', rsaKey(2048)),
  r3: testKey('r3', rsaKey(3072)),
  weak: testKey('weak', rsaKey(1024)),
  enc: testKey('enc', rsaKey(2048), { use: 'enc' }),
  e256: testKey('e256', ecKey('P-256'), { alg: 'ES256' }),
  e256b: testKey('e256b', ecKey('P-256'), { key_ops: ['verify'] }),
  e384: testKey('e384', ecKey('P-384')),
  e521: testKey('e521', ecKey('P-521')),
  ed: testKey(undefined, generateKeyPairSync('ed25519')),
  ed448: testKey('ed448', generateKeyPairSync('ed448')),
  ops: testKey('ops', ecKey('P-256'), { key_ops: ['sign', 'verify'] }),
  dupA: testKey('dup', ecKey('P-256')),
  dupB: testKey('dup', ecKey('P-256')),
  extNotBool: testKey('ext', ecKey('P-256'), { ext: 'yes' as unknown as boolean }),
};
/** A P-256 key published with its private part: jose refused such a key set member. */
const priv = (() => {
  const pair = ecKey('P-256');
  return {
    kid: 'priv',
    privateKey: pair.privateKey,
    jwk: { ...(pair.privateKey.export({ format: 'jwk' }) as JWK), kid: 'priv' },
  };
})();
/** A P-256 key's coordinates published as a P-384 key. */
const mislabelled: TestKey = {
  ...K.e256,
  kid: 'mislabelled',
  jwk: {
    kty: 'EC',
    x: K.e256.jwk.x ?? '',
    y: K.e256.jwk.y ?? '',
    kid: 'mislabelled',
    crv: 'P-384',
  },
};
/** A P-256 point moved off the curve. */
const offCurve: TestKey = {
  ...K.e256b,
  kid: 'offcurve',
  jwk: { ...K.e256b.jwk, kid: 'offcurve', y: K.e256.jwk.x ?? '' },
};
/** A key the token is signed with but the key set does not hold. */
const stranger = testKey('r2', rsaKey(2048));
const strangerEc = testKey('e384', ecKey('P-384'));

const JWKS: JSONWebKeySet = {
  keys: [...Object.values(K).map((k) => k.jwk), priv.jwk, mislabelled.jwk, offCurve.jwk] as JWK[],
};

// ---- signing ----------------------------------------------------------------

const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64url');

/** A signature over `input` with `alg`, made with node:crypto (or HMAC). */
function signature(alg: string, key: KeyObject | Uint8Array, input: string): Buffer {
  const data = Buffer.from(input);
  const hash = `sha${alg.slice(2)}`;
  if (alg.startsWith('HS'))
    return createHmac(hash, key as Uint8Array)
      .update(data)
      .digest();
  const k = key as KeyObject;
  if (alg.startsWith('RS')) return cryptoSign(hash, data, k);
  if (alg.startsWith('PS')) {
    const saltLength = Number(alg.slice(2)) / 8;
    return cryptoSign(hash, data, {
      key: k,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength,
    });
  }
  if (alg.startsWith('ES')) return cryptoSign(hash, data, { key: k, dsaEncoding: 'ieee-p1363' });
  return cryptoSign(null, data, k);
}

const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  iss: ISS,
  aud: 'api',
  sub: 'alice',
  iat: NOW_S - 10,
  exp: NOW_S + 300,
  ...extra,
});

interface Parts {
  header: string;
  payload: string;
  signature: string;
}

/**
 * A token signed with node:crypto; `header` and `payload` are JSON texts or
 * objects, `encode` may spell the segments as a hostile signer would.
 */
function forge(
  alg: string,
  key: KeyObject | Uint8Array,
  o: {
    header?: Record<string, unknown> | string;
    payload?: Record<string, unknown> | string;
    kid?: string | null;
    encode?: (p: Omit<Parts, 'signature'>) => Omit<Parts, 'signature'>;
  } = {},
): Parts {
  const headerObject =
    typeof o.header === 'string'
      ? undefined
      : { alg, typ: 'JWT', ...(o.kid === null ? {} : { kid: o.kid }), ...o.header };
  const headerText = typeof o.header === 'string' ? o.header : JSON.stringify(headerObject);
  const payloadText =
    typeof o.payload === 'string' ? o.payload : JSON.stringify(o.payload ?? claims());
  const segments = (o.encode ?? ((p) => p))({ header: b64(headerText), payload: b64(payloadText) });
  const sig = signature(alg, key, `${segments.header}.${segments.payload}`);
  return { ...segments, signature: sig.toString('base64url') };
}

const join = (p: Parts) => `${p.header}.${p.payload}.${p.signature}`;

/** A valid token for `key` signed with `alg` (kid from the key unless given). */
function valid(alg: string, key: TestKey, o: Parameters<typeof forge>[2] = {}): string {
  return join(forge(alg, key.privateKey, { kid: key.kid === '' ? null : key.kid, ...o }));
}

/** The signature of `token`'s segments changed by `change` (bytes in, bytes out). */
function withSignature(token: string, change: (sig: Buffer) => Buffer): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  return `${h}.${p}.${change(Buffer.from(s, 'base64url')).toString('base64url')}`;
}

/** The last character of a segment re-spelled with non-zero unused bits (same bytes for atob). */
function nonCanonical(segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(segment.at(-1) ?? 'A');
  const spare = segment.length % 4 === 2 ? 0x0f : 0x03;
  return segment.slice(0, -1) + alphabet[last | (spare & 0x05)];
}

const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const toBytes = (n: bigint, len: number) =>
  Buffer.from(n.toString(16).padStart(len * 2, '0'), 'hex');

/** An ES256 signature with s replaced by n - s: as valid, and what some signers produce. */
function highS(sig: Buffer): Buffer {
  const s = BigInt(`0x${sig.subarray(32).toString('hex')}`);
  return Buffer.concat([sig.subarray(0, 32), toBytes(P256_ORDER - s, 32)]);
}

/** An ECDSA `r || s` signature in DER, as some libraries produce it. */
function der(alg: string, key: KeyObject, token: string): string {
  const [h, p] = token.split('.') as [string, string];
  const sig = cryptoSign(`sha${alg.slice(2)}`, Buffer.from(`${h}.${p}`), {
    key,
    dsaEncoding: 'der',
  });
  return `${h}.${p}.${sig.toString('base64url')}`;
}

// ---- the verifier it replaced, built from jose --------------------------------

const PLAUSIBLE_KID = /^[\x21-\x7e]{1,256}$/;
const HMAC = ['HS256', 'HS384', 'HS512'];

function issuers(): ResolvedIssuer[] {
  return [
    { ...issuerConfig(ISS, { algorithms: [...DEFAULT_ALGORITHMS] }), jwks: JWKS },
    { ...issuerConfig(ISS_ES256_ONLY, { algorithms: ['ES256'] }), jwks: JWKS },
    { ...issuerConfig(ISS_HMAC, { algorithms: [...HMAC] }), hmacSecret: SECRET },
  ];
}

/**
 * The previous verifier, restated: jose for form, key, signature and
 * registered claims; rolegate's rules around it as they were.
 */
async function reference(token: string): Promise<Answer> {
  if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) return 'ERR_TOKEN_TOO_LARGE';
  const parts = token.split('.');
  if (parts.length === 5) return 'ERR_TOKEN_ENCRYPTED';
  if (parts.length !== 3) return 'ERR_TOKEN_MALFORMED';
  let header: Record<string, unknown>;
  let payload: JWTPayload;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
    payload = decodeJwt(token);
  } catch {
    return 'ERR_TOKEN_MALFORMED';
  }
  const { alg, kid, crit } = header;
  if (typeof alg !== 'string') return 'ERR_TOKEN_MALFORMED';
  if (alg === 'none') return 'ERR_TOKEN_ALG';
  if (crit !== undefined) return 'ERR_TOKEN_CRIT';
  if (
    kid !== undefined &&
    (typeof kid !== 'string' || !PLAUSIBLE_KID.test(kid) || /[/\\]|\.\./.test(kid))
  ) {
    return 'ERR_TOKEN_KID_INVALID';
  }
  const config = issuers().find((i) => i.issuer === payload.iss);
  if (config === undefined) return 'ERR_TOKEN_ISSUER_UNKNOWN';
  if (!config.algorithms.includes(alg)) return 'ERR_TOKEN_ALG';
  const hmac = HMAC.includes(alg);
  if (hmac && config.hmacSecret === undefined) return 'ERR_TOKEN_ALG';
  const options = {
    issuer: config.issuer,
    audience: [...config.audiences],
    algorithms: [...config.algorithms],
    clockTolerance: config.clockToleranceSeconds,
    currentDate: new Date(NOW_MS),
    requiredClaims: ['sub', 'exp'],
  };
  let verified: JWTPayload;
  try {
    ({ payload: verified } =
      hmac && config.hmacSecret
        ? await jwtVerify(token, config.hmacSecret, options)
        : await jwtVerify(token, createLocalJWKSet(config.jwks ?? { keys: [] }), options));
  } catch (err) {
    return verifyRefused(err, {
      config,
      payload,
      alg,
      nowS: NOW_S,
      kids: () => [],
      ...(typeof kid === 'string' ? { kid } : {}),
    }).code;
  }
  // rolegate's own checks after jose's, as they were.
  const { iat, exp, sub } = verified;
  if (typeof exp !== 'number') return 'ERR_TOKEN_CLAIM';
  if (iat === undefined) {
    if (exp - NOW_S > config.maxTokenLifetimeSeconds + config.clockToleranceSeconds) {
      return 'ERR_TOKEN_LIFETIME';
    }
  } else {
    if (typeof iat !== 'number') return 'ERR_TOKEN_CLAIM';
    if (iat > NOW_S + config.clockToleranceSeconds) return 'ERR_TOKEN_ISSUED_IN_FUTURE';
    if (exp - iat > config.maxTokenLifetimeSeconds) return 'ERR_TOKEN_LIFETIME';
  }
  if (typeof sub !== 'string' || sub === '') return 'ERR_TOKEN_CLAIM';
  return 'accept';
}

/** One verifier for the corpus; without a token cache, every token is verified. */
const verifier = createJwtVerifier({
  issuers: issuers(),
  maxTokenBytes: MAX_TOKEN_BYTES,
  cacheEntries: 0,
  now: () => NOW_MS,
});

async function rolegateAnswer(token: string): Promise<Answer> {
  try {
    await verifier.verify(token);
    return 'accept';
  } catch (err) {
    return err instanceof RolegateError ? err.code : `not a RolegateError: ${String(err)}`;
  }
}

// ---- the corpus ---------------------------------------------------------------

interface Case {
  readonly name: string;
  readonly token: () => Promise<string> | string;
  /** rolegate's answer. */
  readonly expect: Answer;
  /** The previous (jose) verifier's answer, where it differs; the reason is in the name. */
  readonly before?: Answer;
}

const ASYMMETRIC: [string, TestKey][] = [
  ['RS256', K.r1],
  ['RS256', K.r2],
  ['RS384', K.r2],
  ['RS512', K.r3],
  ['PS256', K.r2],
  ['PS384', K.r3],
  ['PS512', K.r2],
  ['ES256', K.e256],
  ['ES256', K.e256b],
  ['ES384', K.e384],
  ['ES512', K.e521],
  ['EdDSA', K.ed],
];

/** Valid tokens signed by jose itself, for every supported algorithm. */
const joseSigned: Case[] = ASYMMETRIC.map(([alg, key]) => ({
  name: `valid ${alg} (kid ${key.kid || 'none'}), signed by jose`,
  token: async () => {
    const jwk = key.privateKey.export({ format: 'jwk' }) as JWK;
    const signer = await importJWK(jwk, alg);
    const header = key.kid === '' ? { alg } : { alg, kid: key.kid };
    return new SignJWT({ groups: ['a'] })
      .setProtectedHeader(header)
      .setIssuer(ISS)
      .setAudience(['other', 'api'])
      .setSubject('alice')
      .setIssuedAt(NOW_S - 5)
      .setExpirationTime(NOW_S + 600)
      .sign(signer);
  },
  expect: 'accept',
}));

const hmacCases: Case[] = [
  ...HMAC.map((alg) => ({
    name: `valid ${alg}`,
    token: () => join(forge(alg, SECRET, { payload: claims({ iss: ISS_HMAC }) })),
    expect: 'accept',
  })),
  {
    name: 'HS256 with another secret',
    token: () =>
      join(
        forge('HS256', new TextEncoder().encode('x'.repeat(42)), {
          payload: claims({ iss: ISS_HMAC }),
        }),
      ),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'HS256 with the MAC cut by one byte',
    token: () =>
      withSignature(join(forge('HS256', SECRET, { payload: claims({ iss: ISS_HMAC }) })), (s) =>
        s.subarray(0, 31),
      ),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'HS512 header over an HS256 MAC',
    token: () => {
      const t = forge('HS256', SECRET, {
        header: { alg: 'HS512' },
        payload: claims({ iss: ISS_HMAC }),
      });
      return join(t);
    },
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'RS256 to the HMAC-only issuer',
    token: () => valid('RS256', K.r2, { payload: claims({ iss: ISS_HMAC }) }),
    expect: 'ERR_TOKEN_ALG',
  },
];

const es256 = () => valid('ES256', K.e256);
const rs256 = () => valid('RS256', K.r2);

const hostile: Case[] = [
  // Tampering.
  {
    name: 'ES256 with a flipped signature bit',
    token: () => withSignature(es256(), (s) => Buffer.from(s.map((b, i) => (i === 5 ? b ^ 1 : b)))),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'RS256 with a flipped signature bit',
    token: () => withSignature(rs256(), (s) => Buffer.from(s.map((b, i) => (i === 9 ? b ^ 1 : b)))),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'a payload changed after signing',
    token: () => {
      const [h, , s] = es256().split('.');
      return `${h}.${b64(JSON.stringify(claims({ sub: 'mallory' })))}.${s}`;
    },
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'a header changed after signing',
    token: () => {
      const [, p, s] = rs256().split('.');
      return `${b64(JSON.stringify({ alg: 'RS256', kid: 'r2', typ: 'at+jwt' }))}.${p}.${s}`;
    },
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  // Algorithm confusion and keys of the wrong type or curve.
  {
    name: 'RS256 relabelled PS256 (same key, same signature)',
    token: () => {
      const [, p, s] = rs256().split('.');
      return `${b64(JSON.stringify({ alg: 'PS256', kid: 'r2' }))}.${p}.${s}`;
    },
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'PS256 to a key pinned to RS256',
    token: () => valid('PS256', K.r1),
    expect: 'ERR_TOKEN_KID_UNKNOWN',
  },
  {
    name: 'ES256 naming an RSA key',
    token: () => join(forge('ES256', K.e256.privateKey, { kid: 'r2' })),
    expect: 'ERR_TOKEN_KID_UNKNOWN',
  },
  {
    name: 'RS256 naming an EC key',
    token: () => join(forge('RS256', K.r2.privateKey, { kid: 'e256b' })),
    expect: 'ERR_TOKEN_KID_UNKNOWN',
  },
  {
    name: 'ES384 naming a P-256 key',
    token: () => join(forge('ES384', K.e384.privateKey, { kid: 'e256b' })),
    expect: 'ERR_TOKEN_KID_UNKNOWN',
  },
  {
    name: 'ES256 signed with a P-384 key, naming a P-256 key',
    token: () => join(forge('ES256', K.e384.privateKey, { kid: 'e256b' })),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'EdDSA naming an EC key',
    token: () => join(forge('EdDSA', K.ed.privateKey, { kid: 'e256b' })),
    expect: 'ERR_TOKEN_KID_UNKNOWN',
  },
  {
    name: 'HS256 signed with the RSA public key as the secret',
    token: () =>
      join(forge('HS256', new TextEncoder().encode(JSON.stringify(K.r2.jwk)), { kid: 'r2' })),
    expect: 'ERR_TOKEN_ALG',
  },
  {
    name: 'RS256 to an issuer that allows ES256 only',
    token: () => valid('RS256', K.r2, { payload: claims({ iss: ISS_ES256_ONLY }) }),
    expect: 'ERR_TOKEN_ALG',
  },
  {
    name: 'ES256 to an issuer that allows ES256 only',
    token: () => valid('ES256', K.e256, { payload: claims({ iss: ISS_ES256_ONLY }) }),
    expect: 'accept',
  },
  {
    name: 'alg Ed25519 (not an algorithm rolegate allows)',
    token: () => join(forge('EdDSA', K.ed.privateKey, { header: { alg: 'Ed25519' }, kid: null })),
    expect: 'ERR_TOKEN_ALG',
  },
  {
    name: 'a key published for encryption (use enc)',
    token: () => valid('RS256', K.enc),
    expect: 'ERR_TOKEN_KID_UNKNOWN',
  },
  {
    name: 'no kid, and several P-256 keys match',
    token: () => join(forge('ES256', K.e256b.privateKey, { kid: null })),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'no kid, one Ed25519 key matches',
    token: () => valid('EdDSA', K.ed),
    expect: 'accept',
  },
  {
    name: 'a kid two keys share',
    token: () => valid('ES256', K.dupA),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'a key whose key_ops WebCrypto refuses for a public key (sign, verify)',
    token: () => valid('ES256', K.ops),
    expect: 'ERR_INTERNAL',
  },
  {
    name: 'a key whose ext is not a boolean',
    token: () => valid('ES256', K.extNotBool),
    expect: 'ERR_TOKEN_KID_UNKNOWN',
  },
  {
    name: 'a private key published in the key set',
    token: () => valid('ES256', priv),
    expect: 'ERR_JWKS_UNAVAILABLE',
  },
  {
    name: 'a P-256 key published as P-384',
    token: () => join(forge('ES384', K.e256.privateKey, { kid: 'mislabelled' })),
    expect: 'ERR_INTERNAL',
  },
  {
    name: 'a point off the curve',
    token: () => join(forge('ES256', K.e256b.privateKey, { kid: 'offcurve' })),
    expect: 'ERR_INTERNAL',
  },
  {
    name: 'a signer the key set does not hold (same kid)',
    token: () => valid('RS256', stranger),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'an ES384 signer the key set does not hold (same kid)',
    token: () => valid('ES384', strangerEc),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  // Signature lengths and encodings.
  {
    name: 'ES256 signature cut by one byte',
    token: () => withSignature(es256(), (s) => s.subarray(0, 63)),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'ES256 signature with a byte appended',
    token: () => withSignature(es256(), (s) => Buffer.concat([s, Buffer.from([0])])),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'RS256 signature cut by one byte',
    token: () => withSignature(rs256(), (s) => s.subarray(0, s.length - 1)),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'RS256 signature with a zero byte in front',
    token: () => withSignature(rs256(), (s) => Buffer.concat([Buffer.from([0]), s])),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'EdDSA signature cut by one byte',
    token: () => withSignature(valid('EdDSA', K.ed), (s) => s.subarray(0, 63)),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'an empty signature',
    token: () => withSignature(es256(), () => Buffer.alloc(0)),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'ES256 signature DER-encoded',
    token: () => der('ES256', K.e256.privateKey, es256()),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'ES384 signature DER-encoded',
    token: () => der('ES384', K.e384.privateKey, valid('ES384', K.e384)),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'ES256 with a high S (n - s): valid ECDSA',
    token: () => withSignature(es256(), highS),
    expect: 'accept',
  },
  {
    name: 'ES256 with r = 0',
    token: () => withSignature(es256(), (s) => Buffer.concat([Buffer.alloc(32), s.subarray(32)])),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'ES256 with s = n (out of range)',
    token: () =>
      withSignature(es256(), (s) => Buffer.concat([s.subarray(0, 32), toBytes(P256_ORDER, 32)])),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'PS256 signed with salt length 0',
    token: () => {
      const [h, p] = valid('PS256', K.r2).split('.') as [string, string];
      const sig = cryptoSign('sha256', Buffer.from(`${h}.${p}`), {
        key: K.r2.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 0,
      });
      return `${h}.${p}.${sig.toString('base64url')}`;
    },
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'PS256 verified as RS256 (PSS signature, PKCS#1 header)',
    token: () => {
      const [, p, s] = valid('PS256', K.r2).split('.');
      return `${b64(JSON.stringify({ alg: 'RS256', kid: 'r2' }))}.${p}.${s}`;
    },
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  // RSA keys below the minimum size.
  {
    name: 'RS256 with a 1024-bit key (refused by jose with a TypeError before)',
    token: () => valid('RS256', K.weak),
    expect: 'ERR_TOKEN_ALG',
    before: 'ERR_INTERNAL',
  },
  {
    name: 'PS256 with a 1024-bit key (refused by jose with a TypeError before)',
    token: () => valid('PS256', K.weak),
    expect: 'ERR_TOKEN_ALG',
    before: 'ERR_INTERNAL',
  },
  // base64url spelling.
  {
    name: 'standard base64 (+ and /) in the signature',
    token: () => {
      const [h, p, s] = es256().split('.') as [string, string, string];
      return `${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}${/[-_]/.test(s) ? '' : '+'}`;
    },
    expect: 'ERR_TOKEN_MALFORMED',
  },
  {
    name: 'an invalid character in the signature',
    token: () => `${es256().slice(0, -2)}*A`,
    expect: 'ERR_TOKEN_MALFORMED',
  },
  {
    name: 'a signature of 4n+1 characters',
    token: () => `${es256()}AAA`,
    expect: 'ERR_TOKEN_MALFORMED',
  },
  {
    name: 'signature padded with = (atob took it before)',
    token: () => `${es256()}==`,
    expect: 'ERR_TOKEN_MALFORMED',
    before: 'accept',
  },
  {
    name: 'signature with non-zero unused bits (atob ignored them before)',
    token: () => {
      const [h, p, s] = es256().split('.') as [string, string, string];
      return `${h}.${p}.${nonCanonical(s)}`;
    },
    expect: 'ERR_TOKEN_MALFORMED',
    before: 'accept',
  },
  {
    name: 'whitespace inside the signature (atob skipped it before)',
    token: () => {
      const [h, p, s] = rs256().split('.') as [string, string, string];
      return `${h}.${p}.${s.slice(0, 40)} ${s.slice(40, 80)}\n${s.slice(80)}`;
    },
    expect: 'ERR_TOKEN_MALFORMED',
    before: 'accept',
  },
  {
    name: 'a padded header, signed as sent (atob took it before)',
    token: () => uneven('ES256', K.e256, 'header', (s) => ({ ...s, header: pad(s.header) })),
    expect: 'ERR_TOKEN_MALFORMED',
    before: 'accept',
  },
  {
    name: 'a padded payload, not signed as sent',
    token: () => {
      const [h, p, s] = uneven('ES256', K.e256, 'payload').split('.') as [string, string, string];
      return `${h}.${pad(p)}.${s}`;
    },
    expect: 'ERR_TOKEN_MALFORMED',
    before: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'a payload with a line break, signed as sent (atob skipped it before)',
    token: () =>
      join(
        forge('RS256', K.r2.privateKey, {
          kid: 'r2',
          encode: (s) => ({ ...s, payload: `${s.payload.slice(0, 10)}\n${s.payload.slice(10)}` }),
        }),
      ),
    expect: 'ERR_TOKEN_MALFORMED',
    before: 'accept',
  },
  {
    name: 'a header with non-zero unused bits, signed as sent (atob ignored them before)',
    token: () =>
      uneven('ES256', K.e256, 'header', (s) => ({ ...s, header: nonCanonical(s.header) })),
    expect: 'ERR_TOKEN_MALFORMED',
    before: 'accept',
  },
  {
    name: 'a leading space before the token (atob skipped it, the signature failed)',
    token: () => ` ${es256()}`,
    expect: 'ERR_TOKEN_MALFORMED',
    before: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: 'an empty payload segment',
    token: () => {
      const [h, , s] = es256().split('.');
      return `${h}..${s}`;
    },
    expect: 'ERR_TOKEN_MALFORMED',
  },
  // Header and payload JSON.
  {
    name: 'a header that is a JSON array',
    token: () => join(forge('ES256', K.e256.privateKey, { header: '["ES256"]' })),
    expect: 'ERR_TOKEN_MALFORMED',
  },
  {
    name: 'a payload that is a JSON string',
    token: () => valid('ES256', K.e256, { payload: '"alice"' }),
    expect: 'ERR_TOKEN_MALFORMED',
  },
  {
    name: 'a payload that is not UTF-8',
    token: () => {
      const [h] = es256().split('.');
      const p = Buffer.concat([Buffer.from('{"sub":"'), Buffer.from([0xff]), Buffer.from('"}')]);
      return `${h}.${p.toString('base64url')}.AAAA`;
    },
    expect: 'ERR_TOKEN_MALFORMED',
  },
  {
    name: 'a header with a byte-order mark (jose drops it)',
    token: () =>
      join(
        forge('ES256', K.e256.privateKey, {
          header: `\uFEFF${JSON.stringify({ alg: 'ES256', kid: 'e256' })}`,
        }),
      ),
    expect: 'accept',
  },
  {
    name: 'a payload with a duplicate sub (the last one counts)',
    token: () =>
      valid('ES256', K.e256, {
        payload: JSON.stringify(claims()).replace('"sub":"alice"', '"sub":"","sub":"alice"'),
      }),
    expect: 'accept',
  },
  {
    name: 'alg as a number',
    token: () => join(forge('ES256', K.e256.privateKey, { header: { alg: 256 }, kid: 'e256' })),
    expect: 'ERR_TOKEN_MALFORMED',
  },
  {
    name: 'an empty alg',
    token: () => join(forge('ES256', K.e256.privateKey, { header: { alg: '' }, kid: 'e256' })),
    expect: 'ERR_TOKEN_ALG',
  },
  {
    name: 'alg NONE',
    token: () => `${b64('{"alg":"NONE"}')}.${b64(JSON.stringify(claims()))}.`,
    expect: 'ERR_TOKEN_ALG',
  },
  {
    name: 'alg none with a signature',
    token: () =>
      `${b64('{"alg":"none"}')}.${b64(JSON.stringify(claims()))}.${es256().split('.')[2]}`,
    expect: 'ERR_TOKEN_ALG',
  },
  // crit.
  {
    name: 'crit b64 with b64 true (jose accepted it; rolegate refused any crit, then and now)',
    token: () => valid('ES256', K.e256, { header: { crit: ['b64'], b64: true } }),
    expect: 'ERR_TOKEN_CRIT',
  },
  {
    name: 'crit b64 with b64 false',
    token: () => valid('ES256', K.e256, { header: { crit: ['b64'], b64: false } }),
    expect: 'ERR_TOKEN_CRIT',
  },
  {
    name: 'an empty crit',
    token: () => valid('ES256', K.e256, { header: { crit: [] } }),
    expect: 'ERR_TOKEN_CRIT',
  },
  {
    name: 'b64 false without crit (ignored, as jose ignores it)',
    token: () => valid('ES256', K.e256, { header: { b64: false } }),
    expect: 'accept',
  },
  // Registered claims.
  {
    name: 'aud as an array holding the audience',
    token: () => valid('ES256', K.e256, { payload: claims({ aud: ['x', 'api'] }) }),
    expect: 'accept',
  },
  {
    name: 'aud missing',
    token: () => valid('ES256', K.e256, { payload: claims({ aud: undefined }) }),
    expect: 'ERR_TOKEN_AUDIENCE',
  },
  {
    name: 'aud as a number',
    token: () => valid('ES256', K.e256, { payload: claims({ aud: 7 }) }),
    expect: 'ERR_TOKEN_AUDIENCE',
  },
  {
    name: 'exp as a string',
    token: () => valid('ES256', K.e256, { payload: claims({ exp: String(NOW_S + 60) }) }),
    expect: 'ERR_TOKEN_CLAIM',
  },
  {
    name: 'exp exactly now',
    token: () => valid('ES256', K.e256, { payload: claims({ exp: NOW_S }) }),
    expect: 'ERR_TOKEN_EXPIRED',
  },
  {
    name: 'nbf exactly now',
    token: () => valid('ES256', K.e256, { payload: claims({ nbf: NOW_S }) }),
    expect: 'accept',
  },
  {
    name: 'nbf as a string',
    token: () => valid('ES256', K.e256, { payload: claims({ nbf: 'soon' }) }),
    expect: 'ERR_TOKEN_NOT_YET_VALID',
  },
  {
    name: 'iat null',
    token: () => valid('ES256', K.e256, { payload: claims({ iat: null }) }),
    expect: 'ERR_TOKEN_CLAIM',
  },
  {
    name: 'sub empty',
    token: () => valid('ES256', K.e256, { payload: claims({ sub: '' }) }),
    expect: 'ERR_TOKEN_CLAIM',
  },
  {
    name: 'a bad signature on an expired token (the signature is checked first)',
    token: () =>
      withSignature(valid('ES256', K.e256, { payload: claims({ exp: NOW_S - 100 }) }), (s) =>
        Buffer.from(s.map((b, i) => (i === 0 ? b ^ 1 : b))),
      ),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  // Numeric dates JSON can spell but no issuer means, and keys JSON.parse treats specially.
  {
    name: 'exp 1e400 (Infinity once parsed): refused by the lifetime bound',
    token: () =>
      valid('ES256', K.e256, {
        payload: JSON.stringify(claims({ exp: 0 })).replace('"exp":0', '"exp":1e400'),
      }),
    expect: 'ERR_TOKEN_LIFETIME',
  },
  {
    name: 'exp negative',
    token: () => valid('ES256', K.e256, { payload: claims({ exp: -1 }) }),
    expect: 'ERR_TOKEN_EXPIRED',
  },
  {
    name: 'sub and aud only under a __proto__ key (an own key, never inherited)',
    token: () =>
      valid('ES256', K.e256, {
        payload: JSON.stringify(claims({ sub: undefined })).replace(
          '{',
          '{"__proto__":{"sub":"admin"},',
        ),
      }),
    expect: 'ERR_TOKEN_CLAIM',
  },
  {
    name: 'a header naming alg twice, none last (the last one counts)',
    token: () => valid('ES256', K.e256, { header: '{"alg":"ES256","kid":"e256","alg":"none"}' }),
    expect: 'ERR_TOKEN_ALG',
  },
  {
    name: 'a header naming alg twice, ES256 last (the last one counts)',
    token: () => valid('ES256', K.e256, { header: '{"alg":"none","kid":"e256","alg":"ES256"}' }),
    expect: 'accept',
  },
  {
    name: 'a payload naming iss twice, a foreign issuer first (the last one counts)',
    token: () =>
      valid('ES256', K.e256, {
        payload: JSON.stringify(claims()).replace('{', '{"iss":"https://evil.example",'),
      }),
    expect: 'accept',
  },
  {
    name: 'iss with a trailing slash (exact match only)',
    token: () => valid('ES256', K.e256, { payload: claims({ iss: `${ISS}/` }) }),
    expect: 'ERR_TOKEN_ISSUER_UNKNOWN',
  },
  {
    name: 'aud as an array holding a number and the audience',
    token: () => valid('ES256', K.e256, { payload: claims({ aud: [7, 'api'] }) }),
    expect: 'accept',
  },
  {
    name: 'EdDSA signed with an Ed448 key the key set holds (EdDSA is Ed25519 only, as in jose)',
    token: () => valid('EdDSA', K.ed448),
    expect: 'ERR_TOKEN_KID_UNKNOWN',
  },
  {
    name: 'aud as the audience in another case',
    token: () => valid('ES256', K.e256, { payload: claims({ aud: 'API' }) }),
    expect: 'ERR_TOKEN_AUDIENCE',
  },
];

/** A segment with the `=` padding base64 would add (its length is not a multiple of 4). */
const pad = (segment: string) => segment + '='.repeat(4 - (segment.length % 4));

/**
 * A valid token whose header or payload segment is not a multiple of 4
 * characters long (so it can be padded or re-spelled), its segments spelled
 * by `encode` before signing.
 */
function uneven(
  alg: string,
  key: TestKey,
  part: 'header' | 'payload',
  encode: (p: Omit<Parts, 'signature'>) => Omit<Parts, 'signature'> = (p) => p,
): string {
  for (const filler of ['', 'a', 'ab', 'abc']) {
    const o = part === 'header' ? { header: { x: filler } } : { payload: claims({ x: filler }) };
    if (forge(alg, key.privateKey, { kid: key.kid, ...o })[part].length % 4 !== 0) {
      return join(forge(alg, key.privateKey, { kid: key.kid, ...o, encode }));
    }
  }
  throw new Error('no filler gives an uneven segment');
}

/** Every case of test/unit/identity/jwt.test.ts and test/e2e/identity.test.ts, on these keys. */
const existingHostile: Case[] = [
  {
    name: '[hostile tests] a token from an unknown issuer',
    token: () => valid('RS256', K.r2, { payload: claims({ iss: 'https://evil.example' }) }),
    expect: 'ERR_TOKEN_ISSUER_UNKNOWN',
  },
  {
    name: '[hostile tests] a wrong audience',
    token: () => valid('RS256', K.r2, { payload: claims({ aud: 'other' }) }),
    expect: 'ERR_TOKEN_AUDIENCE',
  },
  {
    name: '[hostile tests] a bad signature (foreign key)',
    token: () => valid('RS256', stranger),
    expect: 'ERR_TOKEN_SIGNATURE',
  },
  {
    name: '[hostile tests] an unknown kid',
    token: () => valid('RS256', K.r2, { kid: 'nope' }),
    expect: 'ERR_TOKEN_KID_UNKNOWN',
  },
  {
    name: '[hostile tests] a truncated token (two parts)',
    token: () => rs256().slice(0, -20).split('.').slice(0, 2).join('.'),
    expect: 'ERR_TOKEN_MALFORMED',
  },
  {
    name: '[hostile tests] a truncated token (two parts, cut)',
    token: () => rs256().split('.').slice(0, 2).join('.').slice(0, -7),
    expect: 'ERR_TOKEN_MALFORMED',
  },
  {
    name: '[hostile tests] a non-JSON header',
    token: () => `bm90IGpzb24.${rs256().split('.').slice(1).join('.')}`,
    expect: 'ERR_TOKEN_MALFORMED',
  },
  {
    name: '[hostile tests] a non-JSON header (not json at all)',
    token: () => `${b64('not json at all')}.${rs256().split('.').slice(1).join('.')}`,
    expect: 'ERR_TOKEN_MALFORMED',
  },
  {
    name: '[hostile tests] alg none',
    token: () => `${b64('{"alg":"none"}')}.${rs256().split('.')[1]}.`,
    expect: 'ERR_TOKEN_ALG',
  },
  {
    name: '[hostile tests] alg none with typ',
    token: () => `${b64('{"alg":"none","typ":"JWT"}')}.${rs256().split('.')[1]}.`,
    expect: 'ERR_TOKEN_ALG',
  },
  {
    name: '[hostile tests] a JWE where a JWS is expected (a.b.c.d.e)',
    token: () => 'a.b.c.d.e',
    expect: 'ERR_TOKEN_ENCRYPTED',
  },
  {
    name: '[hostile tests] a real JWE',
    token: async () => {
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims())))
        .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM' })
        .encrypt(publicKey);
    },
    expect: 'ERR_TOKEN_ENCRYPTED',
  },
  {
    name: '[hostile tests] a kid with path characters',
    token: () => valid('RS256', K.r2, { kid: '../../etc/passwd' }),
    expect: 'ERR_TOKEN_KID_INVALID',
  },
  {
    name: '[hostile tests] an unknown crit header',
    token: () => {
      const [, p, s] = rs256().split('.');
      const header = { alg: 'RS256', kid: 'r2', crit: ['x-unknown'], 'x-unknown': 1 };
      return `${b64(JSON.stringify(header))}.${p}.${s}`;
    },
    expect: 'ERR_TOKEN_CRIT',
  },
  {
    name: '[hostile tests] a 100 KB token',
    token: () => 'a'.repeat(100_000),
    expect: 'ERR_TOKEN_TOO_LARGE',
  },
  {
    name: '[hostile tests] a 100 KB signed token',
    token: () => valid('RS256', K.r2, { payload: claims({ pad: 'x'.repeat(100_000) }) }),
    expect: 'ERR_TOKEN_TOO_LARGE',
  },
  {
    name: '[hostile tests] 16,386 bytes in 5,462 units',
    token: () => '€'.repeat(5_462),
    expect: 'ERR_TOKEN_TOO_LARGE',
  },
  {
    name: '[hostile tests] 16,385 bytes, one of them 2-byte',
    token: () => 'é' + 'a'.repeat(16_383),
    expect: 'ERR_TOKEN_TOO_LARGE',
  },
  {
    name: '[hostile tests] 16,384 one-byte units',
    token: () => 'a'.repeat(16_384),
    expect: 'ERR_TOKEN_MALFORMED',
  },
  {
    name: '[hostile tests] an expired token',
    token: () =>
      valid('RS256', K.r2, { payload: claims({ iat: NOW_S - 3600, exp: NOW_S - 1800 }) }),
    expect: 'ERR_TOKEN_EXPIRED',
  },
  {
    name: '[hostile tests] nbf in the future',
    token: () => valid('RS256', K.r2, { payload: claims({ nbf: NOW_S + 3600 }) }),
    expect: 'ERR_TOKEN_NOT_YET_VALID',
  },
  {
    name: '[hostile tests] an iat in the future',
    token: () =>
      valid('RS256', K.r2, { payload: claims({ iat: NOW_S + 3600, exp: NOW_S + 7200 }) }),
    expect: 'ERR_TOKEN_ISSUED_IN_FUTURE',
  },
  {
    name: '[hostile tests] a token living 7 days',
    token: () => valid('RS256', K.r2, { payload: claims({ iat: NOW_S, exp: NOW_S + 7 * 86_400 }) }),
    expect: 'ERR_TOKEN_LIFETIME',
  },
  {
    name: '[hostile tests] a token without iat valid for 2 days',
    token: () =>
      valid('RS256', K.r2, { payload: claims({ iat: undefined, exp: NOW_S + 2 * 86_400 }) }),
    expect: 'ERR_TOKEN_LIFETIME',
  },
  {
    name: '[hostile tests] an iat that is not a number',
    token: () => valid('RS256', K.r2, { payload: claims({ iat: 'yesterday' }) }),
    expect: 'ERR_TOKEN_CLAIM',
  },
  {
    name: '[hostile tests] HS256 signed with the public key',
    token: () =>
      join(forge('HS256', new TextEncoder().encode(JSON.stringify(K.r1.jwk)), { kid: 'r1' })),
    expect: 'ERR_TOKEN_ALG',
  },
  {
    name: '[hostile tests] a token without sub',
    token: () => valid('RS256', K.r2, { payload: claims({ sub: undefined }) }),
    expect: 'ERR_TOKEN_CLAIM',
  },
  {
    name: '[hostile tests] a token without exp',
    token: () => valid('RS256', K.r2, { payload: claims({ exp: undefined }) }),
    expect: 'ERR_TOKEN_CLAIM',
  },
  {
    name: '[hostile tests] a good token still passes',
    token: () => rs256(),
    expect: 'accept',
  },
];

const signedHere: Case[] = ASYMMETRIC.map(([alg, key]) => ({
  name: `valid ${alg} (kid ${key.kid || 'none'}), signed with node:crypto`,
  token: () => valid(alg, key),
  expect: 'accept',
}));

const CORPUS: Case[] = [...joseSigned, ...signedHere, ...hmacCases, ...hostile, ...existingHostile];

describe('rolegate verifier against jose, token by token', () => {
  const tokens = new Map<string, string>();
  beforeAll(async () => {
    for (const c of CORPUS) tokens.set(c.name, await c.token());
  });

  it('has a corpus with both answers for every algorithm family', () => {
    expect(new Set(CORPUS.map((c) => c.name)).size).toBe(CORPUS.length);
    expect(CORPUS.filter((c) => c.expect === 'accept').length).toBeGreaterThanOrEqual(30);
    expect(CORPUS.filter((c) => c.expect !== 'accept').length).toBeGreaterThanOrEqual(80);
  });

  it.each(CORPUS.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const token = tokens.get(c.name) ?? '';
    const [now, before] = await Promise.all([rolegateAnswer(token), reference(token)]);
    expect({ rolegate: now, jose: before }).toEqual({
      rolegate: c.expect,
      jose: c.before ?? c.expect,
    });
  });
});
