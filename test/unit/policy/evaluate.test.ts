import { describe, it, expect } from '@jest/globals';
import {
  buildContext,
  compilePolicy,
  createPolicySet,
  evaluate,
  type CompiledPolicy,
  type ContextInput,
  type PolicySet,
} from '../../../src/policy/index.js';

function pol(
  name: string,
  statements: unknown[],
  kind: 'identity' | 'resource' = 'identity',
): CompiledPolicy {
  const r = compilePolicy({ Version: '2012-10-17', Statement: statements }, { name, kind });
  if (r.policy === undefined) throw new Error(JSON.stringify(r.diagnostics));
  return r.policy;
}

function run(
  set: PolicySet,
  action: string,
  resource = 'arn:aws:s3:::b/k',
  context: ContextInput = {},
) {
  return evaluate(set, { action, resource, context: buildContext(context) });
}

describe('evaluate: determining', () => {
  const read = pol('read', [
    { Sid: 'Get', Effect: 'Allow', Action: 's3:GetObject', Resource: '*' },
    { Sid: 'All', Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::b/*' },
  ]);
  const guard = pol('guard', [
    {
      Sid: 'Any',
      Effect: 'Allow',
      Action: '*',
      Resource: '*',
      Condition: { Bool: { 'aws:SecureTransport': 'true' } },
    },
    { Sid: 'NoDelete', Effect: 'Deny', Action: 's3:Delete*', Resource: '*' },
  ]);
  const deny2 = pol('deny2', [{ Effect: 'Deny', NotAction: 's3:Get*', Resource: '*' }]);

  it('lists every matching Allow of every layer, in layer order', () => {
    const set = createPolicySet({ identity: [read], guardrails: [guard] });
    expect(run(set, 's3:GetObject', 'arn:aws:s3:::b/k', { 'aws:SecureTransport': true })).toEqual({
      decision: 'Allow',
      determining: [
        { layer: 'guardrail', effect: 'Allow', policy: 'guard', statement: 'Any' },
        { layer: 'identity', effect: 'Allow', policy: 'read', statement: 'Get' },
        { layer: 'identity', effect: 'Allow', policy: 'read', statement: 'All' },
      ],
      errors: [],
    });
  });

  it('lists every matching Deny and nothing else for an explicit deny', () => {
    const set = createPolicySet({ identity: [read, deny2], guardrails: [guard] });
    const d = run(set, 's3:DeleteObject', 'arn:aws:s3:::b/k', { 'aws:SecureTransport': true });
    expect(d.decision).toBe('ExplicitDeny');
    expect(d.determining).toEqual([
      { layer: 'guardrail', effect: 'Deny', policy: 'guard', statement: 'NoDelete' },
      { layer: 'identity', effect: 'Deny', policy: 'deny2', statement: '#0' },
    ]);
  });

  it('names each layer that failed to allow', () => {
    const set = createPolicySet({
      identity: [read],
      guardrails: [guard],
      boundary: [pol('b', [{ Effect: 'Allow', Action: 'sqs:*', Resource: '*' }])],
    });
    expect(run(set, 's3:GetObject').determining).toEqual([
      { layer: 'guardrail', effect: 'ImplicitDeny' },
      { layer: 'boundary', effect: 'ImplicitDeny' },
    ]);
    expect(run(set, 'ec2:RunInstances', 'x').determining).toEqual([
      { layer: 'guardrail', effect: 'ImplicitDeny' },
      { layer: 'identity', effect: 'ImplicitDeny' },
      { layer: 'boundary', effect: 'ImplicitDeny' },
    ]);
  });

  it('an empty identity layer denies implicitly; empty optional layers are not applied', () => {
    const set = createPolicySet({ identity: [], guardrails: [], boundary: [], session: [] });
    expect(run(set, 's3:GetObject')).toEqual({
      decision: 'ImplicitDeny',
      determining: [{ layer: 'identity', effect: 'ImplicitDeny' }],
      errors: [],
    });
    expect(createPolicySet({ identity: [read], boundary: [] }).statementCount).toBe(2);
    expect(run(createPolicySet({ identity: [read], boundary: [] }), 's3:GetObject').decision).toBe(
      'Allow',
    );
  });

  it('returns evaluation errors with the statement that met them', () => {
    const p = pol('n', [
      {
        Sid: 'Size',
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: '*',
        Condition: { NumericLessThan: { 'app:size': 10 } },
      },
    ]);
    const d = run(createPolicySet({ identity: [p] }), 's3:PutObject', 'arn:aws:s3:::b/k', {
      'app:size': 'big',
    });
    expect(d.decision).toBe('ImplicitDeny');
    expect(d.errors).toEqual([
      {
        code: 'ERR_CONTEXT_VALUE_TYPE',
        message: expect.stringContaining('big'),
        policy: 'n',
        statement: 'Size',
      },
    ]);
  });
});

describe('evaluate: indexing gives the same answers as a scan', () => {
  const stmts = [
    { Sid: 'Exact', Effect: 'Allow', Action: 's3:GetObject', Resource: '*' },
    { Sid: 'Prefix', Effect: 'Allow', Action: ['s3:Put*', 's3:PutObject'], Resource: '*' },
    { Sid: 'Mid', Effect: 'Allow', Action: 'sqs:*Message', Resource: '*' },
    { Sid: 'Generic', Effect: 'Allow', Action: 'sns:P?b*sh', Resource: '*' },
    { Sid: 'Not', Effect: 'Deny', NotAction: ['s3:*', 'sqs:*', 'sns:*'], Resource: '*' },
    { Sid: 'DenyOne', Effect: 'Deny', Action: 'S3:putobjectACL', Resource: '*' },
  ];
  const set = createPolicySet({ identity: [pol('p', stmts)] });
  it.each([
    ['s3:GetObject', 'Allow', ['Exact']],
    ['S3:GETOBJECT', 'Allow', ['Exact']],
    ['s3:PutObject', 'Allow', ['Prefix']],
    ['s3:PutObjectAcl', 'ExplicitDeny', ['DenyOne']],
    ['s3:DeleteObject', 'ImplicitDeny', []],
    ['sqs:SendMessage', 'Allow', ['Mid']],
    ['sns:Publish', 'Allow', ['Generic']],
    ['ec2:RunInstances', 'ExplicitDeny', ['Not']],
    ['noservice', 'ExplicitDeny', ['Not']],
  ])('%s -> %s', (action, decision, sids) => {
    for (let i = 0; i < 2; i++) {
      // twice: the second answer comes from the per-set memo
      const d = run(set, action);
      expect(d.decision).toBe(decision);
      expect(
        d.determining.filter((x) => x.statement !== undefined).map((x) => x.statement),
      ).toEqual(sids);
    }
  });
});

describe('evaluate: trust policies', () => {
  it('matches the request principal', () => {
    const trust = pol(
      'trust',
      [
        {
          Effect: 'Allow',
          Principal: { Federated: 'idp' },
          Action: 'sts:AssumeRoleWithWebIdentity',
        },
      ],
      'resource',
    );
    const set = createPolicySet({ identity: [trust] });
    const req = {
      action: 'sts:AssumeRoleWithWebIdentity',
      resource: 'arn:aws:iam::1:role/r',
      context: buildContext({}),
    };
    expect(evaluate(set, { ...req, principal: { Federated: ['idp'] } }).decision).toBe('Allow');
    expect(evaluate(set, { ...req, principal: { Federated: ['other'] } }).decision).toBe(
      'ImplicitDeny',
    );
    expect(evaluate(set, req).decision).toBe('ImplicitDeny');
  });
});

describe('evaluate: inputs', () => {
  it('refuses policies and sets it did not make', () => {
    expect(() =>
      createPolicySet({
        identity: [{ name: 'x', kind: 'identity', statementCount: 0, variables: [] }],
      }),
    ).toThrow(TypeError);
    expect(() =>
      evaluate({ statementCount: 0 }, { action: 'a:b', resource: '*', context: buildContext({}) }),
    ).toThrow(TypeError);
  });
});

describe('evaluate: memo', () => {
  it('gives the same answers after the action memo is full', () => {
    const p = pol('p', [
      { Sid: 'Exact', Effect: 'Allow', Action: 'svc:Read', Resource: '*' },
      { Sid: 'Wild', Effect: 'Allow', Action: 'svc:Get*', Resource: '*' },
      { Sid: 'Deny', Effect: 'Deny', Action: 'svc:GetSecret*', Resource: '*' },
      { Sid: 'Other', Effect: 'Allow', NotAction: 'svc:*', Resource: '*' },
    ]);
    const full = createPolicySet({ identity: [p] });
    for (let i = 0; i < 20_100; i++) run(full, `filler:Action${i}`);
    const fresh = (): PolicySet => createPolicySet({ identity: [p] });
    for (const action of [
      'svc:Read',
      'SVC:READ',
      'svc:GetThing',
      'svc:GetSecretX',
      'svc:Put',
      'ec2:Run',
    ]) {
      expect(run(full, action)).toEqual(run(fresh(), action));
    }
    expect(run(full, 'SVC:READ').decision).toBe('Allow');
    expect(run(full, 'svc:GetSecretX').decision).toBe('ExplicitDeny');
    expect(run(full, 'svc:Put').decision).toBe('ImplicitDeny');
  });
});
