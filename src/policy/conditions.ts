/**
 * Condition operators: parsing operator names, compiling policy values once,
 * and evaluating one condition (operator + key + values) against a request.
 *
 * Rules (see docs/policy-language.md):
 * - OR across the values of one key; the caller ANDs keys and operators.
 * - Key absent (or present with no values): `Null` "true" holds; with
 *   `IfExists` the condition holds; `ForAnyValue` is false, `ForAllValues`
 *   true; otherwise a positive operator is false and a negated one true.
 * - Key present: for each request value, "matches" means it matches at least
 *   one policy value. A positive operator holds when some request value
 *   matches; a negated operator holds when no request value matches.
 *   `ForAnyValue:` holds when some request value satisfies the operator,
 *   `ForAllValues:` when every request value does. For the set operators a
 *   key whose values are all empty strings is a null data set, as if absent:
 *   `ForAnyValue` is false, `ForAllValues` true.
 * - A request value the operator cannot read (a Numeric value that is not a
 *   number, ...) satisfies neither a positive nor a negated operator, and an
 *   evaluation error is recorded.
 */
import type { ErrorCode } from '../errors.js';
import {
  compileArnPattern,
  matchArn,
  matchArnTemplate,
  splitRequestArn,
  type ArnPattern,
} from './arn.js';
import { RequestContext } from './context.js';
import { compileGlob, matchGlob, type Glob } from './glob.js';
import type { EvaluationContext } from './types.js';
import { cidrContains, parseCidr, parseIp, type Cidr, type Ip } from './address.js';
import { bytesEqual, parseBase64, parseBool, parseDate, parseNumber } from './values.js';
import {
  isDynamic,
  matchTemplate,
  parseTemplate,
  resolveText,
  type Template,
} from './variables.js';

export type Family =
  'string' | 'stringci' | 'like' | 'numeric' | 'date' | 'bool' | 'binary' | 'ip' | 'arn' | 'null';

/** 0 =, 1 <, 2 <=, 3 >, 4 >= (request value on the left). */
export type Comparison = 0 | 1 | 2 | 3 | 4;

export interface OperatorInfo {
  readonly name: string;
  readonly family: Family;
  readonly negated: boolean;
  readonly cmp: Comparison;
}

const OPS: OperatorInfo[] = [];
function op(name: string, family: Family, negated = false, cmp: Comparison = 0): void {
  OPS.push({ name, family, negated, cmp });
}
op('StringEquals', 'string');
op('StringNotEquals', 'string', true);
op('StringEqualsIgnoreCase', 'stringci');
op('StringNotEqualsIgnoreCase', 'stringci', true);
op('StringLike', 'like');
op('StringNotLike', 'like', true);
for (const fam of ['Numeric', 'Date'] as const) {
  const f = fam === 'Numeric' ? 'numeric' : 'date';
  op(`${fam}Equals`, f);
  op(`${fam}NotEquals`, f, true);
  op(`${fam}LessThan`, f, false, 1);
  op(`${fam}LessThanEquals`, f, false, 2);
  op(`${fam}GreaterThan`, f, false, 3);
  op(`${fam}GreaterThanEquals`, f, false, 4);
}
op('Bool', 'bool');
op('BinaryEquals', 'binary');
op('IpAddress', 'ip');
op('NotIpAddress', 'ip', true);
op('ArnEquals', 'arn');
op('ArnLike', 'arn');
op('ArnNotEquals', 'arn', true);
op('ArnNotLike', 'arn', true);
op('Null', 'null');

/** Every base operator IAM defines, by exact (case-sensitive) name. */
export const OPERATORS: ReadonlyMap<string, OperatorInfo> = new Map(OPS.map((o) => [o.name, o]));

/** 0: plain, 1: ForAnyValue, 2: ForAllValues. */
export type SetMode = 0 | 1 | 2;

export interface ParsedOperator {
  readonly written: string;
  readonly base: OperatorInfo;
  readonly set: SetMode;
  readonly ifExists: boolean;
}

/** Parses `[ForAnyValue:|ForAllValues:]Base[IfExists]`; `undefined` when IAM defines no such operator. */
export function parseOperator(written: string): ParsedOperator | undefined {
  let rest = written;
  let set: SetMode = 0;
  if (rest.startsWith('ForAnyValue:')) {
    set = 1;
    rest = rest.slice('ForAnyValue:'.length);
  } else if (rest.startsWith('ForAllValues:')) {
    set = 2;
    rest = rest.slice('ForAllValues:'.length);
  }
  let ifExists = false;
  let base = OPERATORS.get(rest);
  if (base === undefined && rest.endsWith('IfExists')) {
    base = OPERATORS.get(rest.slice(0, -'IfExists'.length));
    ifExists = true;
  }
  if (base === undefined) return undefined;
  if (base.family === 'null' && (ifExists || set !== 0)) return undefined;
  return { written, base, set, ifExists };
}

/** One compiled condition: an operator applied to one key with its values. */
export interface Clause {
  /** Lower-cased key. */
  readonly key: string;
  /** Key as written. */
  readonly name: string;
  readonly op: ParsedOperator;
  readonly strs: readonly string[];
  readonly strSet: ReadonlySet<string> | undefined;
  readonly globs: readonly Glob[];
  readonly templates: readonly Template[];
  readonly nums: readonly number[];
  readonly bools: readonly boolean[];
  readonly bins: readonly Uint8Array[];
  readonly cidrs: readonly Cidr[];
  readonly arns: readonly ArnPattern[];
}

/** A problem with one value, for the compiler to turn into a diagnostic. */
export interface ValueProblem {
  readonly code: ErrorCode;
  readonly message: string;
  /** Index of the value in the list. */
  readonly index: number;
}

export interface ValueOptions {
  /** Version 2012-10-17: substitute `${...}`. */
  readonly variables: boolean;
}

/**
 * Families whose values may hold policy variables: the string and ARN
 * operators, and `Bool` ("You can use a policy variable with the Boolean
 * condition operator", IAM User Guide, Condition operators).
 */
export function familyTakesVariables(f: Family): boolean {
  return f === 'string' || f === 'stringci' || f === 'like' || f === 'arn' || f === 'bool';
}

const EMPTY: readonly never[] = Object.freeze([]);

/** Empty lists share one frozen array (compiled policies are immutable and compact). */
function pack<T>(list: T[]): readonly T[] {
  return list.length === 0 ? EMPTY : list.slice();
}

function asText(v: string | number | boolean): string {
  return typeof v === 'string' ? v : String(v);
}

/**
 * Compiles the values of one condition. `values` are the JSON scalars the
 * policy lists (the caller has checked their JSON types).
 */
export function compileClause(
  opr: ParsedOperator,
  name: string,
  values: readonly (string | number | boolean)[],
  options: ValueOptions,
): { clause: Clause; problems: ValueProblem[] } {
  const problems: ValueProblem[] = [];
  const strs: string[] = [];
  const globs: Glob[] = [];
  const templates: Template[] = [];
  const nums: number[] = [];
  const bools: boolean[] = [];
  const bins: Uint8Array[] = [];
  const cidrs: Cidr[] = [];
  const arns: ArnPattern[] = [];
  const fam = opr.base.family;
  values.forEach((raw, index) => {
    const text = asText(raw);
    const bad = (code: ErrorCode, message: string): void => {
      problems.push({ code, message, index });
    };
    if (familyTakesVariables(fam) && options.variables && text.includes('${')) {
      const t = parseTemplate(text);
      if (!t.ok) {
        bad('ERR_POLICY_VARIABLE_SYNTAX', t.message);
        return;
      }
      if (isDynamic(t.template)) {
        if (fam === 'arn') {
          // A template must still look like an ARN once written.
          const probe = compileArnPattern(text.replace(/\$\{[^}]*\}/g, 'x'), false, false);
          if (!probe.ok && text !== '*') bad('ERR_POLICY_ARN', probe.message);
        }
        templates.push(t.template);
        return;
      }
    }
    switch (fam) {
      case 'string':
        strs.push(text);
        return;
      case 'stringci':
        strs.push(text.toLowerCase());
        return;
      case 'like':
        globs.push(compileGlob(text));
        return;
      case 'numeric': {
        const n =
          typeof raw === 'number' ? (Number.isFinite(raw) ? raw : undefined) : parseNumber(text);
        if (n === undefined) bad('ERR_POLICY_BAD_NUMBER', `"${text}" is not a number`);
        else nums.push(n);
        return;
      }
      case 'date': {
        const d =
          typeof raw === 'number'
            ? Number.isFinite(raw)
              ? raw * 1000
              : undefined
            : parseDate(text);
        if (d === undefined)
          bad('ERR_POLICY_BAD_DATE', `"${text}" is neither an ISO 8601 date nor epoch seconds`);
        else nums.push(d);
        return;
      }
      case 'bool':
      case 'null': {
        const b =
          typeof raw === 'boolean' ? raw : typeof raw === 'string' ? parseBool(raw) : undefined;
        if (b === undefined) bad('ERR_POLICY_BAD_BOOL', `"${text}" is neither true nor false`);
        else bools.push(b);
        return;
      }
      case 'binary': {
        const b = typeof raw === 'string' ? parseBase64(raw) : undefined;
        if (b === undefined) bad('ERR_POLICY_BAD_BINARY', `"${text}" is not base64`);
        else bins.push(b);
        return;
      }
      case 'ip': {
        const c = typeof raw === 'string' ? parseCidr(raw) : undefined;
        if (c === undefined)
          bad('ERR_POLICY_BAD_CIDR', `"${text}" is not an IPv4 or IPv6 address or CIDR block`);
        else cidrs.push(c);
        return;
      }
      case 'arn': {
        const a = compileArnPattern(text, false, false);
        if (!a.ok) bad('ERR_POLICY_ARN', a.message);
        else arns.push(a.pattern);
        return;
      }
    }
  });
  const clause: Clause = {
    key: name.toLowerCase(),
    name,
    op: opr,
    strs: pack(strs),
    strSet: strs.length >= 8 ? new Set(strs) : undefined,
    globs: pack(globs),
    templates: pack(templates),
    nums: pack(nums),
    bools: pack(bools),
    bins: pack(bins),
    cidrs: pack(cidrs),
    arns: pack(arns),
  };
  return { clause, problems };
}

/** Where evaluation errors go; created per request. */
export interface ErrorSink {
  report(code: ErrorCode, message: string): void;
}

function compareNum(a: number, b: number, cmp: Comparison): boolean {
  switch (cmp) {
    case 0:
      return a === b;
    case 1:
      return a < b;
    case 2:
      return a <= b;
    case 3:
      return a > b;
    default:
      return a >= b;
  }
}

function readIp(ctx: EvaluationContext, v: string): Ip | undefined {
  if (!(ctx instanceof RequestContext)) return parseIp(v);
  if (ctx.lastIpText !== v) {
    ctx.lastIp = parseIp(v);
    ctx.lastIpText = v;
  }
  return ctx.lastIp as Ip | undefined;
}

function readDate(ctx: EvaluationContext, v: string): number | undefined {
  if (!(ctx instanceof RequestContext)) return parseDate(v);
  if (ctx.lastDateText !== v) {
    ctx.lastDate = parseDate(v);
    ctx.lastDateText = v;
  }
  return ctx.lastDate;
}

function readNumber(ctx: EvaluationContext, v: string): number | undefined {
  if (!(ctx instanceof RequestContext)) return parseNumber(v);
  if (ctx.lastNumText !== v) {
    ctx.lastNum = parseNumber(v);
    ctx.lastNumText = v;
  }
  return ctx.lastNum;
}

/** Values of an already lower-cased key. */
export function lookup(ctx: EvaluationContext, lowerKey: string): readonly string[] | undefined {
  return ctx instanceof RequestContext ? ctx.lookup(lowerKey) : ctx.get(lowerKey);
}

/** 1: the request value matches some policy value; 0: none; -1: it cannot be compared. */
function compareValue(c: Clause, v: string, ctx: EvaluationContext, sink: ErrorSink): 1 | 0 | -1 {
  const fam = c.op.base.family;
  switch (fam) {
    case 'string': {
      if (c.strSet !== undefined ? c.strSet.has(v) : c.strs.includes(v)) return 1;
      for (const t of c.templates) if (resolveText(t, ctx) === v) return 1;
      return 0;
    }
    case 'stringci': {
      const lv = v.toLowerCase();
      if (c.strSet !== undefined ? c.strSet.has(lv) : c.strs.includes(lv)) return 1;
      for (const t of c.templates) if (resolveText(t, ctx)?.toLowerCase() === lv) return 1;
      return 0;
    }
    case 'like': {
      for (const g of c.globs) if (matchGlob(g, v)) return 1;
      for (const t of c.templates) if (matchTemplate(t, v, ctx)) return 1;
      return 0;
    }
    case 'numeric': {
      const n = readNumber(ctx, v);
      if (n === undefined) return unreadable(c, v, 'a number', sink);
      for (const p of c.nums) if (compareNum(n, p, c.op.base.cmp)) return 1;
      return 0;
    }
    case 'date': {
      const d = readDate(ctx, v);
      if (d === undefined) return unreadable(c, v, 'an ISO 8601 date or epoch seconds', sink);
      for (const p of c.nums) if (compareNum(d, p, c.op.base.cmp)) return 1;
      return 0;
    }
    case 'bool': {
      const b = parseBool(v);
      if (b === undefined) return unreadable(c, v, '"true" or "false"', sink);
      if (c.bools.includes(b)) return 1;
      // A policy variable is substituted, then read as a boolean. An unresolved
      // variable matches nothing; a substituted value that is not true/false
      // cannot be compared (fail closed, with an evaluation error).
      let unreadableTemplate: string | undefined;
      for (const t of c.templates) {
        const text = resolveText(t, ctx);
        if (text === undefined) continue;
        const p = parseBool(text);
        if (p === undefined) unreadableTemplate ??= `"${t.source}" resolves to "${text}"`;
        else if (p === b) return 1;
      }
      if (unreadableTemplate !== undefined) {
        sink.report(
          'ERR_CONTEXT_VALUE_TYPE',
          `${c.op.written} on "${c.name}": policy value ${unreadableTemplate}, which is not "true" or "false"`,
        );
        return -1;
      }
      return 0;
    }
    case 'binary': {
      const b = parseBase64(v);
      if (b === undefined) return unreadable(c, v, 'base64', sink);
      for (const p of c.bins) if (bytesEqual(p, b)) return 1;
      return 0;
    }
    case 'ip': {
      const ip = readIp(ctx, v);
      if (ip === undefined) return unreadable(c, v, 'an IP address', sink);
      for (const p of c.cidrs) if (cidrContains(p, ip)) return 1;
      return 0;
    }
    case 'arn': {
      const req = splitRequestArn(v);
      if (!req.ok) {
        for (const p of c.arns) if (p.any) return 1;
        return unreadable(c, v, 'an ARN', sink);
      }
      for (const p of c.arns) if (matchArn(p, req, ctx)) return 1;
      for (const t of c.templates) if (matchArnTemplate(t, req, ctx)) return 1;
      return 0;
    }
    default:
      return 0;
  }
}

function unreadable(c: Clause, v: string, what: string, sink: ErrorSink): -1 {
  sink.report(
    'ERR_CONTEXT_VALUE_TYPE',
    `${c.op.written} on "${c.name}": request value "${v}" is not ${what}`,
  );
  return -1;
}

/** True when every value is the empty string (`""` or `[""]`). */
function nullDataSet(vals: readonly string[]): boolean {
  for (const v of vals) if (v !== '') return false;
  return true;
}

/** Evaluates one condition. */
export function evalClause(c: Clause, ctx: EvaluationContext, sink: ErrorSink): boolean {
  const vals = lookup(ctx, c.key);
  const present = vals !== undefined && vals.length > 0;
  const o = c.op;
  if (o.base.family === 'null') {
    for (const b of c.bools) if (b === !present) return true;
    return false;
  }
  if (!present) {
    if (o.ifExists) return true;
    if (o.set === 1) return false;
    if (o.set === 2) return true;
    return o.base.negated;
  }
  // A value of only empty strings is a null data set for the set operators:
  // ForAllValues holds, ForAnyValue does not (IAM User Guide, multivalued keys).
  if (o.set !== 0 && nullDataSet(vals)) return o.set === 2;
  const neg = o.base.negated;
  if (o.set === 2 || (o.set === 0 && neg)) {
    // Every request value must satisfy.
    for (const v of vals) {
      const r = compareValue(c, v, ctx, sink);
      if (neg ? r !== 0 : r !== 1) return false;
    }
    return true;
  }
  // Some request value must satisfy.
  for (const v of vals) {
    const r = compareValue(c, v, ctx, sink);
    if (neg ? r === 0 : r === 1) return true;
  }
  return false;
}
