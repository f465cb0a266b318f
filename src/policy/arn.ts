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
import {
  ANY_GLOB,
  compact,
  compileGlob,
  matchGlob,
  matchGlobRange,
  matchItems,
  STAR,
  type Glob,
  type GlobItem,
} from './glob.js';
import type { EvaluationContext } from './types.js';
import {
  parseTemplate,
  resolveItems,
  isDynamic,
  matchTemplate,
  type Template,
} from './variables.js';

/**
 * A request-side ARN, located once per request: the offsets of its first
 * five colons (no substrings are made unless a pattern needs them).
 */
export interface RequestArn {
  readonly text: string;
  /** Starts with `arn:` and has at least five colons. */
  readonly ok: boolean;
  /** Offsets of the first five colons. */
  readonly cuts: readonly number[];
  /** More than five colons. */
  readonly extra: boolean;
}

export function splitRequestArn(text: string): RequestArn {
  const cuts: number[] = [];
  if (!text.startsWith('arn:')) return { text, ok: false, cuts, extra: false };
  let idx = 3;
  cuts.push(3);
  for (let i = 1; i < 5; i++) {
    idx = text.indexOf(':', idx + 1);
    if (idx < 0) return { text, ok: false, cuts, extra: false };
    cuts.push(idx);
  }
  return { text, ok: true, cuts, extra: text.indexOf(':', idx + 1) >= 0 };
}

/** Start and end offsets of head segment `i` (0..4), or of the rest for `i` = 5. */
function segStart(req: RequestArn, i: number): number {
  return i === 0 ? 0 : (req.cuts[i - 1] ?? 0) + 1;
}
function segEnd(req: RequestArn, i: number): number {
  return i === 5 ? req.text.length : (req.cuts[i] ?? 0);
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
  /** Literal text the request must start with (up to the first wildcard or the fifth colon). */
  readonly prefix: string;
  /** Indices of head segments the prefix does not settle and that are not "*". */
  readonly checks: readonly number[];
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
        prefix: '',
        checks: [],
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
    head.push(seg === '*' ? ANY_GLOB : compileGlob(seg));
    crossing.push(cross && seg.endsWith('*'));
  }
  const headLength = parts.slice(0, 5).join(':').length + 1; // through the fifth colon
  let wild = headLength;
  for (let i = 0; i < headLength; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 42 || ch === 63) {
      wild = i;
      break;
    }
  }
  const prefix = text.slice(0, wild);
  const covered = prefix.split(':').length - 1; // segments closed by a colon inside the prefix
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
      head: compact(head),
      cross: compact(crossing),
      anyCross: crossing.includes(true),
      prefix,
      checks: compact([0, 1, 2, 3, 4].filter((i) => i >= covered && head[i]?.kind !== 0)),
      rest,
      restTemplate,
    },
  };
}

/** The variables the resource part of a pattern uses. */
export function patternVariables(p: ArnPattern): readonly string[] {
  return p.restTemplate?.vars ?? [];
}

function matchRest(p: ArnPattern, rest: string, ctx: EvaluationContext): boolean {
  if (p.rest !== undefined) return matchGlob(p.rest, rest);
  return p.restTemplate !== undefined && matchTemplate(p.restTemplate, rest, ctx);
}

/** Matches a request ARN against a compiled pattern; variables resolve from `ctx`. */
export function matchArn(p: ArnPattern, req: RequestArn, ctx: EvaluationContext): boolean {
  if (p.any) return true;
  if (!req.ok) return false;
  if (!p.anyCross || !req.extra) {
    const text = req.text;
    if (!text.startsWith(p.prefix)) return false;
    const start = segStart(req, 5);
    if (p.rest !== undefined) {
      if (!matchGlobRange(p.rest, text, start, text.length)) return false;
    } else if (
      p.restTemplate === undefined ||
      !matchTemplate(p.restTemplate, text, ctx, start, text.length)
    ) {
      return false;
    }
    // The prefix settled the leading segments; "*" segments match anything.
    for (const i of p.checks) {
      const g = p.head[i];
      if (g === undefined || !matchGlobRange(g, text, segStart(req, i), segEnd(req, i)))
        return false;
    }
    return true;
  }
  return matchCrossing(p, req.text.split(':'), ctx);
}

/** Segment alignment when a segment-final `*` may swallow extra colon-separated parts. */
function matchCrossing(p: ArnPattern, parts: readonly string[], ctx: EvaluationContext): boolean {
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
    if (cur[ri] === 1 && matchRest(p, parts.slice(ri).join(':'), ctx)) return true;
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
  if (!req.ok) return false;
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
    if (seg === undefined || !matchItems(seg, req.text, segStart(req, i), segEnd(req, i)))
      return false;
  }
  const last = segs[5];
  return last !== undefined && matchItems(last, req.text, segStart(req, 5), req.text.length);
}
