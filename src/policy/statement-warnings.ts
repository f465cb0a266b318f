/**
 * Warnings on a statement that compiled: it is valid, but it grants more
 * than its writer likely meant or it can never apply. Warnings never stop a
 * policy from loading.
 */
import type { CompiledStatement } from './compiled-statement.js';
import type { Compiler } from './compiler.js';
import { childPath } from './diagnostics.js';

/** Reports the statement's warnings on `c`, located under `path`. */
export function statementWarnings(c: Compiler, s: CompiledStatement, path: string): void {
  elementWarnings(c, s, path);
  nullConditionWarnings(c, s, path);
}

function elementWarnings(c: Compiler, s: CompiledStatement, path: string): void {
  const allActions = !s.notAction && s.actions.includes('*');
  const allResources =
    s.resources === undefined || (!s.notResource && s.resources.some((r) => r.any));
  if (s.effect === 'Allow' && allActions && allResources && s.clauses.length === 0) {
    c.report(
      'warning',
      'WARN_POLICY_ALLOW_ALL',
      'the statement allows every action on every resource without conditions',
      path,
    );
  }
  if (s.notAction && s.actions.includes('*')) {
    c.report(
      'warning',
      'WARN_POLICY_NEVER_MATCHES',
      'NotAction "*" excludes every action, so the statement never applies',
      `${path}.NotAction`,
    );
  }
  if (s.notResource && s.resources?.some((r) => r.any) === true) {
    c.report(
      'warning',
      'WARN_POLICY_NEVER_MATCHES',
      'NotResource "*" excludes every resource, so the statement never applies',
      `${path}.NotResource`,
    );
  }
  if (s.notPrincipal && s.principal?.anyone === true) {
    c.report(
      'warning',
      'WARN_POLICY_NEVER_MATCHES',
      'NotPrincipal "*" excludes every principal, so the statement never applies',
      `${path}.NotPrincipal`,
    );
  }
}

/**
 * Null conditions that contradict each other, or Null "true" (key absent)
 * beside a condition that only holds when the key is present.
 */
function nullConditionWarnings(c: Compiler, s: CompiledStatement, path: string): void {
  const nullTrue = new Set<string>();
  const nullFalse = new Set<string>();
  for (const cl of s.clauses) {
    if (cl.op.base.family !== 'null') continue;
    if (cl.bools.every((b) => b)) nullTrue.add(cl.key);
    if (cl.bools.every((b) => !b)) nullFalse.add(cl.key);
  }
  for (const key of nullTrue) {
    if (nullFalse.has(key)) {
      c.report(
        'warning',
        'WARN_POLICY_NEVER_MATCHES',
        `Null requires ${key} to be both absent and present`,
        `${path}.Condition.Null`,
      );
      continue;
    }
    // An absent key fails a plain positive operator or ForAnyValue; IfExists,
    // negated plain operators and ForAllValues all hold without the key.
    const needs = s.clauses.find(
      (cl) =>
        cl.key === key &&
        cl.op.base.family !== 'null' &&
        !cl.op.ifExists &&
        (cl.op.set === 1 || (cl.op.set === 0 && !cl.op.base.negated)),
    );
    if (needs !== undefined) {
      c.report(
        'warning',
        'WARN_POLICY_NEVER_MATCHES',
        `Null requires ${key} to be absent but ${needs.op.written} requires it to be present`,
        childPath(`${path}.Condition`, needs.op.written),
      );
    }
  }
}
