/**
 * Cost of verifying one JWT signature, per algorithm, in this process
 * (`node dist/bench/verify-cost.js`; part of `npm run bench verify`):
 * jose's `jwtVerify` with the key imported once (jose 6 imports a JWK as a
 * WebCrypto CryptoKey and verifies through crypto.subtle; what rolegate
 * does, claims checks included) next to node:crypto's `verify` on the same
 * signing input (the signature alone: the floor any library pays). CPU µs
 * per verification, median of rounds; informational, no target.
 */
import {
  createPublicKey,
  verify as cryptoVerify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT } from 'jose';

type Alg = 'ES256' | 'RS256' | 'PS256' | 'EdDSA' | 'ES384';

interface AlgCost {
  readonly alg: Alg;
  readonly joseUs: number;
  readonly cryptoUs: number;
}

/** Node's verify parameters for a JWS algorithm. */
function nodeParams(alg: Alg, key: KeyObject): [string | null, KeyObject | object] {
  switch (alg) {
    case 'ES256':
      return ['sha256', { key, dsaEncoding: 'ieee-p1363' }];
    case 'ES384':
      return ['sha384', { key, dsaEncoding: 'ieee-p1363' }];
    case 'RS256':
      return ['sha256', key];
    case 'PS256':
      return ['sha256', { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 }];
    case 'EdDSA':
      return [null, key];
  }
}

/** CPU µs per call of `fn` (async), median of `rounds` rounds of `n` calls. */
async function cpuPerCall(
  fn: () => Promise<unknown> | unknown,
  n: number,
  rounds = 5,
): Promise<number> {
  for (let i = 0; i < Math.min(n, 200); i++) await fn();
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) await fn();
    const c = process.cpuUsage(c0);
    per.push((c.user + c.system) / n);
  }
  per.sort((a, b) => a - b);
  return per[Math.floor(per.length / 2)] ?? NaN;
}

export async function measureVerifyCosts(algs: readonly Alg[], n = 1_000): Promise<AlgCost[]> {
  const out: AlgCost[] = [];
  for (const alg of algs) {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    // As rolegate holds JWKS keys: imported once from the JWK.
    const jwk = await exportJWK(publicKey);
    const key = await importJWK({ ...jwk, alg }, alg);
    const token = await new SignJWT({ groups: ['g'], email: 'e@example.com' })
      .setProtectedHeader({ alg, kid: 'k' })
      .setIssuer('https://issuer.example')
      .setAudience('api')
      .setSubject('user')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
    const [h, p, s] = token.split('.') as [string, string, string];
    const input = Buffer.from(`${h}.${p}`);
    const signature = Buffer.from(s, 'base64url');
    const [digest, nodeKey] = nodeParams(
      alg,
      createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }),
    );
    const opts = { issuer: 'https://issuer.example', audience: 'api', algorithms: [alg] };
    const joseUs = await cpuPerCall(() => jwtVerify(token, key, opts), n);
    const cryptoUs = await cpuPerCall(() => {
      if (!cryptoVerify(digest, input, nodeKey as KeyObject, signature)) throw new Error('bad sig');
    }, n);
    out.push({ alg, joseUs, cryptoUs });
  }
  return out;
}

export async function runVerifyCostBench(print: (line: string) => void): Promise<AlgCost[]> {
  print('JWT verification cost per algorithm (CPU µs per token, this process)');
  const costs = await measureVerifyCosts(['ES256', 'RS256', 'PS256', 'EdDSA', 'ES384']);
  print(
    `  ${'alg'.padEnd(6)} ${'jose jwtVerify'.padStart(15)} ${'node:crypto verify'.padStart(19)}  jose/crypto`,
  );
  for (const c of costs) {
    print(
      `  ${c.alg.padEnd(6)} ${c.joseUs.toFixed(1).padStart(12)} µs ${c.cryptoUs.toFixed(1).padStart(16)} µs  ${(c.joseUs / c.cryptoUs).toFixed(2).padStart(10)}`,
    );
  }
  return costs;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runVerifyCostBench((line) => console.log(line));
}
