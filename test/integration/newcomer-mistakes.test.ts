/**
 * The five mistakes a newcomer makes, each run through every surface that
 * can see it, and each surface must name the cause in words a user can act
 * on: `rolegate simulate` (the CLI, a real token from a real issuer), the
 * audit record of a real rolegate deciding the same request (HTTP check
 * door), and `rolegate validate` for the mistakes that live in the config.
 *
 * 1. the issuer spelled localhost where the issuer says 127.0.0.1
 * 2. a token for another audience
 * 3. a clock (or token) 10 minutes off
 * 4. a trust policy that can never match (its condition key names no issuer)
 * 5. an access role whose rolegate:* action a guardrail blocks
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import type { Rolegate } from '../../src/main.js';
import { JwksIssuer } from '../harness/jwks.js';
import { accessScenario, api } from '../support/access.js';
import { allowPolicy, ORDER_ROUTES, webIdentityTrust } from '../support/fixtures.js';
import { captureLogger } from '../support/log-capture.js';
import { rawRequest } from '../support/raw-http.js';
import { startTestRolegate, writeTempConfig } from '../support/rolegate.js';
import { runCli } from '../unit/cli/cli-io.js';

const idp = new JwksIssuer({ audience: 'orders-api' });
const audit = captureLogger();
const ops = captureLogger('warn');
let rolegate: Rolegate;
let configFile: string;
let hostPort: string;
let localhost: string;

/** The orders config; `trustKeyHost` spells the issuer in the trust condition key. */
function ordersConfig(trustKeyHost: string) {
  return {
    server: { shutdownDelaySeconds: 0, drainSeconds: 1, http: { enabled: true, port: 0 } },
    issuers: [{ issuer: idp.issuer, audiences: ['orders-api'], clockToleranceSeconds: 30 }],
    roles: [
      {
        name: 'orders-reader',
        trustPolicy: webIdentityTrust(idp.issuer, {
          StringEquals: { [`${trustKeyHost}:aud`]: 'orders-api' },
        }),
        policies: { read: allowPolicy(['orders:Get*'], 'arn:rolegate:orders:::order/*', 'Read') },
      },
    ],
    routes: ORDER_ROUTES,
  };
}

beforeAll(async () => {
  await idp.start();
  hostPort = idp.issuer.replace('http://', '');
  localhost = hostPort.replace('127.0.0.1', 'localhost');
  ({ rolegate, configFile } = await startTestRolegate(ordersConfig(hostPort), { ops, audit }));
}, 30_000);

afterAll(async () => {
  await rolegate?.stop();
  await idp.stop();
});

/** What simulate prints for a token asking GET /orders/1, parsed. */
async function simulate(token: string, config = configFile) {
  const run = await runCli([
    'simulate',
    '--config',
    config,
    '--token',
    token,
    '--method',
    'GET',
    '--path',
    '/orders/1',
  ]);
  return JSON.parse(run.out) as { reason: string; explanation: unknown[] };
}

/** The audit record of the same request decided by the running rolegate. */
async function audited(token: string) {
  const mark = audit.lines.length;
  const res = await rawRequest(rolegate.httpPort as number, 'GET', '/nginx', {
    authorization: `Bearer ${token}`,
    'x-original-method': 'GET',
    'x-original-uri': '/orders/1',
    host: 'api.example.com',
  });
  const record = audit
    .records()
    .slice(mark)
    .map((r) => r['audit'] as { reason: string; explanation?: unknown[] } | undefined)
    .find((a) => a !== undefined);
  return { status: res.status, record };
}

const now = () => Math.floor(Date.now() / 1000);

/** Every `message` an explanation holds, one per line: what a user reads. */
function messagesOf(value: unknown): string {
  if (Array.isArray(value)) return value.map(messagesOf).join('\n');
  if (typeof value !== 'object' || value === null) return '';
  return Object.entries(value)
    .map(([k, v]) => (k === 'message' && typeof v === 'string' ? v : messagesOf(v)))
    .filter((m) => m !== '')
    .join('\n');
}

const alice = { subject: 'alice' };

describe('five newcomer mistakes, each named where the user looks', () => {
  const identityCases: [string, () => Promise<string>, string, RegExp][] = [
    [
      '1. issuer spelled localhost',
      () => idp.mint({}, { ...alice, issuer: idp.issuer.replace('127.0.0.1', 'localhost') }),
      'ERR_TOKEN_ISSUER_UNKNOWN',
      /is not a configured issuer; configured: "http:\/\/127\.0\.0\.1:\d+"; did you mean "http:\/\/127\.0\.0\.1:\d+"\? \(they differ in host localhost vs 127\.0\.0\.1/,
    ],
    [
      '2. wrong audience',
      () => idp.mint({}, { ...alice, audience: 'billing-api' }),
      'ERR_TOKEN_AUDIENCE',
      /aud "billing-api" matches none of the audiences accepted for issuer .*: "orders-api"/,
    ],
    [
      '3. clock 10 minutes off',
      () => idp.mint({}, { ...alice, issuedAt: now() + 600, expiresIn: 1200 }),
      'ERR_TOKEN_ISSUED_IN_FUTURE',
      /the token is \d+ s ahead of the clock, beyond the allowed skew of 30 s \(clockToleranceSeconds\)/,
    ],
  ];

  it.each(identityCases)(
    '%s: simulate and the audit record say why',
    async (_, mint, code, why) => {
      const token = await mint();
      const simulated = await simulate(token);
      expect(simulated.reason).toBe(code);
      expect(messagesOf(simulated.explanation)).toMatch(why);
      const { status, record } = await audited(token);
      expect(status).toBe(401);
      expect(record?.reason).toBe(code);
      expect(messagesOf(record?.explanation)).toMatch(why);
      // Said to the operator, never to the client: the token is in neither.
      expect(JSON.stringify(simulated)).not.toContain(token.split('.')[1]);
    },
  );

  it('1b. the issuer spelled localhost in a trust condition key: validate says did you mean', async () => {
    const bad = writeTempConfig(ordersConfig(localhost));
    const run = await runCli(['validate', '--config', bad, '--fail-on', 'warning']);
    expect(run.status).toBe(1);
    expect(run.out + run.err).toContain(
      `WARN_TRUST_KEY_UNPROVIDED condition key ${localhost}:aud is never present`,
    );
    expect(run.out + run.err).toContain(`did you mean ${hostPort}:aud`);
  });

  it('4. a trust policy that can never match: validate, simulate and the audit record name the key', async () => {
    const bad = writeTempConfig(ordersConfig(localhost));
    const run = await runCli(['validate', '--config', bad]);
    expect(run.out + run.err).toContain(
      'WARN_ROLE_TRUST_UNSATISFIABLE role orders-reader can never be assumed',
    );
    const token = await idp.mint({}, alice);
    const simulated = await simulate(token, bad);
    expect(simulated.reason).toBe('ERR_NO_ROLE');
    expect(JSON.stringify(simulated.explanation)).toContain(`${localhost}:aud`);

    // The running rolegate on the same mistake (swapped in by a reload).
    writeTempConfigInPlace(configFile, ordersConfig(localhost));
    rolegate.reload();
    try {
      const { status, record } = await audited(token);
      expect(status).toBe(403);
      expect(record?.reason).toBe('ERR_NO_ROLE');
      expect(JSON.stringify(record?.explanation)).toContain(`${localhost}:aud`);
    } finally {
      writeTempConfigInPlace(configFile, ordersConfig(hostPort));
      rolegate.reload();
    }
  });

  it('5. an access role blocked by a guardrail: validate names the guardrail, and so does the refusal record', async () => {
    const blocked = {
      ...accessScenario(idp.issuer),
      guardrails: { 'orders-only': allowPolicy('orders:*', '*', 'OrdersOnly') },
    };
    const run = await runCli(['validate', '--config', writeTempConfig(blocked)]);
    expect(run.out + run.err).toMatch(
      /WARN_ACCESS_ACTION_BLOCKED role engineer allows the access API action rolegate:RequestAccess, but guardrail orders-only blocks it/,
    );

    const accessAudit = captureLogger();
    const { rolegate: withAccess } = await startTestRolegate(
      { ...blocked, server: { shutdownDelaySeconds: 0, drainSeconds: 1 } },
      { ops: captureLogger('warn'), audit: accessAudit },
    );
    try {
      const token = await idp.mint({ groups: ['engineers'] }, { subject: 'alice' });
      const res = await api(withAccess.accessPort as number, 'POST', '/requests', token, {
        role: 'staging-admin',
        durationSeconds: 600,
        reason: 'deploy the hotfix for ticket 42',
      });
      expect(res.status).toBe(403);
      expect(res.json).toEqual({
        error: 'ERR_ACCESS_FORBIDDEN',
        message: "rolegate's own policies do not allow the caller this access action",
      });
      const refused = accessAudit
        .records()
        .map((r) => r['access'] as Record<string, unknown> | undefined)
        .find((a) => a?.['event'] === 'refused');
      expect(refused?.['actual']).toMatch(/guardrail/);
      expect(refused?.['actual']).toMatch(/rolegate:RequestAccess/);
    } finally {
      await withAccess.stop();
    }
  });
});

/** Rewrites a config file the running rolegate reads. */
function writeTempConfigInPlace(file: string, config: object): void {
  writeFileSync(file, stringify(config));
}
