/**
 * The Condition element: blocks of operator -> key -> values, each
 * (operator, key) pair compiled to one Clause. Here the element's shape is
 * checked and each finding located; what a value means for its operator is
 * conditions.ts's business.
 */
import {
  compileClause,
  familyTakesVariables,
  parseOperator,
  type Clause,
  type ParsedOperator,
} from './conditions.js';
import { isObject, typeName, type Compiler } from './compiler.js';
import { childPath } from './diagnostics.js';

type Scalar = string | number | boolean;

/** The values of one condition key, each with the JSON path its findings point at. */
interface KeyValues {
  readonly values: Scalar[];
  readonly paths: string[];
}

/** What IAM takes as a condition value: no null, no objects, no NaN or Infinity. */
function isScalar(v: unknown): v is Scalar {
  return (
    typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))
  );
}

/**
 * Compiles `Condition` (undefined when the statement has none). A clause
 * with a finding is left out; the finding is reported on `c`, which is what
 * makes the statement fail.
 */
export function compileConditions(
  c: Compiler,
  value: unknown,
  path: string,
  variables: boolean,
): Clause[] {
  if (value === undefined) return [];
  if (!isObject(value)) {
    c.error('ERR_POLICY_SHAPE', `Condition must be an object, not ${typeName(value)}`, path);
    return [];
  }
  const clauses: Clause[] = [];
  for (const opName of Object.keys(value)) {
    const opPath = childPath(path, opName);
    const opr = parseOperator(opName);
    if (opr === undefined) {
      c.error(
        'ERR_POLICY_UNKNOWN_OPERATOR',
        `"${opName}" is not a condition operator IAM defines`,
        opPath,
      );
      continue;
    }
    const block = value[opName];
    if (!isObject(block)) {
      c.error(
        'ERR_POLICY_SHAPE',
        `${opName} must map condition keys to values, not ${typeName(block)}`,
        opPath,
      );
      continue;
    }
    for (const key of Object.keys(block)) {
      const clause = compileKey(c, opr, key, block[key], childPath(opPath, key), variables);
      if (clause !== undefined) clauses.push(clause);
    }
  }
  return clauses;
}

/** One key of an operator block; undefined after reporting why it cannot be compiled. */
function compileKey(
  c: Compiler,
  opr: ParsedOperator,
  key: string,
  raw: unknown,
  keyPath: string,
  variables: boolean,
): Clause | undefined {
  if (key === '') {
    c.error('ERR_POLICY_SHAPE', 'a condition key must not be empty', keyPath);
    return undefined;
  }
  const read = keyValues(c, key, raw, keyPath);
  if (read === undefined) return undefined;
  // IAM accepts a set operator on a single-valued key, but it misreads the
  // key (ForAllValues then also holds when the key is absent), so it is
  // refused at load (docs/policy-language.md).
  if (opr.set !== 0 && c.classify.classify(key) === 'single') {
    c.error(
      'ERR_POLICY_SET_OPERATOR_SINGLE_VALUED',
      `${opr.written} is a set operator but ${key} is a single-valued key; use ${opr.base.name}${opr.ifExists ? 'IfExists' : ''}`,
      keyPath,
    );
    return undefined;
  }
  if (refusedVariables(c, opr, read, keyPath, variables)) return undefined;
  const { clause, problems } = compileClause(opr, key, read.values, { variables });
  for (const p of problems) c.error(p.code, p.message, read.paths[p.index] ?? keyPath);
  let varsOk = true;
  clause.templates.forEach((t) => {
    if (!c.checkVariableKeys(t.vars, keyPath)) varsOk = false;
  });
  return problems.length === 0 && varsOk ? clause : undefined;
}

/** A value or a non-empty list of values; undefined after reporting each bad one. */
function keyValues(c: Compiler, key: string, raw: unknown, keyPath: string): KeyValues | undefined {
  if (isScalar(raw)) return { values: [raw], paths: [keyPath] };
  if (!Array.isArray(raw)) {
    c.error(
      'ERR_POLICY_SHAPE',
      `a condition value must be a string, number, boolean or a list of them, not ${typeName(raw)}`,
      keyPath,
    );
    return undefined;
  }
  if (raw.length === 0) {
    c.error('ERR_POLICY_SHAPE', `the values of ${key} must not be an empty list`, keyPath);
    return undefined;
  }
  const out: KeyValues = { values: [], paths: [] };
  let ok = true;
  raw.forEach((v: unknown, i) => {
    if (isScalar(v)) {
      out.values.push(v);
      out.paths.push(childPath(keyPath, i));
    } else {
      ok = false;
      c.error(
        'ERR_POLICY_SHAPE',
        `a condition value must be a string, number or boolean, not ${typeName(v)}`,
        childPath(keyPath, i),
      );
    }
  });
  return ok ? out : undefined;
}

/**
 * Reports each `${...}` in a value of an operator that substitutes
 * variables when the document is not Version 2012-10-17: IAM would compare
 * the text literally, which is never what its writer meant.
 */
function refusedVariables(
  c: Compiler,
  opr: ParsedOperator,
  read: KeyValues,
  keyPath: string,
  variables: boolean,
): boolean {
  if (variables || !familyTakesVariables(opr.base.family)) return false;
  let refused = false;
  read.values.forEach((v, i) => {
    if (typeof v !== 'string' || !v.includes('${')) return;
    refused = true;
    c.error(
      'ERR_POLICY_VARIABLE_VERSION',
      `"${v}" holds a policy variable, which is substituted only under Version "2012-10-17"`,
      read.paths[i] ?? keyPath,
    );
  });
  return refused;
}
