import { describe, expect, it } from '@jest/globals';
import {
  buildContext,
  compilePolicy,
  createPolicySet,
  evaluate,
  explainRequest,
  type CompiledPolicy,
  type ContextInput,
  type DecisionExplanation,
  type EvaluateOptions,
  type PolicySetInput,
} from '../../../src/policy/index.js';

function pol(
  name: string,
  statements: unknown[],
  kind: 'identity' | 'resource' | 'trust' = 'identity',
) {
  const r = compilePolicy({ Version: '2012-10-17', Statement: statements }, { name, kind });
  if (r.policy === undefined) throw new Error(JSON.stringify(r.diagnostics));
  return r.policy as CompiledPolicy;
}

const read = pol('read', [
  { Sid: 'Get', Effect: 'Allow', Action: 'orders:Get*', Resource: 'arn:rolegate:orders:::order/*' },
  {
    Sid: 'FromOffice',
    Effect: 'Allow',
    Action: 'orders:*',
    Resource: '*',
    Condition: {
      IpAddress: { 'aws:SourceIp': '10.0.0.0/8' },
      StringEquals: { 'jwt:Team': 'ops' },
    },
  },
  { Effect: 'Allow', Action: 'billing:*', Resource: '*' },
]);
const guard = pol('guard', [
  {
    Sid: 'Tls',
    Effect: 'Allow',
    Action: '*',
    Resource: '*',
    Condition: { Bool: { 'aws:SecureTransport': 'true' } },
  },
  {
    Sid: 'NoDelete',
    Effect: 'Deny',
    Action: 'orders:Delete*',
    Resource: '*',
    Condition: { Null: { 'jwt:admin': 'true' } },
  },
]);
const boundary = pol('edge', [
  { Sid: 'OnlyGet', Effect: 'Allow', Action: 'orders:GetOrder', Resource: 'arn:other:orders:::*' },
]);
const trust = pol(
  'trust',
  [
    {
      Sid: 'Idp',
      Effect: 'Allow',
      Action: 'sts:AssumeRoleWithWebIdentity',
      Principal: { Federated: 'https://idp' },
      Condition: { 'ForAnyValue:StringEquals': { 'idp:groups': ['readers'] } },
    },
  ],
  'trust',
);

interface Case {
  readonly name: string;
  readonly layers: PolicySetInput;
  readonly action: string;
  readonly context: ContextInput;
  readonly principal?: Readonly<Record<string, readonly string[]>>;
  readonly decision: 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';
  readonly explanation: DecisionExplanation;
}

const RESOURCE = 'arn:rolegate:orders:::order/42';
const CASES: readonly Case[] = [
  {
    name: 'implicit deny across layers: the boundary statement fails on its Resource, a guardrail condition key is missing',
    layers: { identity: [read], guardrails: [guard], boundary: [boundary] },
    action: 'orders:GetOrder',
    context: { 'jwt:admin': 'yes', 'aws:SourceIp': '10.1.2.3' },
    decision: 'ImplicitDeny',
    explanation: {
      statements: [
        {
          layer: 'guardrail',
          policy: 'guard',
          statement: 'Tls',
          effect: 'Allow',
          matched: false,
          failed: { element: 'Condition', operator: 'Bool', key: 'aws:SecureTransport' },
        },
        { layer: 'identity', policy: 'read', statement: 'Get', effect: 'Allow', matched: true },
        {
          layer: 'identity',
          policy: 'read',
          statement: 'FromOffice',
          effect: 'Allow',
          matched: false,
          failed: { element: 'Condition', operator: 'StringEquals', key: 'jwt:Team' },
        },
        {
          layer: 'boundary',
          policy: 'edge',
          statement: 'OnlyGet',
          effect: 'Allow',
          matched: false,
          failed: { element: 'Resource' },
        },
      ],
      missingContextValues: ['aws:SecureTransport', 'jwt:Team'],
    },
  },
  {
    name: 'explicit deny: the Deny statement matched (Null tests absence, so its key is not missing); the allows are still listed',
    layers: { identity: [read], guardrails: [guard] },
    action: 'orders:DeleteOrder',
    context: { 'aws:SecureTransport': true, 'aws:SourceIp': '10.1.2.3', 'jwt:team': 'ops' },
    decision: 'ExplicitDeny',
    explanation: {
      statements: [
        { layer: 'guardrail', policy: 'guard', statement: 'Tls', effect: 'Allow', matched: true },
        {
          layer: 'guardrail',
          policy: 'guard',
          statement: 'NoDelete',
          effect: 'Deny',
          matched: true,
        },
        {
          layer: 'identity',
          policy: 'read',
          statement: 'FromOffice',
          effect: 'Allow',
          matched: true,
        },
      ],
      missingContextValues: [],
    },
  },
  {
    name: 'an unnamed statement is named by its index; a statement for another action is not listed',
    layers: { identity: [read] },
    action: 'billing:Pay',
    context: {},
    decision: 'Allow',
    explanation: {
      statements: [
        { layer: 'identity', policy: 'read', statement: '#2', effect: 'Allow', matched: true },
      ],
      missingContextValues: [],
    },
  },
  {
    name: 'trust: the principal is another issuer: Principal failed, its condition keys are not reported',
    layers: { identity: [trust] },
    action: 'sts:AssumeRoleWithWebIdentity',
    principal: { Federated: ['https://other'] },
    context: {},
    decision: 'ImplicitDeny',
    explanation: {
      statements: [
        {
          layer: 'identity',
          policy: 'trust',
          statement: 'Idp',
          effect: 'Allow',
          matched: false,
          failed: { element: 'Principal' },
        },
      ],
      missingContextValues: [],
    },
  },
  {
    name: 'trust: the right issuer without the groups claim: the condition key fails and is missing',
    layers: { identity: [trust] },
    action: 'sts:AssumeRoleWithWebIdentity',
    principal: { Federated: ['https://idp'] },
    context: { 'idp:sub': 'alice' },
    decision: 'ImplicitDeny',
    explanation: {
      statements: [
        {
          layer: 'identity',
          policy: 'trust',
          statement: 'Idp',
          effect: 'Allow',
          matched: false,
          failed: {
            element: 'Condition',
            operator: 'ForAnyValue:StringEquals',
            key: 'idp:groups',
          },
        },
      ],
      missingContextValues: ['idp:groups'],
    },
  },
];

describe('evaluate with explain', () => {
  it.each(CASES)('$name', (c) => {
    const set = createPolicySet(c.layers);
    const req = {
      action: c.action,
      resource: RESOURCE,
      context: buildContext(c.context),
      ...(c.principal ? { principal: c.principal } : {}),
    };
    const decision = evaluate(set, req, { explain: 'always' });
    expect(decision.decision).toBe(c.decision);
    expect(decision.explanation).toEqual(c.explanation);
    // The explanation is a pure function of the set and the request.
    expect(explainRequest(set, req)).toEqual(c.explanation);
    // Explaining never changes the decision itself.
    const { explanation: _ignored, ...plain } = decision;
    expect(evaluate(set, req)).toEqual(plain);
  });

  const modes: readonly [EvaluateOptions | undefined, boolean, boolean][] = [
    [undefined, false, false],
    [{ explain: 'never' }, false, false],
    [{ explain: 'deny' }, false, true],
    [{ explain: 'always' }, true, true],
  ];
  it.each(modes)('options %j: explains an allow %s, a deny %s', (options, onAllow, onDeny) => {
    const set = createPolicySet({ identity: [read] });
    const at = (action: string) =>
      evaluate(set, { action, resource: RESOURCE, context: buildContext({}) }, options);
    const allow = at('orders:GetOrder');
    const deny = at('orders:PutOrder');
    expect(allow.decision).toBe('Allow');
    expect(deny.decision).toBe('ImplicitDeny');
    expect(allow.explanation !== undefined).toBe(onAllow);
    expect(deny.explanation !== undefined).toBe(onDeny);
  });

  it('reports a missing key once, as first written, however many statements read it', () => {
    const twice = pol('twice', [
      {
        Effect: 'Allow',
        Action: 'a:B',
        Resource: '*',
        Condition: { StringEquals: { 'Jwt:X': 'v' } },
      },
      {
        Effect: 'Allow',
        Action: 'a:B',
        Resource: '*',
        Condition: { StringLike: { 'jwt:x': 'v*' } },
      },
      {
        Effect: 'Allow',
        Action: 'a:B',
        Resource: '*',
        Condition: { StringEqualsIfExists: { 'jwt:y': 'v' } },
      },
    ]);
    const d = evaluate(
      createPolicySet({ identity: [twice] }),
      { action: 'a:B', resource: RESOURCE, context: buildContext({}) },
      { explain: 'always' },
    );
    expect(d.decision).toBe('Allow');
    expect(d.explanation?.missingContextValues).toEqual(['Jwt:X', 'jwt:y']);
    expect(d.explanation?.statements.map((s) => s.matched)).toEqual([false, false, true]);
  });
});
