/**
 * An issuer's key set prepared for `node:crypto`: each JWK imported once,
 * when the key set is read, into a `KeyObject`, and the key for a token
 * chosen by the rules jose's `createLocalJWKSet` applies, so that the keys
 * rolegate verifies with are exactly those jose would have used
 * (test/unit/identity/signature-equivalence.test.ts holds them together):
 *
 * - a key is a candidate for `alg` when its `kty` (and for EC and OKP its
 *   `crv`) is the algorithm's, its `alg` (when present) is `alg`, its `use`
 *   (when present) is `sig`, its `key_ops` (when present) are unique
 *   strings including `verify`, its `ext` (when present) is a boolean, and
 *   its `kid` is the token's `kid` (any `kid` when the token has none);
 * - no candidate is an unknown key, more than one is ambiguous (refused,
 *   never tried one after the other);
 * - the import is WebCrypto's JWK import, as jose's, so a key jose would
 *   refuse (a private key, a point off the curve, `key_ops` WebCrypto does
 *   not allow for a public key) is refused too, with the same error.
 */
import { KeyObject, webcrypto } from 'node:crypto';
import { errors as joseErrors, type JSONWebKeySet } from 'jose';
import type { JwsAlgorithm } from './jws-algorithms.js';

/** One key of the set: its selection fields and, once imported, its `KeyObject`. */
export interface PreparedKey {
  /** The key's `kid`, when it is a string. */
  readonly kid: string | undefined;
  /** The imported key, once the import has succeeded; `undefined` before or after a failure. */
  ready(): KeyObject | undefined;
  /** The imported key; rejects with the import's error (as jose would have thrown it). */
  load(): Promise<KeyObject>;
}

/** The outcome of choosing a key for a token. */
export type KeyMatch =
  | { readonly kind: 'none' }
  | { readonly kind: 'several' }
  | { readonly kind: 'one'; readonly key: PreparedKey };

export interface PreparedKeySet {
  /**
   * The key for a token of `algorithm` with `kid` (`undefined`: the token
   * has none). Throws jose's `JOSENotSupported` for an HMAC algorithm (a
   * key set holds no shared secrets).
   */
  select(algorithm: JwsAlgorithm, kid: string | undefined): KeyMatch;
}

interface Candidate {
  readonly kty: unknown;
  readonly crv: unknown;
  readonly kid: unknown;
  readonly alg: unknown;
  readonly use: unknown;
  readonly usable: boolean;
  readonly key: PreparedKey;
}

const NONE: KeyMatch = { kind: 'none' };
const SEVERAL: KeyMatch = { kind: 'several' };

/** `key_ops` absent, or unique strings including `verify`; `ext` absent or boolean. */
function operationsAllowVerify(jwk: Readonly<Record<string, unknown>>): boolean {
  const { ext, key_ops: ops } = jwk;
  if (ext !== undefined && typeof ext !== 'boolean') return false;
  if (ops === undefined) return true;
  return (
    Array.isArray(ops) &&
    ops.every((op, i) => typeof op === 'string' && ops.indexOf(op) === i) &&
    ops.includes('verify')
  );
}

/** The WebCrypto algorithm a JWK of `kty` is imported under (jose's choice for its first alg). */
function importAlgorithm(
  jwk: Readonly<Record<string, unknown>>,
): webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm {
  switch (jwk['kty']) {
    case 'RSA':
      return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    case 'EC':
      return { name: 'ECDSA', namedCurve: String(jwk['crv']) };
    case 'OKP':
      return { name: String(jwk['crv']) };
    default:
      throw new joseErrors.JOSENotSupported('Invalid or unsupported JWK "kty" (Key Type) value');
  }
}

/** A public JWK imported as jose imports it, then held as a `KeyObject`. */
async function importPublicKey(jwk: Readonly<Record<string, unknown>>): Promise<KeyObject> {
  const isPrivate = Boolean(jwk['d']) || Boolean(jwk['priv']);
  // As jose: extractable, and `alg` and `use` left to the selection above.
  const data: Record<string, unknown> = { ...jwk, ext: true };
  delete data['alg'];
  delete data['use'];
  const usages = (jwk['key_ops'] as webcrypto.KeyUsage[] | undefined) ?? [
    isPrivate ? 'sign' : 'verify',
  ];
  const cryptoKey = await webcrypto.subtle.importKey(
    'jwk',
    data as webcrypto.JsonWebKey,
    importAlgorithm(jwk),
    true,
    usages,
  );
  if (cryptoKey.type !== 'public') {
    throw new joseErrors.JWKSInvalid('JSON Web Key Set members must be public keys');
  }
  return KeyObject.from(cryptoKey);
}

function preparedKey(jwk: Readonly<Record<string, unknown>>): PreparedKey {
  let ready: KeyObject | undefined;
  const pending = importPublicKey(jwk).then((key) => (ready = key));
  // Most keys of a set are never asked for; their failures are not unhandled.
  pending.catch(() => {});
  const kid = jwk['kid'];
  return {
    kid: typeof kid === 'string' ? kid : undefined,
    ready: () => ready,
    load: () => pending,
  };
}

/**
 * Prepares `jwks` (already accepted by jose's `createLocalJWKSet`: an object
 * whose `keys` are all objects). Every key's import starts now.
 */
export function prepareKeySet(jwks: JSONWebKeySet): PreparedKeySet {
  const snapshot = structuredClone(jwks.keys) as unknown as Readonly<Record<string, unknown>>[];
  const candidates: Candidate[] = snapshot.map((jwk) => ({
    kty: jwk['kty'],
    crv: jwk['crv'],
    kid: jwk['kid'],
    alg: jwk['alg'],
    use: jwk['use'],
    usable: operationsAllowVerify(jwk),
    key: preparedKey(jwk),
  }));
  // Matches found before, by alg and kid: bounded by the algorithms times
  // the keys (a kid that matches nothing is not remembered).
  const memo = new Map<string, KeyMatch>();

  function find(algorithm: JwsAlgorithm, kid: string | undefined): KeyMatch {
    let found: Candidate | undefined;
    for (const c of candidates) {
      if (
        c.usable &&
        c.kty === algorithm.kty &&
        (algorithm.crv === undefined || c.crv === algorithm.crv) &&
        (kid === undefined || c.kid === kid) &&
        (c.alg === undefined || c.alg === algorithm.alg) &&
        (c.use === undefined || c.use === 'sig')
      ) {
        if (found !== undefined) return SEVERAL;
        found = c;
      }
    }
    return found === undefined ? NONE : { kind: 'one', key: found.key };
  }

  return {
    select(algorithm, kid) {
      if (algorithm.family === 'HMAC') {
        throw new joseErrors.JOSENotSupported('Unsupported "alg" value for a JSON Web Key Set');
      }
      // A kid is 1 to 256 printable characters (checked before), never NUL.
      const memoKey = `${algorithm.alg}\u0000${kid ?? ''}`;
      const known = memo.get(memoKey);
      if (known !== undefined) return known;
      const match = find(algorithm, kid);
      if (match.kind !== 'none') memo.set(memoKey, match);
      return match;
    },
  };
}
