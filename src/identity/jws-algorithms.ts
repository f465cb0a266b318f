/**
 * The JWS algorithms rolegate verifies, and one signature check per family
 * on `node:crypto` with a `KeyObject` prepared once per key: the cheapest
 * correct primitive (WebCrypto, which jose 6 uses, pays an asynchronous job
 * per verification on top of the same OpenSSL call). Each family's
 * parameters are those RFC 7518 fixes: PKCS#1 v1.5 for RS*, PSS with MGF1
 * of the same hash and a salt as long as the hash for PS*, ECDSA with the
 * signature as the fixed-length `r || s` (never DER) for ES*, Ed25519 for
 * EdDSA, HMAC compared in constant time for HS*.
 */
import {
  constants,
  createHmac,
  timingSafeEqual,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';

/** What verifying one JWS algorithm needs. */
export interface JwsAlgorithm {
  readonly alg: string;
  readonly family: 'RSA' | 'PSS' | 'EC' | 'OKP' | 'HMAC';
  /** node:crypto digest name; `null` for EdDSA (the hash is part of the scheme). */
  readonly hash: string | null;
  /** The JWK `kty` a key must have. */
  readonly kty: 'RSA' | 'EC' | 'OKP' | 'oct';
  /** The JWK `crv` a key must have (EC and OKP). */
  readonly crv?: string;
  /** Exact signature length in bytes, where the algorithm fixes it (ES*, EdDSA, HS*). */
  readonly signatureBytes?: number;
  /** PSS salt length in bytes. */
  readonly saltLength?: number;
  /** Smallest RSA modulus accepted, in bits (RFC 7518 section 3.3: 2048). */
  readonly minRsaBits?: number;
}

/** Smallest RSA modulus accepted for RS* and PS*, in bits (RFC 7518, and jose's check). */
export const MIN_RSA_BITS = 2048;

const rsa = (alg: string, hash: string): JwsAlgorithm => ({
  alg,
  family: 'RSA',
  hash,
  kty: 'RSA',
  minRsaBits: MIN_RSA_BITS,
});
const pss = (alg: string, hash: string, saltLength: number): JwsAlgorithm => ({
  alg,
  family: 'PSS',
  hash,
  kty: 'RSA',
  saltLength,
  minRsaBits: MIN_RSA_BITS,
});
const ec = (alg: string, hash: string, crv: string, coordinateBytes: number): JwsAlgorithm => ({
  alg,
  family: 'EC',
  hash,
  kty: 'EC',
  crv,
  signatureBytes: 2 * coordinateBytes,
});
const hmac = (alg: string, hash: string, bytes: number): JwsAlgorithm => ({
  alg,
  family: 'HMAC',
  hash,
  kty: 'oct',
  signatureBytes: bytes,
});

const TABLE: ReadonlyMap<string, JwsAlgorithm> = new Map(
  [
    rsa('RS256', 'sha256'),
    rsa('RS384', 'sha384'),
    rsa('RS512', 'sha512'),
    pss('PS256', 'sha256', 32),
    pss('PS384', 'sha384', 48),
    pss('PS512', 'sha512', 64),
    ec('ES256', 'sha256', 'P-256', 32),
    ec('ES384', 'sha384', 'P-384', 48),
    ec('ES512', 'sha512', 'P-521', 66),
    {
      alg: 'EdDSA',
      family: 'OKP',
      hash: null,
      kty: 'OKP',
      crv: 'Ed25519',
      signatureBytes: 64,
    } as const,
    hmac('HS256', 'sha256', 32),
    hmac('HS384', 'sha384', 48),
    hmac('HS512', 'sha512', 64),
  ].map((a) => [a.alg, a]),
);

/** The algorithm named `alg`, or `undefined` when rolegate does not verify it. */
export function jwsAlgorithm(alg: string): JwsAlgorithm | undefined {
  return TABLE.get(alg);
}

/** RSA modulus of `key` in bits (0 when it is not an RSA key). */
export function rsaModulusBits(key: KeyObject): number {
  return key.asymmetricKeyDetails?.modulusLength ?? 0;
}

/**
 * True when `signature` over `input` verifies with `key` under `algorithm`.
 * The key must be of the algorithm's type (the key set's selection sees to
 * that); a signature of the wrong length, or one OpenSSL refuses to parse,
 * is false, never a throw.
 */
export function verifyJwsSignature(
  algorithm: JwsAlgorithm,
  key: KeyObject,
  input: Buffer,
  signature: Buffer,
): boolean {
  const expected = algorithm.signatureBytes;
  if (expected !== undefined && signature.length !== expected) return false;
  try {
    switch (algorithm.family) {
      case 'RSA':
        // PKCS#1 v1.5 signatures are exactly as long as the modulus.
        if (signature.length !== Math.ceil(rsaModulusBits(key) / 8)) return false;
        return cryptoVerify(
          algorithm.hash,
          input,
          { key, padding: constants.RSA_PKCS1_PADDING },
          signature,
        );
      case 'PSS':
        if (signature.length !== Math.ceil(rsaModulusBits(key) / 8)) return false;
        return cryptoVerify(
          algorithm.hash,
          input,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: algorithm.saltLength },
          signature,
        );
      case 'EC':
        return cryptoVerify(algorithm.hash, input, { key, dsaEncoding: 'ieee-p1363' }, signature);
      case 'OKP':
        return cryptoVerify(null, input, key, signature);
      case 'HMAC': {
        const mac = createHmac(algorithm.hash ?? '', key)
          .update(input)
          .digest();
        return mac.length === signature.length && timingSafeEqual(mac, signature);
      }
    }
  } catch {
    // OpenSSL refused the signature's encoding (an r or s out of range, say).
    return false;
  }
}
