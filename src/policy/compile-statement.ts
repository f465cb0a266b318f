/**
 * One statement of a policy document: its elements checked, its patterns
 * compiled. Action, Resource and Principal each come with a negated twin;
 * the rules for a pair (at most one of the two, which one a kind of policy
 * may hold, whether one is required) are written once, in `compilePair`.
 */
import type { ErrorCode } from '../errors.js';
import { compileArnPattern, patternVariables, splitArnText, type ArnPattern } from './arn.js';
import { compileConditions } from './compile-conditions.js';
import { isObject, typeName, type Compiler } from './compiler.js';
import { childPath } from './diagnostics.js';
import { compact, compileGlob } from './glob.js';
import { normalizeAwsPrincipal, PRINCIPAL_TYPES, type PrincipalMatcher } from './principal.js';
import type { CompiledStatement } from './compiled-statement.js';
import { statementWarnings } from './statement-warnings.js';

/** What a statement's compilation needs to know about its document. */
export interface StatementOptions {
  /** `identity` statements have no Principal; `resource` ones (trust included) need one. */
  readonly kind: 'identity' | 'resource';
  /** The document is a role trust policy, which IAM does not let hold NotPrincipal. */
  readonly trust: boolean;
  /** Version is 2012-10-17, the only version under which `${...}` is a policy variable. */
  readonly variables: boolean;
  /** Sids of the earlier statements; the statement adds its own. */
  readonly sids: Set<string>;
}

/** A statement as found in the document. */
export interface StatementEntry {
  readonly value: unknown;
  /** JSON path of the statement: `$.Statement[i]`, or `$.Statement` when not a list. */
  readonly path: string;
  /** Position in the Statement list (0 when not a list); labels a statement without Sid. */
  readonly index: number;
}

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
/**
 * `service:ActionName`: wildcards only in the action name. IAM refuses a
 * wildcard in the service prefix (`*:Get*`, `s3*:Get*`); `*` alone is fine.
 */
const ACTION_RE = /^[A-Za-z0-9_.-]+:[A-Za-z0-9_.*?-]+$/;
const SERVICE_WILDCARD_RE = /^[^:]*[*?][^:]*:/;

/**
 * Checks and compiles one statement. Findings go to `c`, attributed to the
 * statement's label; the result is undefined when any of them is an error.
 */
export function compileStatement(
  c: Compiler,
  entry: StatementEntry,
  options: StatementOptions,
): CompiledStatement | undefined {
  const { value, path, index } = entry;
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
  checkSid(c, sid, path, options.sids);
  const effect = checkEffect(c, value['Effect'], path);
  const action = compilePair(c, value, path, {
    name: 'Action',
    missing: 'the statement has neither Action nor NotAction',
    compile: (v, p, el) => compileActions(c, v, p, el),
  });
  const resource = compilePair(c, value, path, {
    name: 'Resource',
    // Trust and other resource policies apply to the resource they are attached to.
    ...(options.kind === 'identity'
      ? { missing: 'the statement has neither Resource nor NotResource' }
      : {}),
    compile: (v, p, el) => compileResources(c, v, p, el, options.variables),
  });
  const principal = compilePair(c, value, path, principalRules(c, options));
  const clauses = compileConditions(c, value['Condition'], `${path}.Condition`, options.variables);
  if (c.erredSince(before)) return undefined;
  const actions = action.compiled ?? { actions: [], written: [] };
  const stmt: CompiledStatement = {
    index,
    label,
    effect,
    notAction: action.negated,
    actions: compact(actions.actions),
    writtenActions: compact(actions.written),
    actionGlobs: actions.actions.map((a) => compileGlob(a)),
    notResource: resource.negated,
    resources: resource.compiled === undefined ? undefined : compact(resource.compiled),
    notPrincipal: principal.negated,
    principal: principal.compiled,
    clauses: compact(clauses),
  };
  statementWarnings(c, stmt, path);
  return stmt;
}

/** An empty Sid counts as none; a repeated one is an error, as IAM makes it. */
function checkSid(c: Compiler, sid: unknown, path: string, sids: Set<string>): void {
  if (sid === undefined) return;
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

/** The statement's effect; `Allow` stands in after an error, which fails the statement anyway. */
function checkEffect(c: Compiler, effect: unknown, path: string): 'Allow' | 'Deny' {
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
  return effect === 'Deny' ? 'Deny' : 'Allow';
}

/** How one of the pairs Action/NotAction, Resource/NotResource, Principal/NotPrincipal is read. */
interface PairRules<T> {
  /** `Action`, `Resource` or `Principal`; the other element is `Not` + name. */
  readonly name: string;
  /**
   * Elements this kind of policy may not hold, checked first and in order;
   * the first one present is reported and nothing else about the pair.
   */
  readonly forbidden?: readonly { element: string; code: ErrorCode; message: string }[];
  /** The error when neither element is present; absent: both may be left out. */
  readonly missing?: string;
  /** Compiles the present element's value; `path` is the element's, `element` its name. */
  readonly compile: (value: unknown, path: string, element: string) => T;
}

/** A compiled pair: which of the two elements was written, and its compiled value. */
interface Pair<T> {
  /** The `Not` element is present. */
  readonly negated: boolean;
  /** Undefined when neither element is present or the pair was refused. */
  readonly compiled: T | undefined;
}

function compilePair<T>(
  c: Compiler,
  statement: Record<string, unknown>,
  path: string,
  rules: PairRules<T>,
): Pair<T> {
  const notName = `Not${rules.name}`;
  const has = statement[rules.name] !== undefined;
  const negated = statement[notName] !== undefined;
  const refused = rules.forbidden?.find((f) => statement[f.element] !== undefined);
  if (refused !== undefined) {
    c.error(refused.code, refused.message, `${path}.${refused.element}`);
    return { negated, compiled: undefined };
  }
  if (has && negated) {
    c.error(
      'ERR_POLICY_CONFLICTING_ELEMENTS',
      `a statement has both ${rules.name} and ${notName}`,
      `${path}.${notName}`,
    );
    return { negated, compiled: undefined };
  }
  if (!has && !negated) {
    if (rules.missing !== undefined) c.error('ERR_POLICY_MISSING_ELEMENT', rules.missing, path);
    return { negated, compiled: undefined };
  }
  const element = has ? rules.name : notName;
  return { negated, compiled: rules.compile(statement[element], `${path}.${element}`, element) };
}

/** Principal in identity policies: never; in trust policies: never negated; else required. */
function principalRules(
  c: Compiler,
  options: StatementOptions,
): PairRules<PrincipalMatcher | undefined> {
  const compile = (v: unknown, p: string, el: string) => compilePrincipal(c, v, p, el);
  if (options.kind === 'identity') {
    // An identity policy's principal is whoever holds it.
    const forbidden = ['Principal', 'NotPrincipal'].map((element) => ({
      element,
      code: 'ERR_POLICY_PRINCIPAL' as const,
      message: `${element} is not allowed in an identity policy`,
    }));
    return { name: 'Principal', forbidden, compile };
  }
  const missing = 'a trust policy statement needs Principal or NotPrincipal';
  if (!options.trust) return { name: 'Principal', missing, compile };
  // "You cannot use NotPrincipal in ... a role trust policy" (IAM User Guide, NotPrincipal).
  const forbidden = [
    {
      element: 'NotPrincipal',
      code: 'ERR_POLICY_PRINCIPAL' as const,
      message: 'NotPrincipal is not allowed in a role trust policy; use Principal with conditions',
    },
  ];
  return { name: 'Principal', forbidden, missing, compile };
}

/** Action patterns, lower-cased (IAM matches actions without regard to case) and as written. */
function compileActions(
  c: Compiler,
  value: unknown,
  path: string,
  element: string,
): { actions: string[]; written: string[] } {
  const out = { actions: [] as string[], written: [] as string[] };
  for (const it of c.stringList(value, path, element) ?? []) {
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
      out.actions.push(it.text.toLowerCase());
      out.written.push(it.text);
    }
  }
  return out;
}

function compileResources(
  c: Compiler,
  value: unknown,
  path: string,
  element: string,
  variables: boolean,
): ArnPattern[] {
  const resources: ArnPattern[] = [];
  for (const it of c.stringList(value, path, element) ?? []) {
    // IAM would read `${...}` literally here; see compile-conditions.ts.
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
  return resources;
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
  const matcher = {
    anyone: false,
    anyOfType: new Set<string>(),
    ids: new Map<string, Set<string>>(),
  };
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
    const set = new Set<string>();
    for (const it of c.stringList(value[type], tpath, `${el}.${type}`) ?? []) {
      if (it.text === '*') {
        // `"AWS": "*"` is the same as `"*"`: anyone; `"Federated": "*"` only any federated caller.
        if (type === 'AWS') matcher.anyone = true;
        else matcher.anyOfType.add(type);
      } else if (it.text === '') {
        c.error('ERR_POLICY_PRINCIPAL', 'a principal must not be empty', it.path);
      } else if (type !== 'AWS') {
        set.add(it.text);
      } else if (!/^\d{12}$/.test(it.text) && !isArnLike(it.text)) {
        c.error(
          'ERR_POLICY_PRINCIPAL',
          `"${it.text}" is neither a 12-digit account id nor an ARN`,
          it.path,
        );
      } else {
        set.add(normalizeAwsPrincipal(it.text));
      }
    }
    matcher.ids.set(type, set);
  }
  return matcher;
}

function isArnLike(text: string): boolean {
  const parts = splitArnText(text);
  return parts.length >= 6 && parts[0] === 'arn';
}

export type { CompiledStatement } from './compiled-statement.js';
