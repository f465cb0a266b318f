/** The shipped least-privilege policy for rolegate's own role is valid and grants what the code calls. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import {
  buildContext,
  compilePolicy,
  createPolicySet,
  evaluate,
} from '../../../src/policy/index.js';

const doc = JSON.parse(
  readFileSync(new URL('../../../iam/rolegate-policy.json', import.meta.url), 'utf8'),
) as unknown;
const ROLE = 'arn:aws:iam::111122223333:role/rolegate/files-writer';

describe('iam/rolegate-policy.json', () => {
  const compiled = compilePolicy(doc, { name: 'rolegate', kind: 'identity' });
  it('compiles without errors', () => {
    expect(compiled.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it.each([
    ['iam:ListRoles', '*', {}],
    ['iam:GetRole', ROLE, {}],
    ['iam:ListRolePolicies', ROLE, {}],
    ['iam:GetRolePolicy', ROLE, {}],
    ['iam:ListAttachedRolePolicies', ROLE, {}],
    ['iam:GetPolicy', 'arn:aws:iam::111122223333:policy/boundary', {}],
    ['iam:GetPolicyVersion', 'arn:aws:iam::111122223333:policy/boundary', {}],
    ['sts:AssumeRole', ROLE, { 'sts:SourceIdentity': 'alice' }],
    ['sts:SetSourceIdentity', ROLE, {}],
    ['sts:TagSession', ROLE, { 'aws:TagKeys': ['team'] }],
  ])('allows %s', (action, resource, context) => {
    const set = createPolicySet({ identity: compiled.policy ? [compiled.policy] : [] });
    expect(evaluate(set, { action, resource, context: buildContext(context) }).decision).toBe(
      'Allow',
    );
  });

  it.each([
    ['iam:PutRolePolicy', ROLE, {}],
    ['iam:GetRole', 'arn:aws:iam::111122223333:role/admin', {}],
    ['sts:AssumeRole', ROLE, {}],
    ['sts:TagSession', ROLE, { 'aws:TagKeys': ['team', 'admin'] }],
  ])('does not allow %s on %s', (action, resource, context) => {
    const set = createPolicySet({ identity: compiled.policy ? [compiled.policy] : [] });
    expect(evaluate(set, { action, resource, context: buildContext(context) }).decision).not.toBe(
      'Allow',
    );
  });
});
