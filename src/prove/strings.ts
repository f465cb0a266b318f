/**
 * String conditions (StringEquals, StringEqualsIgnoreCase, StringLike and
 * their negations, with IfExists and the set forms) as automaton
 * predicates, and the representatives of a string key's domain. The
 * operator's negation, IfExists and set form do not change the cells: they
 * are all decided from the same "does this value match that policy value"
 * verdicts, which the partition keeps apart.
 */
import {
  globTokens,
  literalTokens,
  plusTokens,
  representatives,
  tokenPredicate,
  type Predicate,
  type Token,
} from './automaton.js';
import type { ConditionUse, ConditionValue, TemplatePart } from './inventory.js';
import { ProveUnknown } from './unknown.js';

/** The families of operators a string key may be read with. */
export const STRING_FAMILIES: ReadonlySet<string> = new Set(['string', 'stringci', 'like']);

/** Reads a variable's value in the cell being built; undefined when absent or not one value. */
export type VariableValue = (key: string) => string | undefined;

function partTokens(part: TemplatePart, family: string, vars: VariableValue): Token[] | undefined {
  if (part.t === 'lit') return literalTokens(part.text);
  if (part.t === 'pat') {
    return family === 'like'
      ? globTokens(part.text)
      : literalTokens(part.text, family === 'stringci');
  }
  // Substituted text is literal: a `*` from a value is never a wildcard (policy/variables.ts).
  const value = vars(part.key) ?? part.fallback;
  return value === undefined ? undefined : literalTokens(value, family === 'stringci');
}

/** The tokens of one policy value; undefined when a variable without default is absent (matches nothing). */
export function valueTokens(
  value: ConditionValue,
  family: string,
  vars: VariableValue,
): Token[] | undefined {
  if (value.kind === 'text') return partTokens({ t: 'pat', text: value.text }, family, vars);
  const out: Token[] = [];
  for (const part of value.parts) {
    const t = partTokens(part, family, vars);
    if (t === undefined) return undefined;
    out.push(...t);
  }
  return out;
}

/** A labelled string predicate. */
export interface LabelledPredicate {
  readonly predicate: Predicate;
  readonly label: string;
  /** Set when the predicate is equality with this one string (StringEquals on a constant). */
  readonly literal?: string;
}

function valueLabel(value: ConditionValue, family: string): string {
  const text =
    value.kind === 'text'
      ? value.text
      : value.parts.map((p) => (p.t === 'var' ? `\${${p.key}}` : p.text)).join('');
  const op = family === 'like' ? 'like' : family === 'stringci' ? '=~' : '=';
  return `${op} ${JSON.stringify(text)}`;
}

/** The predicates of `uses` (all on one key), with variables read through `vars`. */
export function stringPredicates(
  uses: readonly ConditionUse[],
  vars: VariableValue,
): LabelledPredicate[] {
  const out: LabelledPredicate[] = [];
  const seen = new Set<string>();
  for (const use of uses) {
    const family = use.op.base.family;
    if (family === 'null') continue;
    if (!STRING_FAMILIES.has(family)) {
      throw new ProveUnknown(
        'ERR_DIFF_UNKNOWN',
        `operator ${use.op.written} on ${use.key}`,
        use.place,
      );
    }
    for (const value of use.values) {
      const tokens = valueTokens(value, family, vars);
      if (tokens === undefined) continue;
      const label = valueLabel(value, family);
      // Templates differ per cell, so only constants are merged.
      if (value.kind === 'text') {
        if (seen.has(label)) continue;
        seen.add(label);
      }
      const literal = family === 'string' && value.kind === 'text' ? value.text : undefined;
      out.push({
        predicate: tokenPredicate(tokens),
        label,
        ...(literal === undefined ? {} : { literal }),
      });
    }
  }
  return out;
}

/** One representative value of a string key, with a description of its cell. */
export interface StringRep {
  readonly text: string;
  readonly label: string;
  /**
   * The empty string kept apart only because a list of nothing but empty
   * strings is a null data set: inside a list with other values it reads
   * like the other value with the same verdicts, so lists need it alone.
   */
  readonly nullOnly?: boolean;
}

/** Options of {@link stringReps}. */
export interface StringRepOptions {
  /** Characters a value may hold (a realisable header, host or claim). Default: anything but controls. */
  readonly allowed?: (c: string) => boolean;
  /** Extra domain restrictions (non-empty, a claim pattern). Default none. */
  readonly required?: readonly Predicate[];
  readonly what: string;
  /** Keep the empty string apart from other values (a claim that may be a list). Default false. */
  readonly separateEmpty?: boolean;
}

/** Characters a header value can carry: anything but controls. */
const HEADER_CHAR = (c: string): boolean => c >= ' ' && c !== '\u007f';

/**
 * Tells the empty string apart from other values no policy value matches:
 * for the set operators the engine reads a list of empty strings as a null
 * data set (absent), unlike any other value.
 */
const NON_EMPTY = tokenPredicate(plusTokens(() => true, []));

/**
 * The cells of equality constants alone, without a search: each constant
 * is a cell of its own and every other string shares one cell (plus the
 * empty string when kept apart). Undefined when a predicate is no constant
 * or no short fresh value is left.
 */
function literalReps(
  predicates: readonly LabelledPredicate[],
  options: StringRepOptions,
): StringRep[] | undefined {
  const literals = predicates.map((p) => p.literal);
  if (literals.some((l) => l === undefined)) return undefined;
  const constants = new Set(literals as string[]);
  const allowed = options.allowed ?? HEADER_CHAR;
  const fits = (text: string): boolean =>
    [...text].every(allowed) &&
    (options.required ?? []).every((p) => {
      let st = p.init;
      for (const c of text) st = p.step(st, c);
      return p.accept(st);
    });
  const other = [...'xqzjkvwy0123456789'].find((c) => !constants.has(c) && fits(c));
  if (other === undefined) return undefined;
  const out: StringRep[] = [...constants]
    .filter(fits)
    .map((text) => ({ text, label: `= ${JSON.stringify(text)}` }));
  out.push({ text: other, label: 'other' });
  if (options.separateEmpty === true && !constants.has('') && fits('')) {
    out.push({ text: '', label: 'empty', nullOnly: true });
  }
  return out;
}

/** One value per cell of the partition `predicates` induce (see {@link representatives}). */
export function stringReps(
  predicates: readonly LabelledPredicate[],
  options: StringRepOptions,
): StringRep[] {
  const quick = literalReps(predicates, options);
  if (quick !== undefined) return quick;
  const empty = options.separateEmpty === true ? [NON_EMPTY] : [];
  const reps = representatives([...predicates.map((p) => p.predicate), ...empty], {
    allowed: options.allowed ?? HEADER_CHAR,
    ...(options.required === undefined ? {} : { required: options.required }),
    what: options.what,
  });
  const n = predicates.length;
  const policyVerdicts = (v: readonly boolean[]): string => v.slice(0, n).join();
  return reps.map((r) => {
    const held = [
      ...new Set(predicates.filter((_, i) => r.verdicts[i] === true).map((p) => p.label)),
    ];
    const other = r.text === '' ? 'empty' : 'other';
    const twin =
      r.text === '' &&
      empty.length > 0 &&
      reps.some((o) => o.text !== '' && policyVerdicts(o.verdicts) === policyVerdicts(r.verdicts));
    return {
      text: r.text,
      label: held.length === 0 ? other : held.join(' and '),
      ...(twin ? { nullOnly: true } : {}),
    };
  });
}
