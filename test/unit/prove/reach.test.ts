import { describe, expect, it } from '@jest/globals';
import { compilePolicy, createPolicySet } from '../../../src/policy/index.js';
import type { CompiledPolicy } from '../../../src/policy/types.js';
import type { CompiledRole } from '../../../src/generation/compiled-config.js';
import { entityReach, roleReach } from '../../../src/prove/reach.js';
import type { RouteConfig } from '../../../src/route/options.js';

type Statement = Record<string, unknown>;

function policy(name: string, statements: Statement[]): CompiledPolicy {
  const result = compilePolicy(
    { Version: '2012-10-17', Statement: statements },
    { name, kind: 'identity' },
  );
  if (result.policy === undefined) throw new Error(JSON.stringify(result.diagnostics));
  return result.policy;
}

function role(
  name: string,
  layers: { identity: Statement[]; guardrail?: Statement[]; boundary?: Statement[] },
): CompiledRole {
  const trust = compilePolicy(
    {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRoleWithWebIdentity' }],
    },
    { name: `${name}/trust`, kind: 'trust' },
  ).policy as CompiledPolicy;
  return {
    name,
    arn: `arn:rolegate:iam:::role/${name}`,
    trust: createPolicySet({ identity: [trust] }),
    permissions: createPolicySet({
      identity: [policy(`${name}-policy`, layers.identity)],
      ...(layers.guardrail ? { guardrails: [policy('guardrail', layers.guardrail)] } : {}),
      ...(layers.boundary ? { boundary: [policy(`${name}/boundary`, layers.boundary)] } : {}),
    }),
  };
}

const ACTION = 'payments:Write';
const RESOURCE = 'arn:rolegate:payments:::payment/x';
const TAGS = { owner: 'group:default/payments', system: 'payments', lifecycle: 'production' };
const allowWrite = (extra: Statement = {}): Statement => ({
  Effect: 'Allow',
  Action: 'payments:*',
  Resource: 'arn:rolegate:payments:::payment/*',
  ...extra,
});

describe('roleReach', () => {
  it.each([
    ['an unconditional Allow', { identity: [allowWrite()] }, 'allowed'],
    [
      'an Allow on the caller’s ownership refs (jwt:ent)',
      {
        identity: [
          allowWrite({
            Condition: { 'ForAnyValue:StringEquals': { 'jwt:ent': '${aws:ResourceTag/owner}' } },
          }),
        ],
      },
      'conditional',
    ],
    [
      'an Allow on the source address',
      { identity: [allowWrite({ Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } })] },
      'conditional',
    ],
    [
      'an Allow on a principal tag',
      {
        identity: [
          allowWrite({
            Condition: { StringEquals: { 'aws:PrincipalTag/team': 'payments' } },
          }),
        ],
      },
      'conditional',
    ],
    [
      'an Allow whose resource tag matches the entity',
      {
        identity: [
          allowWrite({
            Condition: { StringEquals: { 'aws:ResourceTag/lifecycle': 'production' } },
          }),
        ],
      },
      'allowed',
    ],
    [
      'an Allow whose resource tag does not match the entity',
      {
        identity: [
          allowWrite({ Condition: { StringEquals: { 'aws:ResourceTag/system': 'ledger' } } }),
        ],
      },
      undefined,
    ],
    [
      'an explicit Deny in a guardrail',
      {
        identity: [allowWrite()],
        guardrail: [
          { Effect: 'Allow', Action: '*', Resource: '*' },
          { Effect: 'Deny', Action: 'payments:Write', Resource: '*' },
        ],
      },
      undefined,
    ],
    [
      'a guardrail Deny only from some addresses',
      {
        identity: [allowWrite()],
        guardrail: [
          { Effect: 'Allow', Action: '*', Resource: '*' },
          {
            Effect: 'Deny',
            Action: 'payments:Write',
            Resource: '*',
            Condition: { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
          },
        ],
      },
      'conditional',
    ],
    [
      'a boundary that excludes the action',
      {
        identity: [allowWrite()],
        boundary: [{ Effect: 'Allow', Action: 'payments:Read', Resource: '*' }],
      },
      undefined,
    ],
    [
      'a boundary that allows it',
      {
        identity: [allowWrite()],
        boundary: [{ Effect: 'Allow', Action: 'payments:*', Resource: '*' }],
      },
      'allowed',
    ],
    [
      'no statement for the action',
      { identity: [{ Effect: 'Allow', Action: 'ledger:*', Resource: '*' }] },
      undefined,
    ],
  ] as const)('%s', (_name, layers, expected) => {
    const r = role('r', {
      identity: [...layers.identity],
      ...('guardrail' in layers ? { guardrail: [...layers.guardrail] } : {}),
      ...('boundary' in layers ? { boundary: [...layers.boundary] } : {}),
    });
    expect(roleReach(r, ACTION, RESOURCE, TAGS)).toBe(expected);
  });
});

describe('entityReach', () => {
  const route = (i: number, entity: string | undefined): RouteConfig => ({
    method: 'POST',
    path: '/payments/{id}',
    action: ACTION,
    resource: 'arn:rolegate:payments:::payment/{id}',
    tags: {},
    ...(entity === undefined ? {} : { entity }),
    jsonPath: `$.routes[${i}]`,
  });
  const roles = [
    role('payments-developer', {
      identity: [
        allowWrite({
          Condition: { 'ForAnyValue:StringEquals': { 'jwt:ent': '${aws:ResourceTag/owner}' } },
        }),
      ],
    }),
    role('payments-admin', { identity: [allowWrite()] }),
    role('ledger-reader', { identity: [{ Effect: 'Allow', Action: 'ledger:*', Resource: '*' }] }),
  ];

  it('lists the routes naming the entity and the roles that reach each, in role order', () => {
    const routes = [
      route(0, undefined),
      route(1, 'component:default/other'),
      route(2, 'component:default/payments-api'),
    ];
    expect(entityReach(roles, routes, 'component:default/payments-api', TAGS)).toEqual([
      {
        route: '$.routes[2]',
        method: 'POST',
        path: '/payments/{id}',
        action: ACTION,
        resource: 'arn:rolegate:payments:::payment/{id}',
        roles: [
          { role: 'payments-developer', reach: 'conditional' },
          { role: 'payments-admin', reach: 'allowed' },
        ],
      },
    ]);
  });

  it('has no routes for an entity no route names', () => {
    expect(
      entityReach(roles, [route(0, 'component:default/a')], 'component:default/b', TAGS),
    ).toEqual([]);
  });
});
