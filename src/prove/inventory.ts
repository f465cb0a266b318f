/**
 * What the prover reads of a configuration's policy documents: every
 * condition (operator, key, values, place) and every Resource pattern. It
 * reads the documents as written, after the engine has compiled them (a
 * document that does not compile never reaches here), so it only has to
 * collect, not to validate.
 */
import { parseOperator, type ParsedOperator } from '../policy/conditions.js';
import { ProveUnknown, type ConstructPlace } from './unknown.js';

/** One policy document and where it sits in the configuration. */
export interface ProveDocument {
  /** The role it belongs to; absent for a guardrail. */
  readonly role?: string;
  readonly layer: 'trust' | 'identity' | 'boundary' | 'guardrail';
  readonly name: string;
  readonly file: string;
  /** JSON path of the document inside `file` (`$` for a file of its own). */
  readonly basePath: string;
  readonly document: unknown;
}

/** A condition value: a constant, or a template with `${...}` policy variables. */
export type ConditionValue =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'template'; readonly parts: readonly TemplatePart[] };

/** Literal text (with wildcards where the operator reads them), or a variable. */
export type TemplatePart =
  | { readonly t: 'pat'; readonly text: string }
  | { readonly t: 'lit'; readonly text: string }
  | { readonly t: 'var'; readonly key: string; readonly fallback: string | undefined };

/** One (operator, key) clause of a Condition block. */
export interface ConditionUse {
  readonly op: ParsedOperator;
  /** Lower-cased key. */
  readonly key: string;
  readonly values: readonly ConditionValue[];
  readonly place: ConstructPlace;
  readonly trust: boolean;
}

/** A Resource or NotResource pattern of a permission document. */
export interface ResourceUse {
  readonly text: string;
  readonly place: ConstructPlace;
}

/** Everything the prover partitions the request space by. */
export interface Inventory {
  readonly conditions: ConditionUse[];
  readonly resources: ResourceUse[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function listOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

const VARIABLE = /\$\{([^}]*)\}/g;
const VAR_INNER = /^\s*([^\s,'{}$]+)\s*(?:,\s*'([^']*)'\s*)?$/;

/** Splits `${...}` out of a value (Version 2012-10-17 only); `${*}`, `${?}`, `${$}` are literal. */
export function templateOf(text: string, place: ConstructPlace): ConditionValue {
  if (!text.includes('${')) return { kind: 'text', text };
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of text.matchAll(VARIABLE)) {
    if (m.index > last) parts.push({ t: 'pat', text: text.slice(last, m.index) });
    last = m.index + m[0].length;
    const inner = m[1] ?? '';
    if (inner === '*' || inner === '?' || inner === '$') {
      parts.push({ t: 'lit', text: inner });
      continue;
    }
    const v = VAR_INNER.exec(inner);
    if (v === null) throw new ProveUnknown('ERR_DIFF_UNKNOWN', `policy variable ${m[0]}`, place);
    parts.push({ t: 'var', key: (v[1] ?? '').toLowerCase(), fallback: v[2] });
  }
  if (last < text.length) parts.push({ t: 'pat', text: text.slice(last) });
  // `${*}`, `${?}` and `${$}` alone still make a template: their characters are literal.
  return { kind: 'template', parts };
}

function statementsOf(doc: unknown): { value: unknown; path: string; index: number }[] {
  if (!isRecord(doc)) return [];
  const st = doc['Statement'];
  if (Array.isArray(st))
    return st.map((value, index) => ({ value, path: `.Statement[${index}]`, index }));
  return st === undefined ? [] : [{ value: st, path: '.Statement', index: 0 }];
}

function labelOf(stmt: unknown, index: number): string {
  const sid = isRecord(stmt) ? stmt['Sid'] : undefined;
  return typeof sid === 'string' && sid !== '' ? sid : `#${index}`;
}

/** Adds one document's conditions and resources to `into`. */
export function inventoryOf(doc: ProveDocument, into: Inventory): void {
  const variables = isRecord(doc.document) && doc.document['Version'] === '2012-10-17';
  for (const { value, path, index } of statementsOf(doc.document)) {
    if (!isRecord(value)) continue;
    const where = (suffix: string): ConstructPlace => ({
      file: doc.file,
      policy: doc.name,
      statement: labelOf(value, index),
      path: doc.basePath + path + suffix,
    });
    if (value['NotPrincipal'] !== undefined) {
      throw new ProveUnknown('ERR_DIFF_UNKNOWN', 'NotPrincipal', where('.NotPrincipal'));
    }
    if (doc.layer !== 'trust') {
      for (const el of ['Resource', 'NotResource']) {
        listOf(value[el]).forEach((r, i) => {
          if (typeof r === 'string') into.resources.push({ text: r, place: where(`.${el}[${i}]`) });
        });
      }
    }
    const cond = value['Condition'];
    if (!isRecord(cond)) continue;
    for (const [opName, block] of Object.entries(cond)) {
      const op = parseOperator(opName);
      if (op === undefined || !isRecord(block)) continue;
      for (const [key, raw] of Object.entries(block)) {
        const place = where(`.Condition["${opName}"]["${key}"]`);
        const values = listOf(raw).map((v) =>
          variables && typeof v === 'string'
            ? templateOf(v, place)
            : { kind: 'text' as const, text: String(v) },
        );
        into.conditions.push({
          op,
          key: key.toLowerCase(),
          values,
          place,
          trust: doc.layer === 'trust',
        });
      }
    }
  }
}
