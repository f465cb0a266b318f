/**
 * The IRSA trust policies of docs/eks.md (examples/eks/*-trust-policy.json)
 * admit exactly the service account they name, evaluated by rolegate's
 * engine the way STS evaluates them. billing-irsa-trust-policy.json is also
 * the trust policy of the service-account e2e test (test/e2e/identity.test.ts).
 */
import { readFileSync } from 'node:fs';

import { describe, expect, it } from '@jest/globals';

import {
  buildContext,
  compilePolicy,
  createPolicySet,
  evaluate,
} from '../../../src/policy/index.js';

const ISSUER = 'oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';
const PROVIDER = `arn:aws:iam::111122223333:oidc-provider/${ISSUER}`;

function decide(file: string, role: string, sub: string, aud = 'sts.amazonaws.com'): string {
  const doc = JSON.parse(
    readFileSync(new URL(`../../../examples/eks/${file}`, import.meta.url), 'utf8'),
  ) as unknown;
  const compiled = compilePolicy(doc, { name: file, kind: 'trust' });
  expect(compiled.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const set = createPolicySet({ identity: compiled.policy ? [compiled.policy] : [] });
  return evaluate(set, {
    action: 'sts:AssumeRoleWithWebIdentity',
    resource: role,
    principal: { Federated: [PROVIDER] },
    context: buildContext({ [`${ISSUER}:sub`]: sub, [`${ISSUER}:aud`]: aud }),
  }).decision;
}

describe('EKS IRSA trust policies', () => {
  it.each([
    [
      'rolegate-role-trust-policy.json',
      'arn:aws:iam::111122223333:role/rolegate',
      'system:serviceaccount:rolegate:rolegate',
    ],
    [
      'billing-irsa-trust-policy.json',
      'arn:aws:iam::111122223333:role/rolegate/billing-irsa',
      'system:serviceaccount:orders:billing',
    ],
  ])('%s admits %s only for its service account and audience', (file, role, sub) => {
    expect(decide(file, role, sub)).toBe('Allow');
    expect(decide(file, role, 'system:serviceaccount:orders:frontend')).not.toBe('Allow');
    expect(decide(file, role, sub, 'orders-api')).not.toBe('Allow');
  });
});
