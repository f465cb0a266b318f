/**
 * The canary, end to end in one real rolegate (HTTP check door, keys fetched
 * from a real issuer over HTTP): a token whose every claim an explanation
 * may not name (sub, email, groups, tenant, a custom one) holds a unique
 * canary is refused for each identity reason; each refusal's audit line
 * explains it (actual against expected), and no audit line, no operational
 * log line (captured at `trace`, the most verbose level) and no response
 * holds the canary or any part of the token.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Rolegate } from '../../../src/main.js';
import { JwksIssuer } from '../../harness/jwks.js';
import { allowPolicy, ORDER_ROUTES, webIdentityTrust } from '../../support/fixtures.js';
import { captureLogger } from '../../support/log-capture.js';
import { rawRequest } from '../../support/raw-http.js';
import { startTestRolegate } from '../../support/rolegate.js';

const NOW_MS = Date.parse('2026-06-01T12:00:00Z');
const NOW_S = NOW_MS / 1000;
const CANARY = 'CANARY-c41e-5b0d-REFUSAL';

const idp = new JwksIssuer({ audience: 'orders-api' });
const audit = captureLogger();
const ops = captureLogger('trace');
let rolegate: Rolegate;

beforeAll(async () => {
  await idp.start();
  ({ rolegate } = await startTestRolegate(
    {
      server: { shutdownDelaySeconds: 0, drainSeconds: 1, http: { enabled: true, port: 0 } },
      issuers: [
        {
          issuer: idp.issuer,
          audiences: ['orders-api'],
          clockToleranceSeconds: 30,
          requiredClaims: { tenant: ['acme'] },
          groupsClaim: 'groups',
        },
      ],
      roles: [
        {
          name: 'orders-reader',
          trustPolicy: webIdentityTrust(idp.issuer),
          policies: { read: allowPolicy(['orders:Get*'], '*', 'Read') },
        },
      ],
      routes: ORDER_ROUTES,
    },
    { ops, audit },
    { httpPort: 0, now: () => NOW_MS },
  ));
}, 30_000);

afterAll(async () => {
  await rolegate?.stop();
  await idp.stop();
});

function mint(
  o: { iss?: string; aud?: string; iat?: number; exp?: number; kid?: string; tenant?: string } = {},
): Promise<string> {
  return idp.mint(
    {
      email: `${CANARY}@example.com`,
      groups: [`${CANARY}-group`],
      tenant: o.tenant ?? `${CANARY}-tenant`,
      custom: { nested: CANARY },
      exp: o.exp ?? NOW_S + 300,
    },
    {
      subject: `${CANARY}-sub`,
      issuedAt: o.iat ?? NOW_S - 10,
      expiresIn: null,
      ...(o.iss === undefined ? {} : { issuer: o.iss }),
      ...(o.aud === undefined ? {} : { audience: o.aud }),
      ...(o.kid === undefined ? {} : { kid: o.kid }),
    },
  );
}

const CASES: [string, () => Promise<string>, string, string][] = [
  [
    'issuer spelled localhost',
    () => mint({ iss: idp.issuer.replace('127.0.0.1', 'localhost') }),
    'ERR_TOKEN_ISSUER_UNKNOWN',
    'issuer',
  ],
  ['wrong audience', () => mint({ aud: 'billing-api' }), 'ERR_TOKEN_AUDIENCE', 'audience'],
  [
    'issued 10 minutes in the future',
    () => mint({ iat: NOW_S + 600, exp: NOW_S + 900 }),
    'ERR_TOKEN_ISSUED_IN_FUTURE',
    'time',
  ],
  ['expired', () => mint({ iat: NOW_S - 3600, exp: NOW_S - 300 }), 'ERR_TOKEN_EXPIRED', 'time'],
  ['unknown kid', () => mint({ kid: 'gone' }), 'ERR_TOKEN_KID_UNKNOWN', 'key'],
  ['required claim value', () => mint(), 'ERR_TOKEN_CLAIM', 'claim'],
];

describe('identity refusals through a running rolegate', () => {
  const tokens: string[] = [];
  const answers: string[] = [];

  it.each(CASES)('%s: a 401 whose audit line explains it', async (_name, make, code, check) => {
    const token = await make();
    tokens.push(token);
    const res = await rawRequest(rolegate.httpPort as number, 'GET', '/envoy/orders/1', {
      host: 'api.example.com',
      authorization: `Bearer ${token}`,
    });
    answers.push(JSON.stringify(res));
    expect(res.status).toBe(401);
    const id = res.headers['x-rolegate-decision-id'];
    const record = audit.auditFor(typeof id === 'string' ? id : undefined);
    expect(record).toMatchObject({ reason: code, decision: 'deny' });
    const [entry] = (record?.['explanation'] ?? []) as { identity?: { check: string } }[];
    expect(entry?.identity?.check).toBe(check);
  });

  it('no audit line, operational log line or response holds the canary or the token', () => {
    expect(tokens).toHaveLength(CASES.length);
    expect(audit.lines.length).toBeGreaterThanOrEqual(CASES.length);
    for (const text of [...audit.lines, ...ops.lines, ...answers]) {
      expect(text).not.toContain(CANARY);
      for (const token of tokens)
        for (const part of token.split('.')) expect(text).not.toContain(part);
    }
  });
});
