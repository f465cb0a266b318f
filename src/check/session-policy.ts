/**
 * Session policies of just-in-time grants: a request may carry an IAM
 * policy document that narrows its role for the grant's duration, as an
 * STS session policy narrows a session (IAM User Guide, "Session
 * policies"). It is checked by the policy engine when the request is made,
 * and every Check under the grant must be allowed by it too: the role's
 * layers allow and the session policy allows, and an explicit Deny in
 * either denies, which is the intersection IAM computes.
 */
import type { Grant } from '../access/model.js';
import type { SessionPolicyCheck } from '../access/service.js';
import { compilePolicy, createPolicySet, evaluate, formatDiagnostic } from '../policy/index.js';
import type { Decision, EvaluationRequest, PolicySet } from '../policy/types.js';

/** The name a session policy carries in diagnostics and determining statements. */
const SESSION_POLICY_NAME = 'sessionPolicy';

/**
 * Checks a session policy document with the policy engine (as an identity
 * policy; Principal and NotPrincipal are refused there). Never throws.
 */
export function checkSessionPolicy(document: unknown): SessionPolicyCheck {
  const compiled = compilePolicy(document, { name: SESSION_POLICY_NAME, kind: 'identity' });
  const problems = compiled.diagnostics
    .filter((d) => d.severity === 'error')
    .map((d) => formatDiagnostic(d));
  if (compiled.policy === undefined || problems.length > 0) {
    return { ok: false, problems: problems.length > 0 ? problems : ['not a policy document'] };
  }
  return { ok: true, json: JSON.stringify(document) };
}

/** A grant's compiled session policy, or `invalid` when it no longer compiles (fail closed). */
const compiledSessions = new WeakMap<Grant, PolicySet | 'invalid'>();

function sessionSet(grant: Grant, text: string): PolicySet | 'invalid' {
  let set = compiledSessions.get(grant);
  if (set === undefined) {
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      document = undefined;
    }
    const compiled = compilePolicy(document, { name: SESSION_POLICY_NAME, kind: 'identity' });
    set =
      compiled.policy === undefined || compiled.diagnostics.some((d) => d.severity === 'error')
        ? 'invalid'
        : createPolicySet({ identity: [compiled.policy] });
    // Keyed by the grant object: a refreshed cache holds new objects, and old ones go.
    compiledSessions.set(grant, set);
  }
  return set;
}

/**
 * The session layer's decision for a Check under `grant`: undefined when
 * the grant has no session policy. Its determining statements carry the
 * layer `session`. A stored policy that no longer compiles denies.
 */
export function sessionDecision(grant: Grant, request: EvaluationRequest): Decision | undefined {
  if (grant.sessionPolicy === undefined) return undefined;
  const set = sessionSet(grant, grant.sessionPolicy);
  if (set === 'invalid') {
    return {
      decision: 'ImplicitDeny',
      determining: [{ layer: 'session', effect: 'ImplicitDeny' }],
      errors: [],
    };
  }
  const decision = evaluate(set, request);
  return {
    ...decision,
    determining: decision.determining.map((d) => ({ ...d, layer: 'session' as const })),
  };
}
