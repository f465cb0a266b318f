/** Property tests (fast-check) and fuzzing of the parser and compiler. */
import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { ERROR_CATALOGUE } from '../../../src/errors.js';
import {
  buildContext,
  compilePolicy,
  createPolicySet,
  evaluate,
  parsePolicyText,
  type CompiledPolicy,
  type Decision,
} from '../../../src/policy/index.js';

const services = ['s3', 'sqs', 'ec2'];
const names = ['GetObject', 'PutObject', 'List', 'Get', 'Send'];
const actionArb = fc
  .tuple(fc.constantFrom(...services), fc.constantFrom(...names))
  .map(([s, n]) => `${s}:${n}`);
const patternArb = fc.oneof(
  actionArb,
  fc.constantFrom(...services).map((s) => `${s}:*`),
  fc
    .tuple(fc.constantFrom(...services), fc.constantFrom('Get*', 'P?tObject', '*Object'))
    .map(([s, p]) => `${s}:${p}`),
  fc.constant('*'),
);
const resourceArb = fc.constantFrom(
  '*',
  'arn:aws:s3:::b/*',
  'arn:aws:s3:::b/k',
  'arn:aws:*:*:*:*',
  'arn:aws:s3:::other/*',
);
const conditionArb = fc.option(
  fc.constantFrom(
    { StringEquals: { 'aws:username': 'bob' } },
    { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
    { NumericLessThan: { 'app:n': 5 } },
    { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['a'] } },
    { StringNotEqualsIfExists: { 'aws:username': 'eve' } },
  ),
  { nil: undefined },
);
const statementArb = fc
  .record({
    effect: fc.constantFrom('Allow', 'Deny'),
    not: fc.boolean(),
    actions: fc.array(patternArb, { minLength: 1, maxLength: 3 }),
    resources: fc.array(resourceArb, { minLength: 1, maxLength: 2 }),
    condition: conditionArb,
  })
  .map((s) => ({
    Effect: s.effect,
    [s.not ? 'NotAction' : 'Action']: s.actions,
    Resource: s.resources,
    ...(s.condition !== undefined ? { Condition: s.condition } : {}),
  }));
const requestArb = fc.record({
  action: actionArb,
  resource: fc.constantFrom('arn:aws:s3:::b/k', 'arn:aws:s3:::other/x', 'arn:aws:sqs:r:1:q'),
  username: fc.constantFrom('bob', 'eve', undefined),
  ip: fc.constantFrom('10.1.1.1', '8.8.8.8'),
  n: fc.integer({ min: 0, max: 10 }),
  tags: fc.constantFrom([], ['a'], ['b', 'a']),
});

function compile(statements: unknown[], name = 'p'): CompiledPolicy {
  const r = compilePolicy({ Version: '2012-10-17', Statement: statements }, { name });
  if (r.policy === undefined) throw new Error(JSON.stringify(r.diagnostics));
  return r.policy;
}

interface Req {
  action: string;
  resource: string;
  username: string | undefined;
  ip: string;
  n: number;
  tags: readonly string[];
}

function decide(policies: CompiledPolicy[], r: Req): Decision {
  return evaluate(createPolicySet({ identity: policies }), toReq(r));
}

function toReq(r: Req) {
  return {
    action: r.action,
    resource: r.resource,
    context: buildContext({
      'aws:username': r.username,
      'aws:SourceIp': r.ip,
      'app:n': r.n,
      'aws:TagKeys': r.tags,
    }),
  };
}

const key = (d: Decision): string =>
  JSON.stringify([d.decision, [...d.determining].map((x) => JSON.stringify(x)).sort()]);

describe('properties', () => {
  it('an applicable explicit Deny always wins', () => {
    fc.assert(
      fc.property(
        fc.array(statementArb, { minLength: 1, maxLength: 6 }),
        requestArb,
        (stmts, req) => {
          const deny = { Sid: 'TheDeny', Effect: 'Deny', Action: req.action, Resource: '*' };
          const d = decide([compile([...stmts, deny])], req);
          expect(d.decision).toBe('ExplicitDeny');
          expect(d.determining).toContainEqual({
            layer: 'identity',
            effect: 'Deny',
            policy: 'p',
            statement: 'TheDeny',
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('Action and NotAction with the same list never both match', () => {
    fc.assert(
      fc.property(
        fc.array(patternArb, { minLength: 1, maxLength: 4 }),
        actionArb,
        (list, action) => {
          const set = createPolicySet({
            identity: [
              compile([
                { Sid: 'A', Effect: 'Allow', Action: list, Resource: '*' },
                { Sid: 'N', Effect: 'Allow', NotAction: list, Resource: '*' },
              ]),
            ],
          });
          const d = evaluate(set, { action, resource: '*', context: buildContext({}) });
          // Exactly one of the two statements applies.
          expect(d.decision).toBe('Allow');
          expect(d.determining).toHaveLength(1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('evaluation is deterministic and independent of statement and policy order', () => {
    fc.assert(
      fc.property(
        fc.array(statementArb, { minLength: 1, maxLength: 8 }),
        requestArb,
        fc.func(fc.integer()),
        (stmts, req, order) => {
          const sids = stmts.map((s, i) => ({ ...s, Sid: `S${i}` }));
          const shuffled = [...sids].sort(
            (a, b) => order(a.Sid) - order(b.Sid) || a.Sid.localeCompare(b.Sid),
          );
          const half = Math.ceil(shuffled.length / 2);
          const d1 = decide([compile(sids)], req);
          const d2 = decide([compile(sids)], req);
          const d3 = decide([compile(shuffled)], req);
          expect(key(d2)).toBe(key(d1));
          expect(key(d3)).toBe(key(d1));
          // Splitting into two policies in either order: same decision.
          const a = compile(shuffled.slice(0, half), 'p');
          const b = compile(
            shuffled.slice(half).length > 0
              ? shuffled.slice(half)
              : [{ Effect: 'Deny', Action: 'none:None', Resource: '*' }],
            'p',
          );
          expect(decide([a, b], req).decision).toBe(decide([b, a], req).decision);
          expect(decide([a, b], req).decision).toBe(d1.decision);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('fuzz', () => {
  const codes = new Set(Object.keys(ERROR_CATALOGUE));
  const checkDiagnostics = (r: {
    diagnostics: readonly { code: string; path: string; policy: string }[];
  }): void => {
    for (const d of r.diagnostics) {
      expect(codes.has(d.code)).toBe(true);
      expect(d.path.startsWith('$')).toBe(true);
      expect(d.policy).toBe('fuzz');
    }
  };

  it('random JSON values give only catalogue diagnostics, never an exception', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        checkDiagnostics(compilePolicy(v, { name: 'fuzz' }));
        checkDiagnostics(
          compilePolicy(
            { Version: '2012-10-17', Statement: v },
            { name: 'fuzz', kind: 'resource' },
          ),
        );
        checkDiagnostics(parsePolicyText(JSON.stringify(v) ?? 'null', { name: 'fuzz' }));
      }),
      { numRuns: 500 },
    );
  });

  it('random text gives only catalogue diagnostics', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const r = parsePolicyText(text, { name: 'fuzz' });
        checkDiagnostics(r);
        if (r.document !== undefined) checkDiagnostics(compilePolicy(r.document, { name: 'fuzz' }));
      }),
      { numRuns: 500 },
    );
  });

  const valid = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'A',
        Effect: 'Allow',
        Action: ['s3:Get*'],
        Resource: ['arn:aws:s3:::b/${aws:username}/*'],
        Condition: {
          IpAddress: { 'aws:SourceIp': ['10.0.0.0/8'] },
          'ForAnyValue:StringLike': { 'aws:TagKeys': ['a*'] },
          DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' },
        },
      },
      { Effect: 'Deny', NotAction: 'iam:*', NotResource: '*', Principal: { AWS: '123456789012' } },
    ],
  };

  /** Replaces one node (chosen by index) of a JSON value with another value. */
  function mutate(v: unknown, target: number, replacement: unknown): unknown {
    let n = 0;
    const walk = (x: unknown): unknown => {
      if (n++ === target) return replacement;
      if (Array.isArray(x)) return x.map(walk);
      if (typeof x === 'object' && x !== null)
        return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)]));
      return x;
    };
    return walk(v);
  }

  it('mutated valid policies give only catalogue diagnostics and evaluate without throwing', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 40 }),
        fc.oneof(
          fc.jsonValue(),
          fc.string(),
          fc.constantFrom('${', '${aws:username', '*', '', 'arn:aws', '::/0', 'Deny', []),
        ),
        fc.constantFrom('identity' as const, 'resource' as const),
        (target, replacement, kind) => {
          const r = compilePolicy(mutate(valid, target, replacement), { name: 'fuzz', kind });
          checkDiagnostics(r);
          expect(r.policy === undefined).toBe(r.diagnostics.some((d) => d.severity === 'error'));
          // A policy that compiles evaluates to one of the three decisions.
          const decision =
            r.policy === undefined
              ? 'refused'
              : evaluate(createPolicySet({ identity: [r.policy] }), {
                  action: 's3:GetObject',
                  resource: 'arn:aws:s3:::b/bob/k',
                  context: buildContext({
                    'aws:username': 'bob',
                    'aws:SourceIp': '10.0.0.1',
                    'aws:TagKeys': ['ab'],
                  }),
                  principal: { AWS: ['123456789012'] },
                }).decision;
          expect(['Allow', 'ExplicitDeny', 'ImplicitDeny', 'refused']).toContain(decision);
        },
      ),
      { numRuns: 500 },
    );
  });
});
