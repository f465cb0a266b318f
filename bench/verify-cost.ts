/**
 * What a fresh token costs rolegate, in this process (`npm run bench verify`,
 * or `node dist/bench/verify-cost.js [--quick]`), CPU µs per token, median
 * of rounds, every figure next to its baselines measured in the same run:
 *
 * 1. Per algorithm: rolegate's whole `verify()` of a token it has never seen
 *    (token cache on, so the cache lookup and insert are paid), against
 *    jose's `jwtVerify` with the key imported once (what rolegate ran before
 *    issue 29: WebCrypto, claims checks included) and against node:crypto's
 *    bare `verify` on the same signing input (the floor any verifier pays).
 * 2. For ES256 and RS256, that `verify()` taken apart: each step of the path
 *    run on its own over the same distinct tokens, and what is left
 *    (promise and call overhead), so docs/performance.md can itemise it.
 *
 * Informational: no target (the fresh-token target is the gRPC row of
 * bench/run.ts, against the no-op floor).
 */
import {
  constants,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign as cryptoSign,
  verify as cryptoVerify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { importJWK, jwtVerify, type JWK } from 'jose';
import { check } from '../src/check/check.js';
import { createAuditor } from '../src/observe/audit.js';
import { createAuditLogger } from '../src/observe/logger.js';
import { createMetrics } from '../src/observe/metrics.js';
import { normalizeCheckRequest } from '../src/request/normalize.js';
import { toCheckResponse } from '../src/response/check-response.js';
import { decodeCheckRequest } from '../src/transport/grpc/decode-check-request.js';
import { encodeCheckResponse } from '../src/transport/grpc/encode-check-response.js';
import { loadAuthorizationService } from '../src/transport/grpc/protos.js';
import type { CheckRequest } from '../src/wire/ext-authz.js';
import { withBenchConfig } from './lib/bench-config.js';
import { benchCheckRequest } from './lib/request.js';
import { ExpiringLru } from '../src/cache/expiring-lru.js';
import { decodeBase64urlStrict } from '../src/identity/base64url.js';
import { readCompactJws, type CompactJws } from '../src/identity/compact-jws.js';
import { createKeyStore, DEFAULT_KEY_TIMING } from '../src/identity/jwks.js';
import { jwsAlgorithm, verifyJwsSignature } from '../src/identity/jws-algorithms.js';
import { createJwtVerifier, principalFromClaims, type JwtVerifier } from '../src/identity/jwt.js';
import { issuerSchema } from '../src/identity/options.js';
import type { Principal } from '../src/identity/principal.js';
import { checkRegisteredClaims } from '../src/identity/registered-claims.js';
import { tokenCacheKey } from '../src/identity/token-cache.js';

type Alg = 'ES256' | 'RS256' | 'PS256' | 'EdDSA' | 'ES384';

const ISSUER = 'https://issuer.example';
/** The verifiers' frozen clock: the start of this run (jose's reads it too). */
const NOW_MS = Math.floor(Date.now() / 1000) * 1000;
const NOW_S = NOW_MS / 1000;
const CACHE_ENTRIES = 10_000;
/** Extra tokens each in-process Check case is warmed up with. */
const PIPELINE_WARM_UP = 1_000;

export interface VerifyCostOptions {
  /** Tokens per round. Default 1,000. */
  readonly n?: number;
  /** Measured rounds (the median is reported). Default 5. */
  readonly rounds?: number;
}

export interface AlgCost {
  readonly alg: Alg;
  /** rolegate `verify()` of a token never seen before, µs. */
  readonly rolegateUs: number;
  /** jose `jwtVerify`, key imported once, µs. */
  readonly joseUs: number;
  /** node:crypto `verify` of the signature alone, µs. */
  readonly cryptoUs: number;
}

/** One step of the fresh-token path and its cost. */
export interface CostItem {
  readonly step: string;
  readonly us: number;
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
}

/** CPU µs per call of `fn(i)` for i in 0..n-1, median of rounds; `fn` synchronous. */
function cpuSync(fn: (i: number) => unknown, n: number, rounds: number): number {
  for (let i = 0; i < Math.min(n, 200); i++) fn(i);
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) fn(i);
    const c = process.cpuUsage(c0);
    per.push((c.user + c.system) / n);
  }
  return median(per);
}

/**
 * CPU µs per call of `fn(round, i)` (awaited), median of rounds; `setup`
 * runs before each round, outside the measurement.
 */
async function cpuAsync(
  fn: (round: number, i: number) => Promise<unknown>,
  n: number,
  rounds: number,
  setup: (round: number) => void = () => {},
): Promise<number> {
  setup(-1);
  for (let i = 0; i < Math.min(n, 200); i++) await fn(-1, i);
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    setup(r);
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) await fn(r, i);
    const c = process.cpuUsage(c0);
    per.push((c.user + c.system) / n);
  }
  return median(per);
}

interface Signer {
  readonly alg: Alg;
  readonly privateKey: KeyObject;
  readonly jwk: JWK;
}

function signer(alg: Alg): Signer {
  const pair =
    alg === 'RS256' || alg === 'PS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: alg === 'ES256' ? 'P-256' : 'P-384' });
  const jwk = { ...(pair.publicKey.export({ format: 'jwk' }) as JWK), kid: 'k', alg, use: 'sig' };
  return { alg, privateKey: pair.privateKey, jwk };
}

const b64 = (text: string) => Buffer.from(text).toString('base64url');

/** `count` distinct tokens as an IdP issues them (another `sub` and `jti` each). */
function mint(s: Signer, count: number): string[] {
  return mintFor(s, ISSUER, count, 'bench-api');
}

/** `count` distinct tokens of `issuer` (another `sub` and `jti` each). */
function mintFor(s: Signer, issuer: string, count: number, aud = 'bench-api'): string[] {
  const header = b64(JSON.stringify({ alg: s.alg, typ: 'JWT', kid: 'k' }));
  const hash = s.alg === 'ES384' ? 'sha384' : 'sha256';
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const payload = b64(
      JSON.stringify({
        iss: issuer,
        aud,
        sub: `user-${i}`,
        jti: randomUUID(),
        groups: ['inventory-team'],
        email: `user-${i}@example.com`,
        iat: NOW_S - 10,
        exp: NOW_S + 3600,
      }),
    );
    const input = Buffer.from(`${header}.${payload}`);
    const key = s.privateKey;
    const sig =
      s.alg === 'EdDSA'
        ? cryptoSign(null, input, key)
        : s.alg === 'PS256'
          ? cryptoSign(hash, input, {
              key,
              padding: constants.RSA_PKCS1_PSS_PADDING,
              saltLength: 32,
            })
          : s.alg === 'RS256'
            ? cryptoSign(hash, input, key)
            : cryptoSign(hash, input, { key, dsaEncoding: 'ieee-p1363' });
    out.push(`${header}.${payload}.${sig.toString('base64url')}`);
  }
  return out;
}

const issuerConfig = (s: Signer) => ({
  ...issuerSchema.parse({ issuer: ISSUER, audiences: ['bench-api'], algorithms: [s.alg] }),
  jwks: { keys: [s.jwk] },
});

/** node:crypto's verify parameters for `alg`, as jws-algorithms.ts passes them. */
function bareVerify(alg: Alg, key: KeyObject): (input: Buffer, sig: Buffer) => boolean {
  switch (alg) {
    case 'ES256':
    case 'ES384':
      return (i, s) =>
        cryptoVerify(
          alg === 'ES256' ? 'sha256' : 'sha384',
          i,
          { key, dsaEncoding: 'ieee-p1363' },
          s,
        );
    case 'RS256':
      return (i, s) => cryptoVerify('sha256', i, key, s);
    case 'PS256':
      return (i, s) =>
        cryptoVerify(
          'sha256',
          i,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
          s,
        );
    case 'EdDSA':
      return (i, s) => cryptoVerify(null, i, key, s);
  }
}

interface Measured {
  readonly cost: AlgCost;
  readonly items?: readonly CostItem[];
  readonly pipeline?: PipelineCost;
}

async function measureAlg(
  alg: Alg,
  n: number,
  rounds: number,
  itemise: boolean,
): Promise<Measured> {
  const s = signer(alg);
  // Distinct tokens for every measured call of the whole path, plus warm-up.
  const tokens = mint(s, n * (rounds + 1));
  const round = (r: number, i: number) => tokens[(r + 1) * n + i] ?? '';
  const verifyOptions = {
    issuer: ISSUER,
    audience: 'bench-api',
    algorithms: [alg],
    currentDate: new Date(NOW_MS),
  };
  const joseKey = await importJWK(s.jwk, alg);
  const joseUs = await cpuAsync(
    (r, i) => jwtVerify(round(r, i), joseKey, verifyOptions),
    n,
    rounds,
  );

  const parsed = tokens.map((t) => readCompactJws(t) as CompactJws);
  const inputs = parsed.map((p) => Buffer.from(p.signingInput, 'latin1'));
  const signatures = parsed.map((p) => decodeBase64urlStrict(p.signature) ?? Buffer.alloc(0));
  const publicKey = createPublicKey({ key: s.jwk as JsonWebKey, format: 'jwk' });
  const bare = bareVerify(alg, publicKey);
  const cryptoUs = cpuSync((i) => bare(inputs[i] as Buffer, signatures[i] as Buffer), n, rounds);

  // The whole path: a new verifier (empty token cache) each round, a token it never saw each call.
  let verifier = createJwtVerifier({
    issuers: [issuerConfig(s)],
    maxTokenBytes: 16_384,
    cacheEntries: CACHE_ENTRIES,
    now: () => NOW_MS,
  });
  const rolegateUs = await cpuAsync(
    (r, i) => verifier.verify(round(r, i)),
    n,
    rounds,
    () => {
      verifier = createJwtVerifier({
        issuers: [issuerConfig(s)],
        maxTokenBytes: 16_384,
        cacheEntries: CACHE_ENTRIES,
        now: () => NOW_MS,
      });
    },
  );
  const cost = { alg, rolegateUs, joseUs, cryptoUs };
  if (!itemise) return { cost };

  // Each step on its own, over the same tokens.
  const config = issuerConfig(s);
  const algorithm = jwsAlgorithm(alg);
  if (algorithm === undefined) throw new Error(`no algorithm ${alg}`);
  const store = createKeyStore({
    issuer: ISSUER,
    jwks: config.jwks,
    timing: DEFAULT_KEY_TIMING,
    now: () => NOW_MS,
  });
  const first = await store.findKey(algorithm, 'k');
  const key = first.kind === 'one' ? await first.key.load() : undefined;
  if (key === undefined) throw new Error('the bench key was not found');
  const at = (i: number) => i % tokens.length;
  const lru = new ExpiringLru<Principal>({ maxEntries: CACHE_ENTRIES, maxBytes: 64 * 1024 * 1024 });
  const principals = parsed.map((p) => principalFromClaims(p.payload, config));
  const keys = tokens.map((t) => tokenCacheKey(t));
  // At capacity, as under a stream of fresh tokens: every insert evicts one.
  for (let i = 0; i < CACHE_ENTRIES; i++)
    lru.set(`fill-${i}`, principals[0] as Principal, NOW_MS + 3_600_000);
  let inserted = 0;
  const items: CostItem[] = [
    {
      step: 'cache key (SHA-256 of the token) + lookup miss',
      us: cpuSync((i) => lru.get(tokenCacheKey(tokens[at(i)] ?? ''), NOW_MS), n, rounds),
    },
    {
      step: 'decode: split, base64url, UTF-8, JSON (header + payload)',
      us: cpuSync((i) => readCompactJws(tokens[at(i)] ?? ''), n, rounds),
    },
    {
      step: 'key lookup (alg + kid, prepared KeyObject)',
      us: await cpuAsync(async () => store.findKey(algorithm, 'k'), n, rounds),
    },
    {
      step: 'signature: base64url decode + node:crypto verify',
      us: cpuSync(
        (i) => {
          const p = parsed[at(i)] as CompactJws;
          const sig = decodeBase64urlStrict(p.signature);
          return (
            sig !== undefined &&
            verifyJwsSignature(algorithm, key, Buffer.from(p.signingInput, 'latin1'), sig)
          );
        },
        n,
        rounds,
      ),
    },
    {
      step: 'registered claims (iss, aud, exp, nbf, iat)',
      us: cpuSync(
        (i) => checkRegisteredClaims((parsed[at(i)] as CompactJws).payload, config, NOW_MS),
        n,
        rounds,
      ),
    },
    {
      step: 'principal (sub, requiredClaims, groups, tags)',
      us: cpuSync(
        (i) => principalFromClaims((parsed[at(i)] as CompactJws).payload, config),
        n,
        rounds,
      ),
    },
    {
      step: 'cache insert (size estimate, evicting the oldest)',
      us: cpuSync(
        () => {
          const i = inserted++ % keys.length;
          lru.set(`${keys[i] ?? ''}-${inserted}`, principals[i] as Principal, NOW_MS + 3_600_000);
        },
        n,
        rounds,
      ),
    },
  ];
  const sum = items.reduce((acc, it) => acc + it.us, 0);
  items.push({
    step: 'the rest (async calls, promises, checks between steps)',
    us: Math.max(0, rolegateUs - sum),
  });
  return { cost, items, pipeline: await measurePipeline(s, n, rounds) };
}

/** A whole in-process Check (decode to encode, audit and metrics) in three cases, µs each. */
export interface PipelineCost {
  readonly alg: Alg;
  /** The same token every call: served from the token cache (the warm path). */
  readonly warmUs: number;
  /** A token never seen on every call: verified, cached, decided. */
  readonly freshUs: number;
  /** A principal never seen on every call, its token verified beforehand (the decision's own share). */
  readonly newPrincipalUs: number;
}

/**
 * The bench server's configuration (bench/lib/bench-config.ts) in process:
 * a full Check per call, as bench/pipeline.ts runs it, for the warm path, a
 * fresh token per call, and a principal never seen per call whose token was
 * verified beforehand; the last one isolates what the decision pays for a
 * new principal (trust policies evaluated again, its claims read again).
 */
async function measurePipeline(s: Signer, n: number, rounds: number): Promise<PipelineCost> {
  const jwks = JSON.stringify({ keys: [s.jwk] });
  return withBenchConfig(jwks, CACHE_ENTRIES, async (issuer, config) => {
    // Measured tokens, then PIPELINE_WARM_UP more for warming each case up.
    const tokens = mintFor(s, issuer, n * (rounds + 1) + PIPELINE_WARM_UP);
    const method = loadAuthorizationService().Check;
    const bodies = tokens.map((t) =>
      Buffer.from(
        method.requestSerialize(
          benchCheckRequest({
            headers: { authorization: `Bearer ${t}` },
            path: '/inventory/42',
          }) as CheckRequest,
        ),
      ),
    );
    const sink = new Writable({ write: (_c, _e, done) => done() });
    const auditor = createAuditor(createAuditLogger(sink), () => 1);
    const metrics = createMetrics(false);
    const settings = {
      claimHeaders: config.settings.headers.claims,
      requestedRoleHeader: 'x-rolegate-role',
    };
    const newVerifier = () =>
      createJwtVerifier({
        issuers: config.issuers,
        maxTokenBytes: 16_384,
        cacheEntries: CACHE_ENTRIES,
        now: () => NOW_MS,
      });
    const call = async (bytes: Buffer, v: JwtVerifier) => {
      const request = normalizeCheckRequest(decodeCheckRequest(bytes));
      const outcome = await check(request, {
        generation: () => ({ compiled: config, verifier: v }),
        now: () => NOW_MS,
        newId: randomUUID,
      });
      if (!outcome.allowed) throw new Error(`the bench request was denied: ${outcome.reason}`);
      encodeCheckResponse(toCheckResponse(outcome, request.headers, settings));
      metrics.checks.inc({ decision: 'allow', reason: 'OK' });
      auditor.record(request, outcome, 10);
    };
    const warmBody = bodies[0] ?? Buffer.alloc(0);
    const warmToken = tokens[0] ?? '';
    const body = (r: number, i: number) => bodies[(r + 1) * n + i] ?? Buffer.alloc(0);
    // The same tokens verified beforehand: the decision sees a principal it never saw.
    const principals = new Map<string, Principal>();
    const real = newVerifier();
    for (const t of tokens) principals.set(t, await real.verify(t));
    const preVerified: JwtVerifier = {
      locations: real.locations,
      cache: real.cache,
      verify: async (token) => principals.get(token) ?? real.verify(token),
    };
    // Each case runs its own code paths: each is warmed up (JIT) before any is measured.
    const warmVerifier = newVerifier();
    const scratch = newVerifier();
    const warmUp = bodies.slice(n * (rounds + 1));
    for (const b of warmUp) {
      await call(warmBody, warmVerifier);
      await call(b, scratch);
      await call(b, preVerified);
    }
    // Rounds interleave the three cases, so load from elsewhere hits them alike.
    const runs = { warm: [] as number[], fresh: [] as number[], principal: [] as number[] };
    const cpuRound = async (fn: (i: number) => Promise<unknown>): Promise<number> => {
      const c0 = process.cpuUsage();
      for (let i = 0; i < n; i++) await fn(i);
      const c = process.cpuUsage(c0);
      return (c.user + c.system) / n;
    };
    for (let r = 0; r < rounds; r++) {
      runs.warm.push(await cpuRound(() => call(warmBody, warmVerifier)));
      const fresh = newVerifier(); // an empty token cache; its keys fetched before timing
      await fresh.verify(warmToken);
      runs.fresh.push(await cpuRound((i) => call(body(r, i), fresh)));
      runs.principal.push(await cpuRound((i) => call(body(r, i), preVerified)));
    }
    const warmUs = median(runs.warm);
    const freshUs = median(runs.fresh);
    const newPrincipalUs = median(runs.principal);
    return { alg: s.alg, warmUs, freshUs, newPrincipalUs };
  });
}

/** Measures every algorithm (and itemises ES256 and RS256). */
export async function measureVerifyCosts(
  algs: readonly Alg[],
  options: VerifyCostOptions = {},
): Promise<Measured[]> {
  const n = options.n ?? 1_000;
  const rounds = options.rounds ?? 5;
  const out: Measured[] = [];
  for (const alg of algs) {
    out.push(await measureAlg(alg, n, rounds, alg === 'ES256' || alg === 'RS256'));
  }
  return out;
}

const fmt = (us: number, width = 9) => `${us.toFixed(1).padStart(width)} µs`;

export async function runVerifyCostBench(
  print: (line: string) => void,
  options: VerifyCostOptions = {},
): Promise<Measured[]> {
  print('Fresh-token verification cost per algorithm (CPU µs per token, this process)');
  print(
    `  ${options.n ?? 1_000} distinct tokens x ${options.rounds ?? 5} rounds per figure, median round; ` +
      'rolegate = verify() of a token never seen (token cache on)',
  );
  const measured = await measureVerifyCosts(['ES256', 'RS256', 'PS256', 'EdDSA', 'ES384'], options);
  print(
    `  ${'alg'.padEnd(6)} ${'rolegate verify'.padStart(15)} ${'jose jwtVerify'.padStart(15)} ${'node:crypto'.padStart(15)}` +
      `  rolegate/jose  rolegate/node:crypto`,
  );
  for (const { cost: c } of measured) {
    print(
      `  ${c.alg.padEnd(6)} ${fmt(c.rolegateUs, 12)} ${fmt(c.joseUs, 12)} ${fmt(c.cryptoUs, 12)}` +
        `  ${(c.rolegateUs / c.joseUs).toFixed(2).padStart(13)}  ${(c.rolegateUs / c.cryptoUs).toFixed(2).padStart(20)}`,
    );
  }
  for (const { cost, items } of measured) {
    if (items === undefined) continue;
    print('');
    print(`  ${cost.alg}: one fresh token through rolegate's verify(), step by step`);
    for (const it of items) {
      print(
        `    ${it.step.padEnd(58)} ${fmt(it.us, 7)}  ${((it.us / cost.rolegateUs) * 100).toFixed(0).padStart(3)}%`,
      );
    }
    print(`    ${'whole verify()'.padEnd(58)} ${fmt(cost.rolegateUs, 7)}  100%`);
  }
  for (const { cost, pipeline: p } of measured) {
    if (p === undefined) continue;
    print('');
    print(
      `  ${p.alg}: a whole Check in process (bench config: decode, check, response, audit, metrics)`,
    );
    const line = (label: string, us: number, note = '') =>
      print(`    ${label.padEnd(58)} ${fmt(us, 7)}${note}`);
    line('warm path: the same token, from the token cache', p.warmUs);
    line('a fresh token on every call', p.freshUs, `  (+${(p.freshUs - p.warmUs).toFixed(1)} µs)`);
    line('  of which verify() of the token (above)', cost.rolegateUs);
    line('  of which the decision for a principal never seen', p.newPrincipalUs - p.warmUs);
    line(
      '  the rest (garbage, cache misses)',
      p.freshUs - p.warmUs - cost.rolegateUs - (p.newPrincipalUs - p.warmUs),
    );
  }
  return measured;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const quick = process.argv.includes('--quick');
  await runVerifyCostBench((line) => console.log(line), quick ? { n: 300, rounds: 3 } : {});
}
