import { it, expect } from '@jest/globals';
import { compilePolicy, createPolicySet, buildContext, evaluate } from '../../../src/policy/index.js';
it('smoke', () => {
  const r = compilePolicy({ Version: '2012-10-17', Statement: [
    { Sid: 'A', Effect: 'Allow', Action: 's3:Get*', Resource: 'arn:aws:s3:::b/${aws:username}/*', Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } },
    { Sid: 'D', Effect: 'Deny', Action: 's3:GetSecret', Resource: '*' },
  ]}, { name: 'p' });
  expect(r.diagnostics).toEqual([]);
  const set = createPolicySet({ identity: [r.policy!] });
  const ctx = buildContext({ 'AWS:username': 'bob', 'aws:SourceIp': '10.1.2.3' });
  expect(evaluate(set, { action: 's3:GetObject', resource: 'arn:aws:s3:::b/bob/x', context: ctx }).decision).toBe('Allow');
  expect(evaluate(set, { action: 's3:GetObject', resource: 'arn:aws:s3:::b/alice/x', context: ctx }).decision).toBe('ImplicitDeny');
  expect(evaluate(set, { action: 's3:getsecret', resource: 'arn:aws:s3:::b/bob/x', context: ctx })).toMatchObject({decision:'ExplicitDeny'});
});
