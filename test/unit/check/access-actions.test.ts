/**
 * rolegate's own policies on the access actions: a refusal says which
 * layer (trust, guardrail, identity policy, boundary) and which statement
 * stopped the action, role by role, by names only (never a claim value).
 * Real compiled configurations, the clock frozen.
 */
import { describe, expect, it } from '@jest/globals';
import { authorizeAccessAction } from '../../../src/check/access-actions.js';
import { compileConfig } from '../../../src/config/compile.js';
import { validateConfig } from '../../../src/config/schema.js';
import type { Principal } from '../../../src/identity/principal.js';
import { ACCESS_API_CALL } from '../../support/access.js';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const ISSUER = 'https://idp.example.com';
const ADMIN = 'arn:rolegate:iam:::role/staging-admin';
const REQUEST = 'rolegate:RequestAccess';

const trust = (groups: string) => ({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Federated: ISSUER },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: { 'ForAnyValue:StringEquals': { 'jwt:groups': groups } },
    },
  ],
});

const policy = (...statements: object[]) => ({ Version: '2012-10-17', Statement: statements });

const REQUEST_UP_TO_AN_HOUR = {
  Sid: 'RequestUpToAnHour',
  Effect: 'Allow',
  Action: REQUEST,
  Resource: 'arn:rolegate:iam:::role/staging-*',
  Condition: { NumericLessThanEquals: { 'rolegate:RequestedDuration': 3600 } },
};

/** The engineer role (group engineers) may request staging roles for up to an hour, unless `change` says otherwise. */
function compiled(change: Record<string, unknown> = {}, role: Record<string, unknown> = {}) {
  const { config, problems } = validateConfig({
    issuers: [{ issuer: ISSUER, audiences: ['api'], groupsClaim: 'groups' }],
    roles: [
      {
        name: 'engineer',
        trustPolicy: trust('engineers'),
        policies: { request: policy(REQUEST_UP_TO_AN_HOUR) },
        ...role,
      },
      { name: 'staging-admin', trustPolicy: trust('nobody'), policies: {} },
    ],
    ...change,
  });
  if (!config) throw new Error(JSON.stringify(problems));
  return compileConfig(config, (ref) => ({
    ref,
    document: ref.document,
    file: 'test.yaml',
    basePath: ref.path,
  }));
}

const caller = (groups: string[]): Principal => ({
  kind: 'jwt',
  issuer: ISSUER,
  subject: 'alice',
  claims: { iss: ISSUER, sub: 'alice', aud: 'api', groups },
  federated: [ISSUER, 'idp.example.com'],
});

const request = ACCESS_API_CALL;

const decide = (config: ReturnType<typeof compiled>, groups: string[], duration = 600) =>
  authorizeAccessAction(
    config,
    request,
    caller(groups),
    REQUEST,
    ADMIN,
    { 'rolegate:RequestedDuration': duration, 'rolegate:BreakGlass': false },
    NOW,
  );

describe('authorizeAccessAction', () => {
  it('allows through the role whose policies allow, naming the statement that did', () => {
    const verdict = decide(compiled(), ['engineers']);
    expect(verdict).toEqual({
      allowed: true,
      role: 'engineer',
      by: 'role engineer: identity policy request statement RequestUpToAnHour',
    });
  });

  it('names the guardrail layer when a guardrail lacks the action', () => {
    const verdict = decide(
      compiled({
        guardrails: {
          'orders-only': policy({
            Sid: 'Orders',
            Effect: 'Allow',
            Action: 'orders:*',
            Resource: '*',
          }),
        },
      }),
      ['engineers'],
    );
    expect(verdict.allowed).toBe(false);
    expect(verdict.explain?.()).toBe(
      `role engineer: no guardrail statement allows ${REQUEST} on ${ADMIN}`,
    );
  });

  it('names the guardrail statement that denies', () => {
    const verdict = decide(
      compiled({
        guardrails: {
          'no-self-service': policy(
            { Sid: 'All', Effect: 'Allow', Action: '*', Resource: '*' },
            { Sid: 'NoAccessRequests', Effect: 'Deny', Action: 'rolegate:*', Resource: '*' },
          ),
        },
      }),
      ['engineers'],
    );
    expect(verdict.explain?.()).toBe(
      `role engineer: guardrail no-self-service statement NoAccessRequests denies ${REQUEST} (an explicit Deny)`,
    );
  });

  it('names the identity policy statement and the condition that did not hold', () => {
    const verdict = decide(compiled(), ['engineers'], 7200);
    expect(verdict.explain?.()).toBe(
      `role engineer: no identity policy statement allows ${REQUEST} on ${ADMIN} (request statement RequestUpToAnHour: Condition NumericLessThanEquals rolegate:RequestedDuration did not hold)`,
    );
  });

  it('names the boundary when the permissions boundary lacks the action', () => {
    const verdict = decide(
      compiled(
        {},
        {
          permissionsBoundary: policy({
            Sid: 'OrdersOnly',
            Effect: 'Allow',
            Action: 'orders:*',
            Resource: '*',
          }),
        },
      ),
      ['engineers'],
    );
    expect(verdict.explain?.()).toBe(
      `role engineer: no boundary statement allows ${REQUEST} on ${ADMIN}`,
    );
  });

  it('names trust when no role admits the caller, and the roles that would have allowed', () => {
    const verdict = decide(compiled(), ['contractors']);
    expect(verdict.allowed).toBe(false);
    expect(verdict.explain?.()).toBe(
      `trust: no role's trust policy admits the caller; engineer would allow ${REQUEST} on ${ADMIN}, but its trust policy does not admit the caller`,
    );
    expect(decide(compiled(), ['contractors'], 7200).explain?.()).toBe(
      `trust: no role's trust policy admits the caller, and no role allows ${REQUEST} on ${ADMIN}`,
    );
  });

  it('never puts a claim value in the explanation', () => {
    const text = decide(compiled(), ['contractors-secret-group']).explain?.() ?? '';
    expect(text).not.toContain('contractors-secret-group');
  });
});
