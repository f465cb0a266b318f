import { describe, expect, it } from '@jest/globals';
import { check, type Generation } from '../../../src/check/check.js';
import { compileConfig } from '../../../src/config/compile.js';
import { validateConfig } from '../../../src/config/schema.js';
import { RolegateError } from '../../../src/errors.js';
import type { Principal } from '../../../src/identity/principal.js';
import { ExpiringLru } from '../../../src/cache/expiring-lru.js';
import type { AuthzRequest } from '../../../src/request/types.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const ISSUER = 'https://idp.example.com/tenant';

const trust = (condition: object) => ({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Federated: ISSUER },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: condition,
    },
  ],
});

const raw = {
  issuers: [{ issuer: ISSUER, audiences: ['api'] }],
  guardrails: {
    'business-hours-free': {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: '*', Resource: '*' },
        { Sid: 'NoPurge', Effect: 'Deny', Action: 'orders:Purge*', Resource: '*' },
      ],
    },
  },
  roles: [
    {
      name: 'reader',
      trustPolicy: trust({ StringEquals: { 'idp.example.com/tenant:aud': 'api' } }),
      policies: {
        read: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'Read',
              Effect: 'Allow',
              Action: ['orders:Get*', 'orders:Purge*'],
              Resource: 'arn:rolegate:orders:::order/*',
            },
          ],
        },
      },
    },
    {
      name: 'writer',
      trustPolicy: trust({ 'ForAnyValue:StringEquals': { 'jwt:groups': 'writers' } }),
      policies: {
        write: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'Write',
              Effect: 'Allow',
              Action: 'orders:*',
              Resource: 'arn:rolegate:orders:::order/${jwt:sub}',
            },
          ],
        },
      },
    },
    {
      name: 'metered',
      trustPolicy: trust({ StringEquals: { 'jwt:sub': 'meter' } }),
      policies: {
        metered: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'LowLevels',
              Effect: 'Allow',
              Action: 'orders:PutOrder',
              Resource: '*',
              Condition: { NumericLessThan: { 'http:header/x-level': 5 } },
            },
          ],
        },
      },
    },
  ],
  routes: [
    {
      method: 'GET',
      path: '/orders/{id}',
      action: 'orders:GetOrder',
      resource: 'arn:rolegate:orders:::order/{id}',
    },
    {
      method: 'PUT',
      path: '/orders/{id}',
      action: 'orders:PutOrder',
      resource: 'arn:rolegate:orders:::order/{id}',
    },
    {
      method: 'POST',
      path: '/orders/{id}/purge',
      action: 'orders:PurgeOrder',
      resource: 'arn:rolegate:orders:::order/{id}',
    },
  ],
};

function runtimeFor(principal: Principal | Error): Generation {
  const { config, problems } = validateConfig(raw);
  if (!config) throw new Error(JSON.stringify(problems));
  const compiled = compileConfig(config, (ref) => ({
    ref,
    document: ref.document,
    file: 'test.yaml',
    basePath: ref.path,
  }));
  return {
    compiled: compiled,
    verifier: {
      cache: new ExpiringLru({ maxEntries: 0, maxBytes: 0 }),
      locations: [{ kind: 'bearer' }],
      verify: async () => {
        if (principal instanceof Error) throw principal;
        return principal;
      },
    },
  };
}

const principal = (sub: string, claims: Record<string, unknown> = {}): Principal => ({
  kind: 'jwt',
  issuer: ISSUER,
  subject: sub,
  claims: { iss: ISSUER, sub, aud: 'api', ...claims },
  federated: [ISSUER, 'idp.example.com/tenant'],
});

const request = (
  method: string,
  path: string,
  headers: Record<string, string> = {},
): AuthzRequest => ({
  requestId: 'r',
  method,
  path,
  query: new Map(),
  host: 'api.example.com',
  headers: { authorization: 'Bearer x.y.z', ...headers },
  secure: true,
  contextExtensions: {},
});

const run = (p: Principal | Error, req: AuthzRequest) =>
  check(req, { generation: () => runtimeFor(p), now: () => NOW, newId: () => 'id-1' });

describe('check', () => {
  it('allows through the first role whose policies allow, naming the statement', async () => {
    const out = await run(principal('alice'), request('GET', '/orders/1'));
    expect(out).toMatchObject({
      allowed: true,
      status: 200,
      reason: 'OK',
      rolesConsidered: ['reader'],
    });
    expect(out.role?.name).toBe('reader');
    expect(out.determining).toContainEqual(
      expect.objectContaining({
        layer: 'identity',
        policy: 'read',
        statement: 'Read',
        effect: 'Allow',
      }),
    );
  });

  it('evaluates each assumable role on its own', async () => {
    const bob = principal('bob', { groups: ['writers'] });
    expect((await run(bob, request('PUT', '/orders/bob'))).role?.name).toBe('writer');
    const denied = await run(bob, request('PUT', '/orders/alice'));
    expect(denied).toMatchObject({
      allowed: false,
      status: 403,
      reason: 'ERR_IMPLICIT_DENY',
      rolesConsidered: ['reader', 'writer'],
    });
  });

  it('lets a guardrail Deny win over a role Allow', async () => {
    const out = await run(principal('alice'), request('POST', '/orders/1/purge'));
    expect(out).toMatchObject({ allowed: false, reason: 'ERR_EXPLICIT_DENY' });
    expect(out.determining).toContainEqual(
      expect.objectContaining({ layer: 'guardrail', statement: 'NoPurge', effect: 'Deny' }),
    );
  });

  it('denies 401 without a credential and keeps the verifier error code', async () => {
    const req = { ...request('GET', '/orders/1'), headers: {} };
    expect(await run(principal('alice'), req)).toMatchObject({
      status: 401,
      reason: 'ERR_CREDENTIAL_MISSING',
    });
    const expired = await run(new RolegateError('ERR_TOKEN_EXPIRED'), request('GET', '/orders/1'));
    expect(expired).toMatchObject({ allowed: false, status: 401, reason: 'ERR_TOKEN_EXPIRED' });
  });

  it('denies unmatched routes by default', async () => {
    expect(await run(principal('alice'), request('GET', '/elsewhere'))).toMatchObject({
      status: 403,
      reason: 'ERR_ROUTE_UNMATCHED',
    });
  });

  it('denies when no trust policy admits the caller', async () => {
    const stranger = { ...principal('eve'), claims: { sub: 'eve', aud: 'other' } };
    expect(await run(stranger, request('GET', '/orders/1'))).toMatchObject({
      reason: 'ERR_NO_ROLE',
    });
  });

  it('honours a requested role only when its trust policy admits the caller', async () => {
    const asWriter = await run(
      principal('alice'),
      request('GET', '/orders/1', { 'x-rolegate-role': 'writer' }),
    );
    expect(asWriter).toMatchObject({ allowed: false, reason: 'ERR_ROLE_NOT_ASSUMABLE' });
    const asReader = await run(
      principal('alice'),
      request('GET', '/orders/1', { 'x-rolegate-role': 'reader' }),
    );
    expect(asReader.allowed).toBe(true);
  });

  it('fails closed when a condition cannot read a request value', async () => {
    const ok = await run(principal('meter'), request('PUT', '/orders/1', { 'x-level': '3' }));
    expect(ok).toMatchObject({ allowed: true, role: expect.objectContaining({ name: 'metered' }) });
    const bad = await run(principal('meter'), request('PUT', '/orders/1', { 'x-level': 'abc' }));
    expect(bad).toMatchObject({ allowed: false, status: 403, reason: 'ERR_POLICY_EVALUATION' });
  });

  it('fails closed on an unexpected error', async () => {
    const out = await run(new TypeError('bug'), request('GET', '/orders/1'));
    expect(out).toMatchObject({ allowed: false, status: 403, reason: 'ERR_INTERNAL' });
  });
});
