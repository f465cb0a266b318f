/**
 * Policy variables (`${key}`, `${key, 'default'}`, `${*}`, `${?}`, `${$}`).
 * A template is parsed once at load time; resolving it per request only
 * looks keys up in the context. Substituted text is always literal: a `*`
 * that comes from a request value or a default never acts as a wildcard.
 */
import type { EvaluationContext } from './types.js';
import { RequestContext } from './context.js';
import { compact, matchItemsWith, parseGlob, type GlobItem } from './glob.js';

/** Pattern text written in the policy (wildcards active where the operator allows them). */
export interface PatternPart {
  readonly t: 'pat';
  readonly text: string;
  readonly items: readonly GlobItem[];
}
/** Literal text that is never a wildcard (`${*}`, `${?}`, `${$}`). */
export interface LiteralPart {
  readonly t: 'lit';
  readonly text: string;
}
/** A context key to substitute. */
export interface VariablePart {
  readonly t: 'var';
  /** Lower-cased key name. */
  readonly key: string;
  /** The key as written. */
  readonly name: string;
  readonly fallback: string | undefined;
}
export type TemplatePart = PatternPart | LiteralPart | VariablePart;

/** A template item: a glob item, or a variable whose value is literal text. */
export type TemplateItem = GlobItem | VariablePart;

/** A parsed template; `vars` lists the variables' key names as written. */
export interface Template {
  readonly parts: readonly TemplatePart[];
  /** Flattened items for allocation-free matching. */
  readonly items: readonly TemplateItem[];
  /** The variable parts. */
  readonly varParts: readonly VariablePart[];
  readonly vars: readonly string[];
  readonly source: string;
}

export type TemplateParse =
  | { readonly ok: true; readonly template: Template }
  | { readonly ok: false; readonly message: string };

const VAR_INNER = /^\s*([^\s,'{}$]+)\s*(?:,\s*'([^']*)'\s*)?$/;

/** True when the text contains `${`, i.e. something that looks like a variable. */
export function looksLikeVariable(text: string): boolean {
  return text.includes('${');
}

/** Parses `text` into a template. Text without `${` yields one pattern part. */
export function parseTemplate(text: string): TemplateParse {
  const parts: TemplatePart[] = [];
  const vars: string[] = [];
  let pending = '';
  const flush = (): void => {
    if (pending !== '') parts.push({ t: 'pat', text: pending, items: compact(parseGlob(pending)) });
    pending = '';
  };
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('${', i);
    if (open < 0) {
      pending += text.slice(i);
      break;
    }
    pending += text.slice(i, open);
    const close = text.indexOf('}', open + 2);
    if (close < 0) return { ok: false, message: `unterminated policy variable at offset ${open}` };
    const inner = text.slice(open + 2, close);
    if (inner === '*' || inner === '?' || inner === '$') {
      flush();
      parts.push({ t: 'lit', text: inner });
    } else {
      const m = VAR_INNER.exec(inner);
      const name = m?.[1];
      if (m === null || name === undefined) {
        return { ok: false, message: `malformed policy variable "\${${inner}}"` };
      }
      flush();
      parts.push({ t: 'var', key: name.toLowerCase(), name, fallback: m[2] });
      vars.push(name);
    }
    i = close + 1;
  }
  flush();
  const items: TemplateItem[] = [];
  for (const p of parts) {
    if (p.t === 'pat') items.push(...p.items);
    else if (p.t === 'lit') items.push(p.text);
    else items.push(p);
  }
  const varParts = parts.filter((p): p is VariablePart => p.t === 'var');
  return {
    ok: true,
    template: {
      parts: compact(parts),
      items: compact(items),
      varParts: compact(varParts),
      vars: compact(vars),
      source: text,
    },
  };
}

/** True when any part is a variable or literal escape (the template is not plain text). */
export function isDynamic(t: Template): boolean {
  return t.parts.some((p) => p.t !== 'pat');
}

/**
 * The value a variable takes in this request: the key's single value, else
 * the default, else `undefined` (absent, or several values).
 */
export function variableValue(part: VariablePart, ctx: EvaluationContext): string | undefined {
  const v = ctx instanceof RequestContext ? ctx.lookup(part.key) : ctx.get(part.key);
  if (v !== undefined && v.length === 1) return v[0];
  return part.fallback;
}

/** Resolves to plain text (wildcards in the written text stay as characters); `undefined` when a variable is unresolved. */
export function resolveText(t: Template, ctx: EvaluationContext): string | undefined {
  let out = '';
  for (const p of t.parts) {
    if (p.t === 'var') {
      const v = variableValue(p, ctx);
      if (v === undefined) return undefined;
      out += v;
    } else {
      out += p.text;
    }
  }
  return out;
}

/** Resolves to glob items: written wildcards stay active, substituted text is literal. */
export function resolveItems(t: Template, ctx: EvaluationContext): GlobItem[] | undefined {
  const out: GlobItem[] = [];
  for (const p of t.parts) {
    if (p.t === 'pat') {
      for (const it of p.items) out.push(it);
    } else if (p.t === 'lit') {
      out.push(p.text);
    } else {
      const v = variableValue(p, ctx);
      if (v === undefined) return undefined;
      if (v !== '') out.push(v);
    }
  }
  return out;
}

/**
 * Matches `s` against a template with wildcards active in the written text
 * and substituted values literal, without building the resolved pattern.
 * An unresolved variable makes the template match nothing.
 */
export function matchTemplate(
  t: Template,
  s: string,
  ctx: EvaluationContext,
  start = 0,
  end = s.length,
): boolean {
  const vp = t.varParts;
  // One variable (the common case): resolve it once.
  let only: string | undefined;
  if (vp.length === 1) {
    const first = vp[0];
    only = first === undefined ? undefined : variableValue(first, ctx);
    if (only === undefined) return false;
  } else {
    for (const p of vp) if (variableValue(p, ctx) === undefined) return false;
  }
  return matchItemsWith(t.items, s, start, end, (part: VariablePart) =>
    only !== undefined ? only : (variableValue(part, ctx) ?? ''),
  );
}

/** Lower-cases the literal text of glob items (for case-insensitive matching). */
export function lowerItems(items: readonly GlobItem[]): GlobItem[] {
  return items.map((it) => (typeof it === 'string' ? it.toLowerCase() : it));
}
