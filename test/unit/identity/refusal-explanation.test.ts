/**
 * Every identity refusal says why, actual against expected: the token's
 * `iss` against the configured issuers (with "did you mean" for a spelling
 * such as localhost vs 127.0.0.1), `aud` against the audiences, `iat`,
 * `nbf` and `exp` against the frozen clock and the allowed skew, the `kid`
 * against the key set, the `alg` against the allowed algorithms, and which
 * required claim failed. And never more: a canary in every claim an
 * explanation may not name (sub, email, groups, tenant, ...) never reaches
 * the explanation, the audit line or `simulate`'s answer, nor does the token.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { check } from '../../../src/check/check.js';
import { simulateToken, decideClaims } from '../../../src/cli/simulate-config.js';
import { loadConfig } from '../../../src/config/load.js';
import type { LoadedConfig } from '../../../src/config/compile.js';
import type { IdentityExplanation } from '../../../src/decision/explanation.js';
import { createJwtVerifier } from '../../../src/identity/jwt.js';
import { identityExplanationOf } from '../../../src/identity/refusal.js';
import { auditLine } from '../../../src/observe/audit-line.js';
import { auditRecordJson } from '../../../src/observe/audit.js';
import { canonicalRequest } from '../../../src/request/normalize.js';
import { JwksIssuer } from '../../harness/jwks.js';
import { allowPolicy, ORDER_ROUTES, webIdentityTrust } from '../../support/fixtures.js';

const NOW_MS = Date.parse('2026-06-01T12:00:00Z');
const NOW_S = NOW_MS / 1000;
const CANARY = 'CANARY-7f3a9c1e-IDENTITY';

const idp = new JwksIssuer({ audience: 'orders-api' });
let config: LoadedConfig;

function configOf(issuer: string): object {
  return {
    issuers: [
      {
        issuer,
        audiences: ['orders-api', 'orders-admin'],
        clockToleranceSeconds: 30,
        algorithms: ['RS256', 'ES256'],
        requiredClaims: { tenant: ['acme'] },
        groupsClaim: 'groups',
        keys: { maxWaitMs: 2000 },
      },
    ],
    roles: [
      {
        name: 'orders-reader',
        trustPolicy: webIdentityTrust(issuer),
        policies: { read: allowPolicy(['orders:Get*'], '*', 'Read') },
      },
    ],
    routes: ORDER_ROUTES,
  };
}

beforeAll(async () => {
  await idp.start();
  config = loadConfig({ file: 'inline.yaml', text: stringify(configOf(idp.issuer)) });
});
afterAll(() => idp.stop());

/** Claims an explanation may never name, each holding the canary. */
const SECRET_CLAIMS = {
  email: `${CANARY}@example.com`,
  groups: [`${CANARY}-group`],
  tenant: `${CANARY}-tenant`,
  custom: { nested: CANARY },
};

/** A token of the canary subject, signed by the test issuer; `exp` and `iat` absolute. */
function mint(
  options: {
    iat?: number;
    exp?: number;
    nbf?: number;
    issuer?: string;
    audience?: string;
    kid?: string;
    claims?: Record<string, unknown>;
  } = {},
): Promise<string> {
  return idp.mint(
    { ...SECRET_CLAIMS, exp: options.exp ?? NOW_S + 300, ...options.claims },
    {
      subject: `${CANARY}-sub`,
      issuedAt: options.iat ?? NOW_S - 10,
      expiresIn: null,
      ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
      ...(options.audience === undefined ? {} : { audience: options.audience }),
      ...(options.kid === undefined ? {} : { kid: options.kid }),
      ...(options.nbf === undefined ? {} : { notBefore: options.nbf }),
    },
  );
}

const localhost = () => idp.issuer.replace('127.0.0.1', 'localhost');

/** The refusals, each with its code and what its explanation must say. */
const REFUSALS: {
  readonly name: string;
  readonly token: () => Promise<string>;
  readonly code: string;
  readonly explanation: () => Partial<IdentityExplanation>;
}[] = [
  {
    name: 'an issuer spelled localhost where 127.0.0.1 is configured',
    token: () => mint({ issuer: localhost() }),
    code: 'ERR_TOKEN_ISSUER_UNKNOWN',
    explanation: () => ({
      check: 'issuer',
      found: localhost(),
      expected: [idp.issuer],
      didYouMean: idp.issuer,
      message: `iss "${localhost()}" is not a configured issuer; configured: "${idp.issuer}"; did you mean "${idp.issuer}"? (they differ in host localhost vs 127.0.0.1; issuers are compared exactly)`,
    }),
  },
  {
    name: 'an issuer with a trailing slash',
    token: () => mint({ issuer: `${idp.issuer}/` }),
    code: 'ERR_TOKEN_ISSUER_UNKNOWN',
    explanation: () => ({ didYouMean: idp.issuer, found: `${idp.issuer}/` }),
  },
  {
    name: 'a wrong audience',
    token: () => mint({ audience: 'billing-api' }),
    code: 'ERR_TOKEN_AUDIENCE',
    explanation: () => ({
      check: 'audience',
      issuer: idp.issuer,
      found: ['billing-api'],
      expected: ['orders-api', 'orders-admin'],
      message: `aud "billing-api" matches none of the audiences accepted for issuer ${idp.issuer}: "orders-api", "orders-admin"`,
    }),
  },
  {
    name: 'a token issued 10 minutes in the future',
    token: () => mint({ iat: NOW_S + 600, exp: NOW_S + 900 }),
    code: 'ERR_TOKEN_ISSUED_IN_FUTURE',
    explanation: () => ({
      check: 'time',
      issuer: idp.issuer,
      time: {
        claim: 'iat',
        value: NOW_S + 600,
        now: NOW_S,
        offBySeconds: 600,
        toleranceSeconds: 30,
      },
      message:
        'iat 2026-06-01T12:10:00.000Z against the clock 2026-06-01T12:00:00.000Z: the token is 600 s ahead of the clock, beyond the allowed skew of 30 s (clockToleranceSeconds)',
    }),
  },
  {
    name: 'an expired token',
    token: () => mint({ iat: NOW_S - 3600, exp: NOW_S - 300 }),
    code: 'ERR_TOKEN_EXPIRED',
    explanation: () => ({
      check: 'time',
      issuer: idp.issuer,
      time: {
        claim: 'exp',
        value: NOW_S - 300,
        now: NOW_S,
        offBySeconds: 300,
        toleranceSeconds: 30,
      },
      message:
        'exp 2026-06-01T11:55:00.000Z against the clock 2026-06-01T12:00:00.000Z: the token expired 300 s ago, beyond the allowed skew of 30 s (clockToleranceSeconds)',
    }),
  },
  {
    name: 'a token not valid before 2 minutes from now',
    token: () => mint({ nbf: NOW_S + 120 }),
    code: 'ERR_TOKEN_NOT_YET_VALID',
    explanation: () => ({
      check: 'time',
      time: {
        claim: 'nbf',
        value: NOW_S + 120,
        now: NOW_S,
        offBySeconds: 120,
        toleranceSeconds: 30,
      },
    }),
  },
  {
    name: 'an unknown kid',
    token: () => mint({ kid: 'rotated-away' }),
    code: 'ERR_TOKEN_KID_UNKNOWN',
    explanation: () => ({
      check: 'key',
      found: 'rotated-away',
      expected: [idp.kid],
      message: `kid "rotated-away": no key of issuer ${idp.issuer} matches it for alg "RS256"; the key set has key ids "${idp.kid}"`,
    }),
  },
  {
    name: 'a required claim without an accepted value',
    token: () => mint(),
    code: 'ERR_TOKEN_CLAIM',
    explanation: () => ({
      check: 'claim',
      claim: 'tenant',
      message: 'claim tenant holds none of the 1 value(s) requiredClaims accepts',
    }),
  },
  {
    name: 'a missing required claim',
    token: () => mint({ claims: { tenant: undefined } }),
    code: 'ERR_TOKEN_CLAIM',
    explanation: () => ({ check: 'claim', claim: 'tenant' }),
  },
  {
    name: 'a lifetime beyond maxTokenLifetimeSeconds',
    token: () => mint({ iat: NOW_S - 10, exp: NOW_S + 2 * 86_400 }),
    code: 'ERR_TOKEN_LIFETIME',
    explanation: () => ({
      check: 'lifetime',
      message: 'exp - iat is 172810 s; maxTokenLifetimeSeconds allows 86400 s',
    }),
  },
];

function verifier() {
  return createJwtVerifier({
    issuers: config.issuers,
    maxTokenBytes: 16_384,
    cacheEntries: 0,
    now: () => NOW_MS,
  });
}

describe('identity refusals explain themselves, actual against expected', () => {
  it.each(REFUSALS)('$name', async ({ token, code, explanation }) => {
    let thrown: unknown;
    try {
      await verifier().verify(await token());
    } catch (err) {
      thrown = err;
    }
    expect((thrown as { code?: unknown } | undefined)?.code).toBe(code);
    expect(identityExplanationOf(thrown)).toMatchObject(explanation());
  });

  it('an algorithm the issuer does not allow names it and the allowed ones', async () => {
    const [, payload, signature] = (await mint()).split('.');
    const header = Buffer.from(JSON.stringify({ alg: 'PS256', kid: idp.kid })).toString(
      'base64url',
    );
    let thrown: unknown;
    await verifier()
      .verify(`${header}.${payload}.${signature}`)
      .catch((err: unknown) => (thrown = err));
    expect(identityExplanationOf(thrown)).toEqual({
      check: 'algorithm',
      issuer: idp.issuer,
      found: 'PS256',
      expected: ['RS256', 'ES256'],
      message: 'alg "PS256" is not allowed for this issuer; allowed: "RS256", "ES256"',
    });
  });

  it('a forged signature, a misplaced token and an oversized one say which check failed', async () => {
    const v = verifier();
    const why = async (p: Promise<unknown>) => identityExplanationOf(await p.catch((e) => e));
    const forged = await idp.mint(
      { ...SECRET_CLAIMS, exp: NOW_S + 300 },
      { subject: CANARY, issuedAt: NOW_S, expiresIn: null, foreignKey: true },
    );
    expect(await why(v.verify(forged))).toEqual({
      check: 'signature',
      issuer: idp.issuer,
      found: idp.kid,
      message: `the signature does not verify with key "${idp.kid}" of issuer ${idp.issuer} (alg "RS256")`,
    });
    const tenant = await mint({ claims: { tenant: 'acme' } });
    expect(await why(v.verify(tenant, { kind: 'cookie', name: 'session' }))).toEqual({
      check: 'location',
      issuer: idp.issuer,
      found: 'cookie session',
      expected: ['the Authorization header (Bearer)'],
      message: `the token arrived in cookie session; issuer ${idp.issuer} sends tokens in the Authorization header (Bearer)`,
    });
    expect(await why(v.verify('x'.repeat(20_000)))).toEqual({
      check: 'token',
      message: 'the token is longer than tokens.maxBytes (16384 bytes)',
    });
  });

  it('no token: where tokens were looked for', async () => {
    const request = canonicalRequest({
      method: 'GET',
      target: '/orders/1',
      host: 'api.example.com',
      headers: {},
      secure: true,
      contextExtensions: {},
    });
    const outcome = await check(request, {
      generation: () => ({ compiled: config, verifier: verifier() }),
      now: () => NOW_MS,
      newId: () => 'd',
    });
    expect(outcome.reason).toBe('ERR_CREDENTIAL_MISSING');
    expect(outcome.explanation).toEqual({
      roles: [],
      identity: {
        check: 'credential',
        message: 'no token found (looked in the Authorization header (Bearer))',
        expected: ['the Authorization header (Bearer)'],
      },
    });
  });

  it('simulate --claims explains an unknown issuer with the same "did you mean"', () => {
    const { outcome } = decideClaims(
      { iss: `${idp.issuer}/`, sub: CANARY },
      { method: 'GET', path: '/orders/1', host: 'api.example.com', headers: {} },
      config,
      NOW_MS,
    );
    expect(outcome.reason).toBe('ERR_TOKEN_ISSUER_UNKNOWN');
    expect(outcome.explanation?.identity).toMatchObject({
      didYouMean: idp.issuer,
      message: `iss "${idp.issuer}/" is not a configured issuer; configured: "${idp.issuer}"; did you mean "${idp.issuer}"? (they differ in trailing slash; issuers are compared exactly)`,
    });
    expect(JSON.stringify(outcome)).not.toContain(CANARY);
  });
});

describe('the canary: no refusal writes the token or a claim value', () => {
  it.each(REFUSALS)('$name: audit line and simulate answer', async ({ token, code }) => {
    const raw = await token();
    const input = {
      method: 'GET',
      path: '/orders/1',
      host: 'api.example.com',
      headers: { 'x-request-id': 'canary' },
    };
    const answer = JSON.stringify(await simulateToken(raw, input, config, () => NOW_MS));
    const request = canonicalRequest({
      method: 'GET',
      target: '/orders/1',
      host: 'api.example.com',
      headers: { authorization: `Bearer ${raw}` },
      secure: true,
      contextExtensions: {},
    });
    const outcome = await check(request, {
      generation: () => ({ compiled: config, verifier: verifier() }),
      now: () => NOW_MS,
      newId: () => 'd',
    });
    expect(outcome.reason).toBe(code);
    const line = auditLine(auditRecordJson(request, outcome, 5), '2026-06-01T12:00:00.000Z');
    const record = JSON.parse(line) as { audit: { explanation?: unknown[] } };
    expect(record.audit.explanation).toEqual([{ identity: outcome.explanation?.identity }]);
    expect(JSON.parse(answer)).toMatchObject({
      reason: code,
      explanation: [{ identity: outcome.explanation?.identity }],
    });
    for (const text of [answer, line]) {
      expect(text).not.toContain(CANARY);
      for (const part of raw.split('.')) expect(text).not.toContain(part);
    }
  });
});
