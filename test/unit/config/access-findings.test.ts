/**
 * Just-in-time access in the security findings: access API actions a
 * guardrail or boundary blocks (WARN_ACCESS_ACTION_BLOCKED), and access
 * statements, reached through the access API rather than a route, no
 * longer reported as unreachable.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { ACCESS_ACTIONS } from '../../../src/access/service.js';
import { ACCESS_API_ACTIONS } from '../../../src/config/access-findings.js';
import { loadConfig } from '../../../src/config/load.js';
import { securityFindings } from '../../../src/config/security.js';
import type { Finding } from '../../../src/config/finding.js';
import { accessScenario } from '../../support/access.js';
import { ORDER_ROUTES } from '../../support/fixtures.js';

const ISSUER = 'https://login.example.com';

type Statement = Record<string, unknown>;
const doc = (...statements: Statement[]) => ({ Version: '2012-10-17', Statement: statements });
const allow = (action: unknown, resource: unknown = '*', sid?: string): Statement => ({
  ...(sid === undefined ? {} : { Sid: sid }),
  Effect: 'Allow',
  Action: action,
  Resource: resource,
});
const deny = (action: unknown, resource: unknown = '*', sid?: string): Statement => ({
  ...allow(action, resource, sid),
  Effect: 'Deny',
});

const APPROVE = allow(
  ['rolegate:ApproveAccessRequest', 'rolegate:ListAccessRequests'],
  'arn:rolegate:iam:::role/*',
  'AdminsApprove',
);

interface Setup {
  readonly guardrails?: Record<string, unknown>;
  readonly boundary?: unknown;
  readonly access?: boolean;
  readonly statement?: Statement;
}

/** An approver role with `statement` (default: approve and list) and the orders routes. */
function findingsOf(setup: Setup): Finding[] {
  const config = {
    issuers: [{ issuer: ISSUER, audiences: ['api'], groupsClaim: 'groups' }],
    ...(setup.guardrails === undefined ? {} : { guardrails: setup.guardrails }),
    roles: [
      {
        name: 'approver',
        trustPolicy: doc({
          Effect: 'Allow',
          Principal: { Federated: ISSUER },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: { StringEquals: { 'login.example.com:sub': 'alice' } },
        }),
        policies: {
          approve: doc(setup.statement ?? APPROVE),
          read: doc(allow('orders:GetOrder', 'arn:rolegate:orders:::order/*')),
        },
        ...(setup.boundary === undefined ? {} : { permissionsBoundary: setup.boundary }),
      },
    ],
    routes: ORDER_ROUTES,
    unmatchedRoutes: 'deny',
    access: { enabled: setup.access ?? true },
  };
  const loaded = loadConfig({ file: 'rolegate.yaml', text: JSON.stringify(config) });
  return securityFindings(loaded, 'rolegate.yaml');
}

const blocked = (found: readonly Finding[]) =>
  found.filter((f) => f.code === 'WARN_ACCESS_ACTION_BLOCKED');

describe('WARN_ACCESS_ACTION_BLOCKED', () => {
  it('names the same access actions as the access service decides', () => {
    expect([...ACCESS_API_ACTIONS].sort()).toEqual(Object.values(ACCESS_ACTIONS).sort());
  });

  it.each<[string, Setup, string[]]>([
    [
      'a guardrail that allows only orders:*',
      { guardrails: { 'orders-only': doc(allow('orders:*')) } },
      [
        'role approver allows the access API actions rolegate:ApproveAccessRequest, rolegate:ListAccessRequests, but guardrail orders-only blocks them: it allows only orders:*. Every such call through this role is refused (ERR_ACCESS_FORBIDDEN); allow the actions in a guardrail',
      ],
    ],
    [
      'an unconditional guardrail Deny on one action',
      {
        guardrails: {
          baseline: doc(
            allow(['orders:*', 'rolegate:*']),
            deny('rolegate:ApproveAccessRequest', '*', 'NoApprovals'),
          ),
        },
      },
      [
        'role approver allows the access API action rolegate:ApproveAccessRequest, but the unconditional Deny baseline/NoApprovals (guardrail) blocks it: it covers every resource the statement names. Every such call through this role is refused (ERR_ACCESS_FORBIDDEN); narrow that Deny',
      ],
    ],
    [
      'a permissions boundary that allows only orders:*',
      { boundary: doc(allow('orders:*', '*', 'OrdersOnly')) },
      [
        'but permissions boundary approver/boundary blocks them: it allows only orders:*. Every such call through this role is refused (ERR_ACCESS_FORBIDDEN); allow the actions in the boundary',
      ],
    ],
    [
      'a guardrail and the boundary, each its own finding',
      {
        guardrails: { 'orders-only': doc(allow('orders:*')) },
        boundary: doc(allow('orders:*')),
      },
      ['guardrail orders-only blocks them', 'permissions boundary approver/boundary blocks them'],
    ],
    [
      'one request action blocked among several guardrails',
      {
        guardrails: { a: doc(allow('orders:*')), b: doc(allow('rolegate:List*')) },
        statement: allow(['rolegate:RequestAccess', 'rolegate:ListAccessRequests']),
      },
      [
        'role approver allows the access API action rolegate:RequestAccess, but guardrails a, b block it: they allow only orders:*, rolegate:List*.',
      ],
    ],
  ])('%s', (_name, setup, messages) => {
    const found = blocked(findingsOf(setup));
    expect(found).toHaveLength(messages.length);
    found.forEach((f, i) => {
      expect(f.message).toContain(messages[i]);
      expect(f).toMatchObject({
        severity: 'warning',
        file: 'rolegate.yaml',
        policy: 'approve',
        path: '$.roles[0].policies.approve.Statement[0]',
        doc: 'docs/findings.md#warn_access_action_blocked',
      });
    });
  });

  it.each<[string, Setup]>([
    ['no guardrail and no boundary', {}],
    [
      'a guardrail allowing rolegate:*',
      { guardrails: { g: doc(allow(['orders:*', 'rolegate:*'])) } },
    ],
    [
      'a second guardrail allowing them',
      { guardrails: { a: doc(allow('orders:*')), b: doc(allow('rolegate:*')) } },
    ],
    ['a boundary allowing everything', { boundary: doc(allow('*')) }],
    [
      'a conditional Deny (it may not apply)',
      {
        guardrails: {
          g: doc(allow('*'), {
            ...deny('rolegate:*'),
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        },
      },
    ],
    [
      'a Deny on other resources',
      { guardrails: { g: doc(allow('*'), deny('rolegate:*', 'arn:rolegate:iam:::role/prod-*')) } },
    ],
    [
      'a statement that is no access statement ("*" is for routes)',
      {
        guardrails: { g: doc(allow('orders:*')) },
        statement: allow('*', 'arn:rolegate:orders:::order/*'),
      },
    ],
  ])('no finding: %s', (_name, setup) => {
    expect(blocked(findingsOf(setup))).toEqual([]);
  });
});

/** The access policy docs/access.md shows ("Admins approve up to 4 hours"). */
function docsAccessPolicy(): { Statement: Statement[] } {
  const text = readFileSync(new URL('../../../docs/access.md', import.meta.url), 'utf8');
  const block = [...text.matchAll(/^```json\n([\s\S]*?)^```/gm)]
    .map((m) => m[1] ?? '')
    .find((b) => b.includes('rolegate:ApproveAccessRequest'));
  if (block === undefined) throw new Error('docs/access.md shows no access policy');
  return JSON.parse(block) as { Statement: Statement[] };
}

describe('access statements are reached through the access API, not routes', () => {
  it("the docs' own access policy draws no finding", () => {
    const statement = docsAccessPolicy().Statement[0];
    expect(statement).toBeDefined();
    const found = findingsOf({ ...(statement === undefined ? {} : { statement }) });
    // Before: WARN_STATEMENT_UNREACHABLE "no route maps to rolegate:ApproveAccessRequest, ...".
    expect(found.filter((f) => f.path?.startsWith('$.roles[0].policies.approve') === true)).toEqual(
      [],
    );
  });

  it("the access scenario's own policies draw no unreachable finding", () => {
    const config = { ...accessScenario(ISSUER), unmatchedRoutes: 'deny' };
    const loaded = loadConfig({ file: 'rolegate.yaml', text: JSON.stringify(config) });
    const codes = securityFindings(loaded, 'rolegate.yaml').map((f) => [f.code, f.path]);
    expect(codes).not.toContainEqual(expect.arrayContaining(['WARN_STATEMENT_UNREACHABLE']));
    expect(codes).not.toContainEqual(expect.arrayContaining(['WARN_ROLE_UNREACHED']));
    expect(codes).not.toContainEqual(expect.arrayContaining(['WARN_ROLE_TRUST_UNSATISFIABLE']));
  });

  it('with access off they are unreachable: no route maps to them and no access API decides them', () => {
    const found = findingsOf({ access: false }).filter(
      (f) => f.code === 'WARN_STATEMENT_UNREACHABLE',
    );
    expect(found.map((f) => f.path)).toEqual(['$.roles[0].policies.approve.Statement[0]']);
  });
});
