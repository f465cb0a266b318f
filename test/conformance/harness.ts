/**
 * Table-driven conformance harness. Each case cites the AWS IAM User Guide
 * page its expectation comes from (`doc`).
 */
import { expect } from '@jest/globals';
import {
  buildContext,
  compilePolicy,
  createPolicySet,
  evaluate,
  type CompiledPolicy,
  type ContextInput,
  type DecisionKind,
  type RequestPrincipal,
} from '../../src/policy/index.js';

const UG = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/';
export const DOCS = {
  operators: `${UG}reference_policies_elements_condition_operators.html`,
  condition: `${UG}reference_policies_elements_condition.html`,
  multivalued: `${UG}reference_policies_condition-single-vs-multi-valued-context-keys.html`,
  variables: `${UG}reference_policies_variables.html`,
  action: `${UG}reference_policies_elements_action.html`,
  notAction: `${UG}reference_policies_elements_notaction.html`,
  resource: `${UG}reference_policies_elements_resource.html`,
  notResource: `${UG}reference_policies_elements_notresource.html`,
  evaluation: `${UG}reference_policies_evaluation-logic.html`,
  boundaries: `${UG}access_policies_boundaries.html`,
  principal: `${UG}reference_policies_elements_principal.html`,
  notPrincipal: `${UG}reference_policies_elements_notprincipal.html`,
  session: `${UG}access_policies.html#policies_session`,
  scp: 'https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html',
  version: `${UG}reference_policies_elements_version.html`,
} as const;

export type Doc = (typeof DOCS)[keyof typeof DOCS];

export interface Case {
  readonly name: string;
  readonly doc: Doc;
  /** Identity (or trust, with `kind: 'resource'`) statements or a whole document. */
  readonly policy: unknown;
  readonly kind?: 'identity' | 'resource';
  readonly guardrails?: readonly unknown[];
  readonly boundary?: readonly unknown[];
  readonly session?: readonly unknown[];
  readonly action?: string;
  readonly resource?: string;
  readonly context?: ContextInput;
  readonly principal?: RequestPrincipal;
  readonly expect: DecisionKind;
}

/** Wraps statements into a 2012-10-17 document unless a document is given. */
export function doc(policy: unknown): unknown {
  if (
    typeof policy === 'object' &&
    policy !== null &&
    !Array.isArray(policy) &&
    'Statement' in policy
  )
    return policy;
  return { Version: '2012-10-17', Statement: policy };
}

function compile(
  policy: unknown,
  name: string,
  kind: 'identity' | 'resource' = 'identity',
): CompiledPolicy {
  const r = compilePolicy(doc(policy), { name, kind });
  if (r.policy === undefined)
    throw new Error(`${name} does not compile: ${JSON.stringify(r.diagnostics)}`);
  return r.policy;
}

/** Runs one case and returns the decision kind. */
export function decide(c: Case): DecisionKind {
  const set = createPolicySet({
    identity: [compile(c.policy, 'policy', c.kind)],
    ...(c.guardrails !== undefined
      ? { guardrails: c.guardrails.map((p, i) => compile(p, `guardrail[${i}]`)) }
      : {}),
    ...(c.boundary !== undefined
      ? { boundary: c.boundary.map((p, i) => compile(p, `boundary[${i}]`)) }
      : {}),
    ...(c.session !== undefined
      ? { session: c.session.map((p, i) => compile(p, `session[${i}]`)) }
      : {}),
  });
  return evaluate(set, {
    action: c.action ?? 'svc:Do',
    resource: c.resource ?? 'arn:aws:svc:us-east-1:123456789012:thing/x',
    context: buildContext(c.context ?? {}),
    ...(c.principal !== undefined ? { principal: c.principal } : {}),
  }).decision;
}

/** A case whose only question is whether one Condition block holds. */
export function cond(
  name: string,
  doc_: Doc,
  condition: Record<string, unknown>,
  context: ContextInput,
  holds: boolean,
): Case {
  return {
    name,
    doc: doc_,
    policy: [{ Effect: 'Allow', Action: 'svc:Do', Resource: '*', Condition: condition }],
    context,
    expect: holds ? 'Allow' : 'ImplicitDeny',
  };
}

/** Checks every case has a doc and runs it. */
export function check(c: Case): void {
  expect(Object.values(DOCS)).toContain(c.doc);
  expect(decide(c)).toBe(c.expect);
}
