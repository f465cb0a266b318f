import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { principalOnlyKey, requestContextResolver } from '../../../src/check/context.js';
import { memoisedAssumableRoles } from '../../../src/check/trust-memo.js';
import type { Principal } from '../../../src/identity/principal.js';
import {
  compilePolicy,
  contextKeysRead,
  createPolicySet,
  resolvingContext,
} from '../../../src/policy/index.js';
import { canonicalRequest } from '../../../src/request/normalize.js';
import { assumableRoles, type TrustedRole } from '../../../src/roles/trust.js';

const ISS = 'https://idp.example.com';

/** Keys trust conditions read: principal-only ones and request-, route- and time-dependent ones. */
const KEYS = [
  'jwt:groups',
  'jwt:email',
  'jwt:sub',
  'idp.example.com:sub',
  'idp.example.com:aud',
  'aws:PrincipalTag/team',
  'rolegate:groups',
  'aws:MultiFactorAuthPresent',
  'aws:SourceIp',
  'aws:SecureTransport',
  'aws:CurrentTime',
  'http:header/x-team',
  'http:method',
  'envoy:context/tenant',
  'aws:ResourceTag/team',
];
const WORDS = ['red', 'blue', 'alice', 'bob', 'GET', 'POST', 'red*', '*'];

const condition = fc.record({
  op: fc.constantFrom(
    'StringEquals',
    'StringLike',
    'StringNotEquals',
    'ForAnyValue:StringEquals',
    'Null',
  ),
  key: fc.constantFrom(...KEYS),
  value: fc.oneof(
    fc.constantFrom(...WORDS),
    fc.constantFrom('${jwt:sub}', '${http:header/x-team}', '${aws:PrincipalTag/team}'),
  ),
});

const statement = fc.record({
  effect: fc.constantFrom('Allow', 'Allow', 'Deny'),
  conditions: fc.array(condition, { maxLength: 3 }),
});

type StatementSpec = typeof statement extends fc.Arbitrary<infer T> ? T : never;

function trustDocument(statements: readonly StatementSpec[]): unknown {
  return {
    Version: '2012-10-17',
    Statement: statements.map((s) => {
      const Condition: Record<string, Record<string, unknown>> = {};
      for (const c of s.conditions) {
        const value = c.op === 'Null' ? 'true' : c.value;
        // A set operator on a single-valued key does not compile: keep the pool compilable.
        const op = c.op.startsWith('ForAnyValue') && c.key !== 'jwt:groups' ? 'StringEquals' : c.op;
        (Condition[op] ??= {})[c.key] = value;
      }
      return {
        Effect: s.effect,
        Principal: { Federated: ISS },
        Action: 'sts:AssumeRoleWithWebIdentity',
        ...(s.conditions.length === 0 ? {} : { Condition }),
      };
    }),
  };
}

const roleSet = fc.array(fc.array(statement, { minLength: 1, maxLength: 3 }), {
  minLength: 1,
  maxLength: 5,
});

const principalArb = fc
  .record({
    sub: fc.constantFrom('alice', 'bob', 'red'),
    groups: fc.option(fc.subarray(['red', 'blue', 'alice']), { nil: undefined }),
    email: fc.option(fc.constantFrom(...WORDS), { nil: undefined }),
    team: fc.option(fc.constantFrom('red', 'blue'), { nil: undefined }),
    mfa: fc.boolean(),
    // A principal the token cache holds is memoised; a one-off one is not.
    memoise: fc.boolean(),
  })
  .map((c): Principal => ({
    ...(c.memoise ? { memoise: true as const } : {}),
    kind: 'jwt',
    issuer: ISS,
    subject: c.sub,
    claims: {
      iss: ISS,
      sub: c.sub,
      aud: 'api',
      ...(c.groups ? { groups: c.groups } : {}),
      ...(c.email ? { email: c.email } : {}),
      ...(c.mfa ? { amr: ['mfa'] } : {}),
    },
    federated: [ISS, 'idp.example.com'],
    ...(c.groups ? { groups: c.groups } : {}),
    ...(c.team ? { tags: { team: c.team } } : {}),
  }));

const requestArb = fc.record({
  method: fc.constantFrom('GET', 'POST'),
  team: fc.option(fc.constantFrom(...WORDS), { nil: undefined }),
  tenant: fc.option(fc.constantFrom('red', 'blue'), { nil: undefined }),
  secure: fc.boolean(),
  now: fc.integer({ min: 0, max: 4_000_000_000_000 }),
  requested: fc.option(fc.constantFrom('role0', 'role1', 'arn:aws:iam::1:role/role2', 'nope'), {
    nil: undefined,
  }),
});

describe('memoised role selection', () => {
  it('selects exactly the roles the trust policies admit, request after request for one principal', () => {
    fc.assert(
      fc.property(
        roleSet,
        principalArb,
        fc.array(requestArb, { minLength: 1, maxLength: 6 }),
        (docs, principal, requests) => {
          const roles: TrustedRole[] = [];
          docs.forEach((statements, i) => {
            const compiled = compilePolicy(trustDocument(statements), {
              name: `trust${i}`,
              kind: 'trust',
            });
            if (!compiled.policy) return;
            roles.push({
              name: `role${i}`,
              arn: `arn:aws:iam::1:role/role${i}`,
              trust: createPolicySet({ identity: [compiled.policy] }),
            });
          });
          for (const r of requests) {
            const request = canonicalRequest({
              method: r.method,
              target: '/orders/1',
              host: 'api.example.com',
              headers: r.team === undefined ? {} : { 'x-team': r.team },
              secure: r.secure,
              sourceIp: '10.0.0.1',
              contextExtensions: r.tenant === undefined ? {} : { tenant: r.tenant },
            });
            const route = {
              action: 'a:b',
              resource: 'arn:x:::y',
              source: 'default',
              tags: { team: r.tenant ?? 'none' },
            };
            // Separate contexts: the plain call must not profit from the memoised call's cache.
            const context = () =>
              resolvingContext(requestContextResolver(request, principal, route, r.now));
            const plain = assumableRoles(roles, principal, context(), r.requested);
            const memo = memoisedAssumableRoles(roles, principal, context(), r.requested);
            expect(memo.considered.map((x) => x.name)).toEqual(plain.considered.map((x) => x.name));
            expect(memo.assumable.map((x) => x.name)).toEqual(plain.assumable.map((x) => x.name));
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('principal-only keys resolve the same for any request, route and time', () => {
    const principal: Principal = {
      kind: 'jwt',
      issuer: ISS,
      subject: 'alice',
      claims: { sub: 'alice', aud: 'api', amr: ['mfa'], iat: 1, groups: ['red'] },
      federated: [ISS],
      groups: ['red'],
      tags: { team: 'red' },
    };
    const keys = [
      ...KEYS.map((k) => k.toLowerCase()),
      'aws:tokenissuetime',
      'idp.example.com:amr',
      'http:header/x:sub',
      'aws:userid',
      'rolegate:requester',
    ];
    const memoisable = keys.filter(principalOnlyKey);
    expect(memoisable).toEqual(
      expect.arrayContaining(['jwt:groups', 'idp.example.com:sub', 'aws:principaltag/team']),
    );
    for (const k of [
      'aws:sourceip',
      'aws:currenttime',
      'http:header/x:sub',
      'envoy:context/tenant',
      'aws:resourcetag/team',
      'aws:userid',
    ]) {
      expect(principalOnlyKey(k)).toBe(false);
    }
    fc.assert(
      fc.property(requestArb, requestArb, (a, b) => {
        const resolve = (r: typeof a) =>
          requestContextResolver(
            canonicalRequest({
              method: r.method,
              target: '/x',
              host: 'h',
              headers: r.team === undefined ? {} : { 'x-team': r.team, x: 'y' },
              secure: r.secure,
              contextExtensions: r.tenant === undefined ? {} : { tenant: r.tenant },
            }),
            principal,
            {
              action: 'a:b',
              resource: 'arn:x:::y',
              source: 'default',
              tags: { team: r.tenant ?? '' },
            },
            r.now,
          );
        const ra = resolve(a);
        const rb = resolve(b);
        for (const k of memoisable) expect(ra(k)).toEqual(rb(k));
      }),
      { numRuns: 300 },
    );
  });

  it('contextKeysRead lists condition keys and policy variables, lower-cased', () => {
    const compiled = compilePolicy(
      trustDocument([
        {
          effect: 'Allow',
          conditions: [
            { op: 'StringEquals', key: 'jwt:Email', value: '${http:header/X-Team}' },
            { op: 'Null', key: 'aws:SourceIp', value: 'true' },
          ],
        },
      ]),
      { name: 't', kind: 'trust' },
    );
    expect(compiled.diagnostics).toEqual([]);
    expect(contextKeysRead(createPolicySet({ identity: [compiled.policy!] }))).toEqual([
      'aws:sourceip',
      'http:header/x-team',
      'jwt:email',
    ]);
  });
});

describe('which principals are memoised', () => {
  const compiled = compilePolicy(
    trustDocument([
      {
        effect: 'Allow',
        conditions: [{ op: 'StringEquals', key: 'jwt:sub', value: 'alice' }],
      },
    ]),
    { name: 'trust', kind: 'trust' },
  );
  const roles: TrustedRole[] = compiled.policy
    ? [
        {
          name: 'r',
          arn: 'arn:aws:iam::1:role/r',
          trust: createPolicySet({ identity: [compiled.policy] }),
        },
      ]
    : [];
  const principal = (memoise: boolean): Principal => ({
    kind: 'jwt',
    issuer: ISS,
    subject: 'alice',
    claims: { iss: ISS, sub: 'alice' },
    federated: [ISS],
    ...(memoise ? { memoise: true as const } : {}),
  });
  const request = canonicalRequest({
    method: 'GET',
    target: '/',
    host: 'api.example.com',
    headers: {},
    secure: true,
    sourceIp: '10.0.0.1',
    contextExtensions: {},
  });
  const route = { action: 'a:b', resource: 'arn:x:::y', source: 'default', tags: {} };
  const context = (p: Principal) => resolvingContext(requestContextResolver(request, p, route, 0));

  it('keeps the verdicts of a principal the cache holds', () => {
    expect(roles).toHaveLength(1);
    const p = principal(true);
    expect(memoisedAssumableRoles(roles, p, context(p)).assumable).toHaveLength(1);
    // One principal object's claims never change; changing them here shows the memo is read.
    (p.claims as Record<string, unknown>)['sub'] = 'bob';
    expect(memoisedAssumableRoles(roles, p, context(p)).assumable).toHaveLength(1);
  });

  it('evaluates a one-off principal every time, keeping nothing for it', () => {
    const p = principal(false);
    expect(memoisedAssumableRoles(roles, p, context(p)).assumable).toHaveLength(1);
    (p.claims as Record<string, unknown>)['sub'] = 'bob';
    expect(memoisedAssumableRoles(roles, p, context(p)).assumable).toHaveLength(0);
  });
});
