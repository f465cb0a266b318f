import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { authorize, toOutcome, type Progress } from '../../../src/check/check.js';
import { loadConfig } from '../../../src/config/load.js';
import type { Principal } from '../../../src/identity/principal.js';
import { auditRecord } from '../../../src/observe/audit.js';
import { canonicalRequest } from '../../../src/request/normalize.js';
import { TOKEN } from './fixtures.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/rolegate.yaml', import.meta.url));
const NOW = Date.parse('2026-06-01T00:00:00Z');
const ISS = 'http://127.0.0.1:9100';
const config = loadConfig(EXAMPLE);

/** Values that reach the decision (claims, header values, the token) and must never be audited. */
const CANARIES = ['CANARY-GROUP-31', 'CANARY-EMAIL-32', 'CANARY-OWNER-33', 'CANARY-COOKIE-34'];

/** The audit record of one request decided on the example config, as the live pipeline does. */
function audited(groups: readonly string[] | undefined, method: string) {
  const claims: Record<string, unknown> = {
    iss: ISS,
    sub: 'root',
    aud: 'rolegate-dev',
    email: 'CANARY-EMAIL-32',
    ...(groups === undefined ? {} : { groups }),
  };
  const principal: Principal = {
    kind: 'jwt',
    issuer: ISS,
    subject: 'root',
    claims,
    federated: [ISS, '127.0.0.1:9100'],
  };
  const request = canonicalRequest({
    method,
    target: '/orders/42',
    host: 'api.example.com',
    headers: {
      authorization: `Bearer ${TOKEN}`,
      cookie: 'session=CANARY-COOKIE-34',
      'x-order-owner': 'CANARY-OWNER-33',
    },
    secure: true,
    contextExtensions: {},
  });
  const p: Progress = { principal, rolesConsidered: [], determining: [] };
  const reason = authorize(request, principal, config, NOW, p);
  return auditRecord(request, toOutcome('d', reason, p, config.settings.headers.claims), 5);
}

function expectNoValues(record: object): void {
  const text = JSON.stringify(record);
  for (const piece of [TOKEN, ...TOKEN.split('.'), ...CANARIES]) expect(text).not.toContain(piece);
}

describe('the audit record of a deny explains it by statement id and key name only', () => {
  it('explicit deny: both roles admitted, the matched statements by layer, no value anywhere', () => {
    const record = audited(['admins', 'CANARY-GROUP-31'], 'DELETE');
    expect(record.reason).toBe('ERR_EXPLICIT_DENY');
    expect(record.explanation).toEqual([
      {
        role: 'orders-reader',
        trust: 'admitted',
        trust_statements: [{ statement: 'orders-reader/trust/#0', effect: 'Allow', matched: true }],
        matched: ['guardrail:orders-only/AllowOrders:Allow'],
        missing_context_keys: [],
      },
      {
        role: 'orders-admin',
        trust: 'admitted',
        trust_statements: [{ statement: 'orders-admin/trust/#0', effect: 'Allow', matched: true }],
        matched: [
          'guardrail:orders-only/AllowOrders:Allow',
          'identity:manage-orders/ManageOrders:Allow',
          'boundary:orders-admin/boundary/BoundaryOrders:Allow',
          'boundary:orders-admin/boundary/DeleteOnlyOwn:Deny',
        ],
        missing_context_keys: [],
      },
    ]);
    expectNoValues(record);
  });

  it('no role: each trust statement names the failing condition operator and key, and the missing key', () => {
    const record = audited(undefined, 'GET');
    expect(record.reason).toBe('ERR_NO_ROLE');
    const failed = (role: string) => ({
      role,
      trust: 'denied',
      trust_statements: [
        {
          statement: `${role}/trust/#0`,
          effect: 'Allow',
          matched: false,
          element: 'Condition',
          operator: 'ForAnyValue:StringEquals',
          key: 'jwt:groups',
        },
      ],
      missing_context_keys: ['jwt:groups'],
    });
    expect(record.explanation).toEqual([failed('orders-reader'), failed('orders-admin')]);
    expectNoValues(record);
  });

  it('a claim value that fails a trust condition is named by its key, never by its value', () => {
    const record = audited(['CANARY-GROUP-31'], 'GET');
    expect(record.reason).toBe('ERR_NO_ROLE');
    const roles = (record.explanation ?? []).filter((r) => 'role' in r);
    expect(roles.map((r) => r.trust_statements[0]?.key)).toEqual(['jwt:groups', 'jwt:groups']);
    expect(roles.map((r) => r.missing_context_keys)).toEqual([[], []]);
    expectNoValues(record);
  });

  it('an allow carries no explanation', () => {
    const record = audited(['readers'], 'GET');
    expect(record.reason).toBe('OK');
    expect(record).not.toHaveProperty('explanation');
    expectNoValues(record);
  });
});

describe('the audit record of an identity refusal', () => {
  it('keeps the explanation as one entry {identity}, before any role', () => {
    const request = canonicalRequest({
      method: 'GET',
      target: '/orders/42',
      host: 'api.example.com',
      headers: { authorization: `Bearer ${TOKEN}` },
      secure: true,
      contextExtensions: {},
    });
    const identity = {
      check: 'audience' as const,
      issuer: ISS,
      found: ['billing-api'],
      expected: ['rolegate-dev'],
      message: `aud "billing-api" matches none of the audiences accepted for issuer ${ISS}: "rolegate-dev"`,
    };
    const p: Progress = {
      rolesConsidered: [],
      determining: [],
      explanation: { identity, roles: [] },
    };
    const record = auditRecord(
      request,
      toOutcome('d', 'ERR_TOKEN_AUDIENCE', p, config.settings.headers.claims),
      5,
    );
    expect(record).toMatchObject({ reason: 'ERR_TOKEN_AUDIENCE', explanation: [{ identity }] });
    expect(record).not.toHaveProperty('subject');
    expectNoValues(record);
  });
});
