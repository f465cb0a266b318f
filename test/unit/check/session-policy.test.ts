/**
 * A just-in-time grant narrowed by a session policy: Check allows only
 * what the role's layers *and* the session policy allow, and an explicit
 * Deny in the session policy denies, as IAM intersects a session policy
 * with the role's permissions (IAM User Guide, "Session policies";
 * "Policy evaluation logic"). Real compiled configuration, frozen clock.
 */
import { describe, expect, it } from '@jest/globals';
import type { GrantLookup } from '../../../src/access/grants.js';
import type { Grant } from '../../../src/access/model.js';
import { authorize, check, type Generation, type Progress } from '../../../src/check/check.js';
import { ExpiringLru } from '../../../src/cache/expiring-lru.js';
import { checkSessionPolicy } from '../../../src/check/session-policy.js';
import { compileConfig } from '../../../src/config/compile.js';
import { validateConfig } from '../../../src/config/schema.js';
import type { Principal } from '../../../src/identity/principal.js';
import type { AuthzRequest } from '../../../src/request/types.js';
import { ORDER_ROUTES } from '../../support/fixtures.js';

const NOW = Date.parse('2030-01-01T10:00:00Z');
const ISSUER = 'https://idp.example.com';
const policy = (...Statement: object[]) => ({ Version: '2012-10-17', Statement });

const { config: validated, problems } = validateConfig({
  issuers: [{ issuer: ISSUER, audiences: ['api'] }],
  roles: [
    {
      name: 'staging-admin',
      trustPolicy: policy({
        Effect: 'Allow',
        Principal: { Federated: ISSUER },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: { 'jwt:sub': 'nobody-by-trust' } },
      }),
      policies: {
        all: policy({
          Effect: 'Allow',
          Action: 'orders:*',
          Resource: 'arn:rolegate:orders:::order/*',
        }),
      },
    },
  ],
  routes: [
    ...ORDER_ROUTES,
    ...(['required', 'optional'] as const).map((credentials) => ({
      method: 'GET',
      path: `/${credentials}/{id}`,
      action: 'orders:GetOrder',
      resource: 'arn:rolegate:orders:::order/{id}',
      credentials,
    })),
  ],
});
if (!validated) throw new Error(JSON.stringify(problems));
const config = compileConfig(validated, (ref) => ({
  ref,
  document: ref.document,
  file: 'test.yaml',
  basePath: ref.path,
}));

const alice: Principal = {
  kind: 'jwt',
  issuer: ISSUER,
  subject: 'alice',
  claims: { iss: ISSUER, sub: 'alice', aud: 'api' },
  federated: [ISSUER],
};

const grant = (sessionPolicy?: string): Grant => ({
  id: 'grant-r1',
  requestId: 'r1',
  role: 'staging-admin',
  roleArn: 'arn:rolegate:iam:::role/staging-admin',
  issuer: ISSUER,
  subject: 'alice',
  startsAt: NOW - 1000,
  expiresAt: NOW + 3_600_000,
  breakGlass: false,
  ...(sessionPolicy === undefined ? {} : { sessionPolicy }),
});

/** Our own grant cache's interface, holding one grant. */
const holding = (g: Grant): GrantLookup => ({
  grantsFor: (issuer, subject) =>
    new Map(issuer === g.issuer && subject === g.subject ? [[g.role, g]] : []),
});

function decide(g: Grant, method: string, path = '/orders/7') {
  const request: AuthzRequest = {
    requestId: 'r',
    method,
    path,
    query: new Map(),
    host: 'api.example.com',
    headers: {},
    secure: true,
    contextExtensions: {},
  };
  const p: Progress = { rolesConsidered: [], determining: [] };
  const reason = authorize(request, alice, config, NOW, p, holding(g));
  return { reason, determining: p.determining, grant: p.grant?.id };
}

const sessionOf = (document: object): string => {
  const checked = checkSessionPolicy(document);
  if (!checked.ok) throw new Error(checked.problems.join('; '));
  return checked.json;
};

describe('a grant with a session policy', () => {
  it('without one, the grant gives the whole role', () => {
    expect(decide(grant(), 'DELETE').reason).toBe('OK');
  });

  it('allows what both the role and the session policy allow, naming both statements', () => {
    const g = grant(
      sessionOf(
        policy({ Sid: 'ReadOnly', Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*' }),
      ),
    );
    expect(decide(g, 'GET')).toEqual({
      reason: 'OK',
      grant: 'grant-r1',
      determining: [
        { layer: 'identity', effect: 'Allow', policy: 'all', statement: '#0' },
        { layer: 'session', effect: 'Allow', policy: 'sessionPolicy', statement: 'ReadOnly' },
      ],
    });
  });

  it('denies what the role allows but the session policy does not (layer session)', () => {
    const g = grant(
      sessionOf(policy({ Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*' })),
    );
    expect(decide(g, 'DELETE')).toMatchObject({
      reason: 'ERR_IMPLICIT_DENY',
      determining: [{ layer: 'session', effect: 'ImplicitDeny' }],
    });
  });

  it('denies on an explicit Deny in the session policy', () => {
    const g = grant(
      sessionOf(
        policy(
          { Effect: 'Allow', Action: 'orders:*', Resource: '*' },
          {
            Sid: 'NotSeven',
            Effect: 'Deny',
            Action: '*',
            Resource: 'arn:rolegate:orders:::order/7',
          },
        ),
      ),
    );
    expect(decide(g, 'GET', '/orders/7')).toMatchObject({
      reason: 'ERR_EXPLICIT_DENY',
      determining: [{ layer: 'session', effect: 'Deny', statement: 'NotSeven' }],
    });
    expect(decide(g, 'GET', '/orders/8').reason).toBe('OK');
  });

  it('fails closed on a stored session policy that no longer compiles', () => {
    expect(
      decide(grant('{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}'), 'GET').reason,
    ).toBe('ERR_IMPLICIT_DENY');
    expect(decide(grant('not json'), 'GET').reason).toBe('ERR_IMPLICIT_DENY');
  });
});

describe('upstream credentials under a grant with a session policy', () => {
  const generation: Generation = {
    compiled: config,
    verifier: {
      locations: [{ kind: 'bearer' }],
      cache: new ExpiringLru({ maxEntries: 0, maxBytes: 0 }),
      verify: async () => alice,
    },
  };
  const minted: string[] = [];
  const run = (g: Grant, path: string) =>
    check(
      {
        requestId: 'r',
        method: 'GET',
        path,
        query: new Map(),
        host: 'api.example.com',
        headers: { authorization: 'Bearer a.b.c' },
        secure: true,
        contextExtensions: {},
      },
      {
        generation: () => generation,
        now: () => NOW,
        newId: () => 'd1',
        grants: holding(g),
        credentials: async (outcome) => {
          minted.push(outcome.route?.source ?? '');
          return { outcome, headers: { 'x-rolegate-aws-session-token': 'minted' } };
        },
      },
    );
  const readOrder7 = sessionOf(
    policy({
      Effect: 'Allow',
      Action: 'orders:GetOrder',
      Resource: 'arn:rolegate:orders:::order/7',
    }),
  );

  it('mints none (STS would give the whole role): a route that requires them denies', async () => {
    minted.length = 0;
    const outcome = await run(grant(readOrder7), '/required/7');
    expect(outcome).toMatchObject({ allowed: false, reason: 'ERR_CREDENTIALS_NARROWED' });
    expect(minted).toEqual([]);
  });

  it('goes on without them where they are optional', async () => {
    minted.length = 0;
    const outcome = await run(grant(readOrder7), '/optional/7');
    expect(outcome).toMatchObject({ allowed: true, reason: 'OK' });
    expect(outcome.credentialHeaders).toBeUndefined();
    expect(minted).toEqual([]);
  });

  it('mints them as before under a grant without a session policy', async () => {
    minted.length = 0;
    const outcome = await run(grant(), '/required/7');
    expect(outcome).toMatchObject({
      allowed: true,
      credentialHeaders: { 'x-rolegate-aws-session-token': 'minted' },
    });
    expect(minted).toEqual(['route[2]']);
  });
});
