/**
 * Table-driven conformance harness. Each case cites the AWS IAM User Guide
 * page its expectation comes from (`doc`).
 */
import { expect } from '@jest/globals';
import type { ErrorCode } from '../../src/errors.js';
import {
  buildContext,
  compilePolicy,
  createPolicySet,
  evaluate,
  type CompiledPolicy,
  type ContextInput,
  type Decision,
  type DecisionKind,
  type RequestPrincipal,
} from '../../src/policy/index.js';

const UG = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/';
export const DOCS = {
  operators: `${UG}reference_policies_elements_condition_operators.html`,
  boolean: `${UG}reference_policies_elements_condition_operators.html#Conditions_Boolean`,
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
  readonly kind?: 'identity' | 'resource' | 'trust';
  readonly guardrails?: readonly unknown[];
  readonly boundary?: readonly unknown[];
  readonly session?: readonly unknown[];
  readonly action?: string;
  readonly resource?: string;
  readonly context?: ContextInput;
  readonly principal?: RequestPrincipal;
  readonly expect: DecisionKind;
  /** When given, the codes of the decision's evaluation errors, in order. */
  readonly errors?: readonly ErrorCode[];
}

/** A policy IAM refuses: it must not load, with one error of `code` at `path`. */
export interface Refusal {
  readonly name: string;
  readonly doc: Doc;
  /** Statements or a whole document, as for {@link Case}. */
  readonly policy: unknown;
  readonly kind?: 'identity' | 'resource' | 'trust';
  readonly code: ErrorCode;
  /** JSON path of the offending element. */
  readonly path: string;
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
  kind: 'identity' | 'resource' | 'trust' = 'identity',
): CompiledPolicy {
  const r = compilePolicy(doc(policy), { name, kind });
  if (r.policy === undefined)
    throw new Error(`${name} does not compile: ${JSON.stringify(r.diagnostics)}`);
  return r.policy;
}

/** Runs one case and returns the decision. */
export function decide(c: Case): Decision {
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
  });
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
  const d = decide(c);
  expect(d.decision).toBe(c.expect);
  expect(d.errors.map((e) => e.code)).toEqual(c.errors ?? []);
}

/** Checks every refusal has a doc, and that the policy does not load: one error, `code` at `path`. */
export function checkRefused(r: Refusal): void {
  expect(Object.values(DOCS)).toContain(r.doc);
  const result = compilePolicy(doc(r.policy), { name: 'policy', kind: r.kind ?? 'identity' });
  expect(result.policy).toBeUndefined();
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  expect(errors.map((d) => ({ code: d.code, path: d.path }))).toEqual([
    { code: r.code, path: r.path },
  ]);
}
