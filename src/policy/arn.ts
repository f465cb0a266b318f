/**
 * ARN patterns: `arn:partition:service:region:account:resource`.
 *
 * The first five colon-separated segments are matched one by one; a
 * wildcard inside them never crosses a colon, except that (as the IAM User
 * Guide says for Resource) a `*` that is the last character of a segment
 * may expand beyond the colon boundary. In the resource part (after the
 * fifth colon) `*` matches anything, `/` and `:` included. `"*"` alone
 * matches everything. Matching is case-sensitive.
 */
import { compileGlob, matchGlob, matchItems, STAR, type Glob, type GlobItem } from './glob.js';
import type { EvaluationContext } from './types.js';
import { parseTemplate, resolveItems, isDynamic, type Template } from './variables.js';

/** A request-side ARN, split once per request. */
export interface RequestArn {
  readonly text: string;
  /** All colon-separated parts; fewer than 6 means "not an ARN". */
  readonly parts: readonly string[];
  /** Everything after the fifth colon ('' when not an ARN). */
  readonly rest: string;
}

export function splitRequestArn(text: string): RequestArn {
  const parts = text.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return { text, parts: [], rest: '' };
  let idx = -1;
  for (let i = 0; i < 5; i++) idx = text.indexOf(':', idx + 1);
  return { text, parts, rest: text.slice(idx + 1) };
}

/** A compiled Resource / NotResource / Arn* value. */
export interface ArnPattern {
  readonly source: string;
  /** `"*"`: matches everything. */
  readonly any: boolean;
  readonly head: readonly Glob[];
  /** Per head segment: it ends with `*` and may cross colons. */
  readonly cross: readonly boolean[];
  readonly anyCross: boolean;
  /** Static resource part. */
  readonly rest: Glob | undefined;
  /** Resource part holding policy variables. */
  readonly restTemplate: Template | undefined;
}

export type ArnCompile =
  | { readonly ok: true; readonly pattern: ArnPattern }
  | {
      readonly ok: false;
      readonly reason: 'arn' | 'variable-syntax' | 'placement';
      readonly message: string;
    };

/**
 * Splits ARN text at its first five colons, skipping colons inside `${...}`.
 * Returns fewer than 6 parts when there are not enough colons.
 */
export function splitArnText(text: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length && parts.length < 5) {
    if (text.startsWith('${', i)) {
      const close = text.indexOf('}', i + 2);
      i = close < 0 ? text.length : close + 1;
      continue;
    }
    if (text.charCodeAt(i) === 58 /* : */) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
    i++;
  }
  parts.push(text.slice(start));
  return parts;
}

const ARN_PREFIX_HELP = 'an ARN must be "*" or "arn:partition:service:region:account:resource"';

/**
 * Compiles an ARN pattern. `variables`: whether `${...}` is substituted
 * (2012-10-17) — then only in the resource part. `cross`: allow the
 * segment-final-`*` colon crossing (Resource element).
 */
export function compileArnPattern(text: string, variables: boolean, cross: boolean): ArnCompile {
  if (text === '*') {
    return {
      ok: true,
      pattern: {
        source: text,
        any: true,
        head: [],
        cross: [],
        anyCross: false,
        rest: undefined,
        restTemplate: undefined,
      },
    };
  }
  const parts = splitArnText(text);
  if (parts.length < 6 || parts[0] !== 'arn') {
    return {
      ok: false,
      reason: 'arn',
      message: `"${text}" is not a valid ARN: ${ARN_PREFIX_HELP}`,
    };
  }
  const head: Glob[] = [];
  const crossing: boolean[] = [];
  for (let i = 0; i < 5; i++) {
    const seg = parts[i] ?? '';
    if (variables && seg.includes('${')) {
      return {
        ok: false,
        reason: 'placement',
        message: `"${text}": policy variables may appear only in the resource part of an ARN (after the fifth colon)`,
      };
    }
    head.push(compileGlob(seg));
    crossing.push(cross && seg.endsWith('*'));
  }
  const restText = parts[5] ?? '';
  let rest: Glob | undefined;
  let restTemplate: Template | undefined;
  if (variables && restText.includes('${')) {
    const t = parseTemplate(restText);
    if (!t.ok) return { ok: false, reason: 'variable-syntax', message: `"${text}": ${t.message}` };
    if (isDynamic(t.template)) restTemplate = t.template;
    else rest = compileGlob(restText);
  } else {
    rest = compileGlob(restText);
  }
  return {
    ok: true,
    pattern: {
      source: text,
      any: false,
      head,
      cross: crossing,
      anyCross: crossing.includes(true),
      rest,
      restTemplate,
    },
  };
}

/** The variables the resource part of a pattern uses. */
export function patternVariables(p: ArnPattern): readonly string[] {
  return p.restTemplate?.vars ?? [];
}

function matchRest(p: ArnPattern, rest: string, items: readonly GlobItem[] | undefined): boolean {
  if (p.rest !== undefined) return matchGlob(p.rest, rest);
  return items !== undefined && matchItems(items, rest);
}

/** Matches a request ARN against a compiled pattern; variables resolve from `ctx`. */
export function matchArn(p: ArnPattern, req: RequestArn, ctx: EvaluationContext): boolean {
  if (p.any) return true;
  const parts = req.parts;
  if (parts.length < 6) return false;
  let items: GlobItem[] | undefined;
  if (p.restTemplate !== undefined) {
    items = resolveItems(p.restTemplate, ctx);
    if (items === undefined) return false; // unresolved variable: matches nothing
  }
  if (!p.anyCross || parts.length === 6) {
    for (let i = 0; i < 5; i++) {
      const g = p.head[i];
      const s = parts[i];
      if (g === undefined || s === undefined || !matchGlob(g, s)) return false;
    }
    return matchRest(p, req.rest, items);
  }
  return matchCrossing(p, parts, items);
}

/** Segment alignment when a segment-final `*` may swallow extra colon-separated parts. */
function matchCrossing(
  p: ArnPattern,
  parts: readonly string[],
  items: readonly GlobItem[] | undefined,
): boolean {
  const n = parts.length;
  let cur = new Uint8Array(n + 1);
  cur[0] = 1;
  for (let pi = 0; pi < 5; pi++) {
    const next = new Uint8Array(n + 1);
    const g = p.head[pi];
    if (g === undefined) return false;
    let any = false;
    for (let ri = 0; ri < n; ri++) {
      const s = parts[ri];
      if (cur[ri] !== 1 || s === undefined || !matchGlob(g, s)) continue;
      if (p.cross[pi] === true) {
        for (let rj = ri + 1; rj < n; rj++) next[rj] = 1;
      } else if (ri + 1 < n) {
        next[ri + 1] = 1;
      }
      any = true;
    }
    if (!any) return false;
    cur = next;
  }
  for (let ri = 0; ri < n; ri++) {
    if (cur[ri] === 1 && matchRest(p, parts.slice(ri).join(':'), items)) return true;
  }
  return false;
}

/**
 * An Arn* condition value with variables anywhere: resolved per request,
 * then matched segment by segment (no colon crossing in the first five).
 */
export function matchArnTemplate(t: Template, req: RequestArn, ctx: EvaluationContext): boolean {
  const items = resolveItems(t, ctx);
  if (items === undefined) return false;
  if (items.length === 1 && items[0] === STAR) return true;
  if (req.parts.length < 6) return false;
  const segs: GlobItem[][] = [[]];
  for (const it of items) {
    if (typeof it !== 'string' || segs.length >= 6) {
      segs[segs.length - 1]?.push(it);
      continue;
    }
    let start = 0;
    let idx = it.indexOf(':');
    while (idx >= 0 && segs.length < 6) {
      if (idx > start) segs[segs.length - 1]?.push(it.slice(start, idx));
      segs.push([]);
      start = idx + 1;
      idx = segs.length < 6 ? it.indexOf(':', start) : -1;
    }
    if (start < it.length) segs[segs.length - 1]?.push(it.slice(start));
  }
  if (segs.length < 6) return false;
  for (let i = 0; i < 5; i++) {
    const seg = segs[i];
    const s = req.parts[i];
    if (seg === undefined || s === undefined || !matchItems(seg, s)) return false;
  }
  const last = segs[5];
  return last !== undefined && matchItems(last, req.rest);
}
