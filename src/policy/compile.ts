/**
 * Validation and compilation of one policy document. Every finding names
 * the file, the policy, the statement (Sid or `#index`) and the JSON path.
 */
import type { ErrorCode } from '../errors.js';
import { compileArnPattern, patternVariables, splitArnText, type ArnPattern } from './arn.js';
import { compileClause, familyTakesVariables, parseOperator, type Clause } from './conditions.js';
import { childPath } from './diagnostics.js';
import { compact, compileGlob, type Glob } from './glob.js';
import {
  DEFAULT_KEY_REGISTRY,
  keyClassifier,
  type KeyClassifier,
  type KeyRegistry,
} from './keys.js';
import { normalizeAwsPrincipal, PRINCIPAL_TYPES, type PrincipalMatcher } from './principal.js';
import type { CompiledPolicy, CompileResult, Diagnostic, PolicyOrigin } from './types.js';

export interface CompileOptions {
  /** Which keys are single- and multivalued; defaults to {@link DEFAULT_KEY_REGISTRY}. */
  readonly keys?: KeyRegistry;
}

/** A statement after compilation. */
export interface CompiledStatement {
  readonly index: number;
  /** Sid, or `#<index>`. */
  readonly label: string;
  readonly effect: 'Allow' | 'Deny';
  readonly notAction: boolean;
  /** Lower-cased action patterns as written. */
  readonly actions: readonly string[];
  /** Action patterns as written (for a case-preserving fast lookup). */
  readonly writtenActions: readonly string[];
  readonly actionGlobs: readonly Glob[];
  readonly notResource: boolean;
  /** `undefined`: no Resource element (trust policies), matches any resource. */
  readonly resources: readonly ArnPattern[] | undefined;
  readonly notPrincipal: boolean;
  /** `undefined`: no Principal element (identity policies). */
  readonly principal: PrincipalMatcher | undefined;
  readonly clauses: readonly Clause[];
}

/** The engine's CompiledPolicy. */
export class PolicyImpl implements CompiledPolicy {
  readonly name: string;
  declare readonly file?: string;
  readonly kind: 'identity' | 'resource';
  readonly statementCount: number;
  readonly variables: readonly string[];
  readonly statements: readonly CompiledStatement[];

  constructor(
    origin: PolicyOrigin,
    kind: 'identity' | 'resource',
    statements: readonly CompiledStatement[],
    variables: readonly string[],
  ) {
    this.name = origin.name;
    if (origin.file !== undefined) this.file = origin.file;
    this.kind = kind;
    this.statements = statements;
    this.statementCount = statements.length;
    this.variables = variables;
  }
}

const DOC_ELEMENTS = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_ELEMENTS = new Set([
  'Sid',
  'Effect',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Principal',
  'NotPrincipal',
  'Condition',
]);
const VERSIONS = new Set(['2012-10-17', '2008-10-17']);
/**
 * `service:ActionName`: wildcards only in the action name. IAM refuses a
 * wildcard in the service prefix (`*:Get*`, `s3*:Get*`); `*` alone is fine.
 */
const ACTION_RE = /^[A-Za-z0-9_.-]+:[A-Za-z0-9_.*?-]+$/;
const SERVICE_WILDCARD_RE = /^[^:]*[*?][^:]*:/;
const DEFAULT_CLASSIFIER = keyClassifier(DEFAULT_KEY_REGISTRY);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

class Compiler {
  readonly diagnostics: Diagnostic[] = [];
  readonly origin: PolicyOrigin;
  readonly classify: KeyClassifier;
  /** Lower-cased keys used as policy variables anywhere in the document. */
  readonly variables = new Set<string>();
  statement: string | undefined;

  constructor(origin: PolicyOrigin, classify: KeyClassifier) {
    this.origin = origin;
    this.classify = classify;
    this.statement = undefined;
  }

  report(severity: 'error' | 'warning', code: ErrorCode, message: string, path: string): void {
    const d: {
      severity: 'error' | 'warning';
      code: ErrorCode;
      message: string;
      policy: string;
      path: string;
      file?: string;
      statement?: string;
    } = { severity, code, message, policy: this.origin.name, path };
    if (this.origin.file !== undefined) d.file = this.origin.file;
    if (this.statement !== undefined) d.statement = this.statement;
    this.diagnostics.push(d);
  }

  error(code: ErrorCode, message: string, path: string): void {
    this.report('error', code, message, path);
  }

  /** A string or non-empty list of strings; reports and returns undefined otherwise. */
  stringList(
    value: unknown,
    path: string,
    element: string,
  ): { text: string; path: string }[] | undefined {
    if (typeof value === 'string') return [{ text: value, path }];
    if (!Array.isArray(value)) {
      this.error(
        'ERR_POLICY_SHAPE',
        `${element} must be a string or a list of strings, not ${typeName(value)}`,
        path,
      );
      return undefined;
    }
    if (value.length === 0) {
      this.error('ERR_POLICY_SHAPE', `${element} must not be an empty list`, path);
      return undefined;
    }
    const out: { text: string; path: string }[] = [];
    let ok = true;
    value.forEach((v: unknown, i) => {
      const p = childPath(path, i);
      if (typeof v === 'string') out.push({ text: v, path: p });
      else {
        ok = false;
        this.error('ERR_POLICY_SHAPE', `${element} entries must be strings, not ${typeName(v)}`, p);
      }
    });
    return ok ? out : undefined;
  }

  checkVariableKeys(vars: readonly string[], path: string): boolean {
    let ok = true;
    for (const v of vars) {
      this.variables.add(v.toLowerCase());
      if (this.classify.classify(v) === 'multi') {
        ok = false;
        this.error(
          'ERR_POLICY_VARIABLE_MULTIVALUED',
          `"\${${v}}": ${v} is a multivalued key and cannot be used as a policy variable`,
          path,
        );
      }
    }
    return ok;
  }
}

/** Validates and compiles a document. `policy` is present only when there are no errors. */
export function compilePolicy(
  document: unknown,
  origin: PolicyOrigin,
  options?: CompileOptions,
): CompileResult {
  const classify = options?.keys !== undefined ? keyClassifier(options.keys) : DEFAULT_CLASSIFIER;
  const c = new Compiler(origin, classify);
  const trust = origin.kind === 'trust';
  const kind = origin.kind === 'trust' ? 'resource' : (origin.kind ?? 'identity');
  if (!isObject(document)) {
    c.error(
      'ERR_POLICY_SHAPE',
      `a policy document must be a JSON object, not ${typeName(document)}`,
      '$',
    );
    return { diagnostics: c.diagnostics };
  }
  for (const key of Object.keys(document)) {
    if (!DOC_ELEMENTS.has(key)) {
      c.error(
        'ERR_POLICY_UNKNOWN_ELEMENT',
        `"${key}" is not a policy element (Version, Id, Statement)`,
        childPath('$', key),
      );
    }
  }
  let variables = false;
  const version = document['Version'];
  if (version !== undefined) {
    if (typeof version !== 'string') {
      c.error(
        'ERR_POLICY_SHAPE',
        `Version must be a string, not ${typeName(version)}`,
        '$.Version',
      );
    } else if (!VERSIONS.has(version)) {
      c.error(
        'ERR_POLICY_VERSION',
        `Version "${version}" is neither "2012-10-17" nor "2008-10-17"`,
        '$.Version',
      );
    } else {
      variables = version === '2012-10-17';
    }
  }
  const id = document['Id'];
  if (id !== undefined && typeof id !== 'string') {
    c.error('ERR_POLICY_SHAPE', `Id must be a string, not ${typeName(id)}`, '$.Id');
  }
  const stmts = document['Statement'];
  const list: { value: unknown; path: string }[] = [];
  if (stmts === undefined) {
    c.error('ERR_POLICY_MISSING_ELEMENT', 'the document has no Statement', '$');
  } else if (Array.isArray(stmts)) {
    if (stmts.length === 0)
      c.error('ERR_POLICY_MISSING_ELEMENT', 'the Statement list is empty', '$.Statement');
    stmts.forEach((s: unknown, i) => list.push({ value: s, path: `$.Statement[${i}]` }));
  } else if (isObject(stmts)) {
    list.push({ value: stmts, path: '$.Statement' });
  } else {
    c.error(
      'ERR_POLICY_SHAPE',
      `Statement must be an object or a list of objects, not ${typeName(stmts)}`,
      '$.Statement',
    );
  }
  const sids = new Set<string>();
  const compiled: CompiledStatement[] = [];
  list.forEach((entry, index) => {
    const s = compileStatement(c, entry.value, entry.path, index, kind, trust, variables, sids);
    if (s !== undefined) compiled.push(s);
    c.statement = undefined;
  });
  const hasError = c.diagnostics.some((d) => d.severity === 'error');
  if (hasError) return { diagnostics: c.diagnostics };
  return {
    policy: new PolicyImpl(origin, kind, compact(compiled), [...c.variables]),
    diagnostics: c.diagnostics,
  };
}

function compileStatement(
  c: Compiler,
  value: unknown,
  path: string,
  index: number,
  kind: 'identity' | 'resource',
  trust: boolean,
  variables: boolean,
  sids: Set<string>,
): CompiledStatement | undefined {
  const sid = isObject(value) ? value['Sid'] : undefined;
  const label = typeof sid === 'string' && sid !== '' ? sid : `#${index}`;
  c.statement = label;
  if (!isObject(value)) {
    c.error('ERR_POLICY_SHAPE', `a statement must be an object, not ${typeName(value)}`, path);
    return undefined;
  }
  const before = c.diagnostics.length;
  for (const key of Object.keys(value)) {
    if (!STATEMENT_ELEMENTS.has(key)) {
      c.error(
        'ERR_POLICY_UNKNOWN_ELEMENT',
        `"${key}" is not a statement element`,
        childPath(path, key),
      );
    }
  }
  // Sid
  if (sid !== undefined) {
    if (typeof sid !== 'string') {
      c.error('ERR_POLICY_SHAPE', `Sid must be a string, not ${typeName(sid)}`, `${path}.Sid`);
    } else if (sid !== '') {
      if (sids.has(sid))
        c.error(
          'ERR_POLICY_DUPLICATE_SID',
          `Sid "${sid}" is used by an earlier statement`,
          `${path}.Sid`,
        );
      sids.add(sid);
    }
  }
  // Effect
  const effect = value['Effect'];
  if (effect === undefined)
    c.error('ERR_POLICY_MISSING_ELEMENT', 'the statement has no Effect', path);
  else if (typeof effect !== 'string')
    c.error(
      'ERR_POLICY_SHAPE',
      `Effect must be a string, not ${typeName(effect)}`,
      `${path}.Effect`,
    );
  else if (effect !== 'Allow' && effect !== 'Deny') {
    c.error(
      'ERR_POLICY_EFFECT',
      `Effect "${effect}" is neither "Allow" nor "Deny"`,
      `${path}.Effect`,
    );
  }
  // Action / NotAction
  const hasAction = value['Action'] !== undefined;
  const hasNotAction = value['NotAction'] !== undefined;
  const actions: string[] = [];
  const writtenActions: string[] = [];
  if (hasAction && hasNotAction) {
    c.error(
      'ERR_POLICY_CONFLICTING_ELEMENTS',
      'a statement has both Action and NotAction',
      `${path}.NotAction`,
    );
  } else if (!hasAction && !hasNotAction) {
    c.error('ERR_POLICY_MISSING_ELEMENT', 'the statement has neither Action nor NotAction', path);
  } else {
    const el = hasAction ? 'Action' : 'NotAction';
    const items = c.stringList(value[el], `${path}.${el}`, el);
    for (const it of items ?? []) {
      if (it.text !== '*' && SERVICE_WILDCARD_RE.test(it.text)) {
        c.error(
          'ERR_POLICY_ACTION',
          `"${it.text}" has a wildcard in the service prefix; only the action name after the colon may hold * or ?`,
          it.path,
        );
      } else if (it.text !== '*' && !ACTION_RE.test(it.text)) {
        c.error(
          'ERR_POLICY_ACTION',
          `"${it.text}" is not "*" or of the form service:ActionName`,
          it.path,
        );
      } else {
        actions.push(it.text.toLowerCase());
        writtenActions.push(it.text);
      }
    }
  }
  // Resource / NotResource
  const hasResource = value['Resource'] !== undefined;
  const hasNotResource = value['NotResource'] !== undefined;
  let resources: ArnPattern[] | undefined;
  if (hasResource && hasNotResource) {
    c.error(
      'ERR_POLICY_CONFLICTING_ELEMENTS',
      'a statement has both Resource and NotResource',
      `${path}.NotResource`,
    );
  } else if (!hasResource && !hasNotResource) {
    if (kind === 'identity')
      c.error(
        'ERR_POLICY_MISSING_ELEMENT',
        'the statement has neither Resource nor NotResource',
        path,
      );
  } else {
    const el = hasResource ? 'Resource' : 'NotResource';
    const items = c.stringList(value[el], `${path}.${el}`, el);
    resources = [];
    for (const it of items ?? []) {
      if (!variables && it.text.includes('${')) {
        c.error(
          'ERR_POLICY_VARIABLE_VERSION',
          `"${it.text}" holds a policy variable, which is substituted only under Version "2012-10-17"`,
          it.path,
        );
        continue;
      }
      const r = compileArnPattern(it.text, variables, true);
      if (!r.ok) {
        const code: ErrorCode =
          r.reason === 'arn'
            ? 'ERR_POLICY_ARN'
            : r.reason === 'placement'
              ? 'ERR_POLICY_VARIABLE_PLACEMENT'
              : 'ERR_POLICY_VARIABLE_SYNTAX';
        c.error(code, r.message, it.path);
        continue;
      }
      if (c.checkVariableKeys(patternVariables(r.pattern), it.path)) resources.push(r.pattern);
    }
  }
  // Principal / NotPrincipal
  const hasPrincipal = value['Principal'] !== undefined;
  const hasNotPrincipal = value['NotPrincipal'] !== undefined;
  let principal: PrincipalMatcher | undefined;
  if (kind === 'identity') {
    if (hasPrincipal || hasNotPrincipal) {
      const el = hasPrincipal ? 'Principal' : 'NotPrincipal';
      c.error(
        'ERR_POLICY_PRINCIPAL',
        `${el} is not allowed in an identity policy`,
        `${path}.${el}`,
      );
    }
  } else if (trust && hasNotPrincipal) {
    // "You cannot use NotPrincipal in ... a role trust policy" (IAM User Guide, NotPrincipal).
    c.error(
      'ERR_POLICY_PRINCIPAL',
      'NotPrincipal is not allowed in a role trust policy; use Principal with conditions',
      `${path}.NotPrincipal`,
    );
  } else if (hasPrincipal && hasNotPrincipal) {
    c.error(
      'ERR_POLICY_CONFLICTING_ELEMENTS',
      'a statement has both Principal and NotPrincipal',
      `${path}.NotPrincipal`,
    );
  } else if (!hasPrincipal && !hasNotPrincipal) {
    c.error(
      'ERR_POLICY_MISSING_ELEMENT',
      'a trust policy statement needs Principal or NotPrincipal',
      path,
    );
  } else {
    const el = hasPrincipal ? 'Principal' : 'NotPrincipal';
    principal = compilePrincipal(c, value[el], `${path}.${el}`, el);
  }
  // Condition
  const clauses = compileConditions(c, value['Condition'], `${path}.Condition`, variables);
  if (c.diagnostics.slice(before).some((d) => d.severity === 'error')) return undefined;
  const stmt: CompiledStatement = {
    index,
    label,
    effect: effect === 'Deny' ? 'Deny' : 'Allow',
    notAction: hasNotAction,
    actions: compact(actions),
    writtenActions: compact(writtenActions),
    actionGlobs: actions.map((a) => compileGlob(a)),
    notResource: hasNotResource,
    resources: resources === undefined ? undefined : compact(resources),
    notPrincipal: hasNotPrincipal,
    principal,
    clauses: compact(clauses),
  };
  warnings(c, stmt, path);
  return stmt;
}

function compilePrincipal(
  c: Compiler,
  value: unknown,
  path: string,
  el: string,
): PrincipalMatcher | undefined {
  if (value === '*') return { anyone: true, anyOfType: new Set(), ids: new Map() };
  if (!isObject(value)) {
    c.error(
      'ERR_POLICY_PRINCIPAL',
      `${el} must be "*" or an object of principal types, not ${typeName(value)}`,
      path,
    );
    return undefined;
  }
  let anyone = false;
  const anyOfType = new Set<string>();
  const ids = new Map<string, Set<string>>();
  const keys = Object.keys(value);
  if (keys.length === 0) c.error('ERR_POLICY_PRINCIPAL', `${el} names no principal`, path);
  for (const type of keys) {
    const tpath = childPath(path, type);
    if (!PRINCIPAL_TYPES.includes(type)) {
      c.error(
        'ERR_POLICY_PRINCIPAL',
        `"${type}" is not a principal type (${PRINCIPAL_TYPES.join(', ')})`,
        tpath,
      );
      continue;
    }
    const items = c.stringList(value[type], tpath, `${el}.${type}`);
    const set = new Set<string>();
    for (const it of items ?? []) {
      if (it.text === '*') {
        if (type === 'AWS') anyone = true;
        else anyOfType.add(type);
        continue;
      }
      if (it.text === '') {
        c.error('ERR_POLICY_PRINCIPAL', 'a principal must not be empty', it.path);
        continue;
      }
      if (type === 'AWS') {
        const parts = splitArnText(it.text);
        if (!/^\d{12}$/.test(it.text) && (parts.length < 6 || parts[0] !== 'arn')) {
          c.error(
            'ERR_POLICY_PRINCIPAL',
            `"${it.text}" is neither a 12-digit account id nor an ARN`,
            it.path,
          );
          continue;
        }
        set.add(normalizeAwsPrincipal(it.text));
      } else {
        set.add(it.text);
      }
    }
    ids.set(type, set);
  }
  return { anyone, anyOfType, ids };
}

function compileConditions(
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
      const keyPath = childPath(opPath, key);
      if (key === '') {
        c.error('ERR_POLICY_SHAPE', 'a condition key must not be empty', keyPath);
        continue;
      }
      const raw = block[key];
      const values: (string | number | boolean)[] = [];
      const paths: string[] = [];
      const scalar = (v: unknown): v is string | number | boolean =>
        typeof v === 'string' ||
        typeof v === 'boolean' ||
        (typeof v === 'number' && Number.isFinite(v));
      if (Array.isArray(raw)) {
        if (raw.length === 0) {
          c.error('ERR_POLICY_SHAPE', `the values of ${key} must not be an empty list`, keyPath);
          continue;
        }
        let ok = true;
        raw.forEach((v: unknown, i) => {
          if (scalar(v)) {
            values.push(v);
            paths.push(childPath(keyPath, i));
          } else {
            ok = false;
            c.error(
              'ERR_POLICY_SHAPE',
              `a condition value must be a string, number or boolean, not ${typeName(v)}`,
              childPath(keyPath, i),
            );
          }
        });
        if (!ok) continue;
      } else if (scalar(raw)) {
        values.push(raw);
        paths.push(keyPath);
      } else {
        c.error(
          'ERR_POLICY_SHAPE',
          `a condition value must be a string, number, boolean or a list of them, not ${typeName(raw)}`,
          keyPath,
        );
        continue;
      }
      if (opr.set !== 0 && c.classify.classify(key) === 'single') {
        c.error(
          'ERR_POLICY_SET_OPERATOR_SINGLE_VALUED',
          `${opName} is a set operator but ${key} is a single-valued key; use ${opr.base.name}${opr.ifExists ? 'IfExists' : ''}`,
          keyPath,
        );
        continue;
      }
      let bad = false;
      if (familyTakesVariables(opr.base.family)) {
        values.forEach((v, i) => {
          if (typeof v !== 'string' || !v.includes('${')) return;
          if (!variables) {
            bad = true;
            c.error(
              'ERR_POLICY_VARIABLE_VERSION',
              `"${v}" holds a policy variable, which is substituted only under Version "2012-10-17"`,
              paths[i] ?? keyPath,
            );
          }
        });
      }
      if (bad) continue;
      const { clause, problems } = compileClause(opr, key, values, { variables });
      for (const p of problems) c.error(p.code, p.message, paths[p.index] ?? keyPath);
      let varsOk = true;
      clause.templates.forEach((t) => {
        if (!c.checkVariableKeys(t.vars, keyPath)) varsOk = false;
      });
      if (problems.length === 0 && varsOk) clauses.push(clause);
    }
  }
  return clauses;
}

function warnings(c: Compiler, s: CompiledStatement, path: string): void {
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
  // Contradictory Null conditions, and Null "true" with a condition that needs the key.
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
