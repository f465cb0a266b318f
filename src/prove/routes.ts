/**
 * The path dimension. A route `P1{id}P2` sees paths `P1 p P2[/]`; the
 * parameter `p` becomes part of the resource ARN. The paths that matter
 * are split by every route's path pattern (of both configurations, so a
 * path that another route catches first is kept apart), by every resource
 * pattern applied to the resource a route builds from the path, and by
 * `http:path` conditions. For each route the parameter's cells come from
 * {@link representatives} over those predicates read between `P1` and
 * `P2`: one canonical path per cell.
 */
import { canonicalPath } from '../request/canonical-path.js';
import {
  accepting,
  close,
  globTokens,
  literalTokens,
  matches,
  plusTokens,
  representatives,
  quotient,
  run,
  start,
  step,
  tokenPredicate,
  type Positions,
  type Predicate,
  type Token,
  type Tokens,
} from './automaton.js';
import type { ConditionUse, ResourceUse } from './inventory.js';
import { stringPredicates } from './strings.js';
import { ProveUnknown, type ConstructPlace } from './unknown.js';

/** One route as configured (method upper-cased or `*`). */
export interface RouteSpec {
  readonly method: string;
  readonly path: string;
  readonly action: string;
  readonly resource: string;
  readonly place: ConstructPlace;
}

const PARAM = /\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}/g;

/** A route's path split around its one parameter, and its path tokens. */
interface RouteShape {
  readonly head: string;
  readonly tail: string;
  readonly plus: boolean;
  readonly hasParam: boolean;
  /** Path tokens; the parameter (when any) is at `k` and `k + 1`. */
  readonly tokens: Tokens;
  readonly k: number;
  /** Resource text before and after the parameter, when the resource uses it. */
  readonly resource?: { readonly head: string; readonly tail: string };
}

const notSlash = (c: string): boolean => c !== '/';

function unknownRoute(spec: RouteSpec, what: string): ProveUnknown {
  return new ProveUnknown(
    'ERR_DIFF_UNKNOWN',
    `route ${spec.method} ${spec.path}: ${what}`,
    spec.place,
  );
}

/** Splits a route; refuses shapes whose parameter is not read unambiguously. */
export function routeShape(spec: RouteSpec): RouteShape {
  const params = [...spec.path.matchAll(PARAM)];
  if (params.length > 1) throw unknownRoute(spec, 'more than one path parameter');
  if ([...spec.action.matchAll(PARAM)].length > 0)
    throw unknownRoute(spec, 'a parameter in the action');
  const m = params[0];
  if (m === undefined) {
    const tokens = [
      ...literalTokens(spec.path),
      { test: (c: string) => c === '/', repeat: 'opt' as const, names: ['/'] },
    ];
    return { head: spec.path, tail: '', plus: false, hasParam: false, tokens, k: -1 };
  }
  const head = spec.path.slice(0, m.index);
  const tail = spec.path.slice(m.index + m[0].length);
  const plus = m[2] === '+';
  if (plus && tail !== '') throw unknownRoute(spec, `{${m[1] ?? ''}+} before the end of the path`);
  if (!plus && tail !== '' && !tail.startsWith('/')) {
    throw unknownRoute(spec, `{${m[1] ?? ''}} not followed by "/"`);
  }
  const param = plusTokens(plus ? () => true : notSlash, ['/']);
  const tokens: Token[] = [...literalTokens(head), ...param, ...literalTokens(tail)];
  // `(.+)/?$` is greedy: the parameter keeps a final slash, so no optional one follows it.
  if (!plus) tokens.push({ test: (c) => c === '/', repeat: 'opt', names: ['/'] });
  const uses = spec.resource.split(`{${m[1] ?? ''}${m[2] ?? ''}}`);
  if ([...spec.resource.matchAll(PARAM)].length !== uses.length - 1 || uses.length > 2) {
    throw unknownRoute(
      spec,
      'a resource template that uses the parameter more than once, or another one',
    );
  }
  const shape = { head, tail, plus, hasParam: true, tokens, k: head.length };
  if (uses.length === 1) return shape;
  const rHead = uses[0] ?? '';
  if (rHead.split(':').length < 6)
    throw unknownRoute(spec, 'a parameter inside the first five ARN segments');
  return { ...shape, resource: { head: rHead, tail: uses[1] ?? '' } };
}

/** The first five segments of an ARN and the rest. */
function arnParts(text: string): { segments: string[]; rest: string } | undefined {
  const parts = text.split(':');
  if (parts.length < 6) return undefined;
  return { segments: parts.slice(0, 5), rest: parts.slice(5).join(':') };
}

/**
 * "The path matches this route and `pattern` matches the resource it
 * builds": an NFA over (route position, resource position) pairs, checked
 * against the resource's tail when the parameter ends.
 */
function compositePredicate(
  shape: RouteShape,
  pattern: Tokens,
  rStart: Positions,
  rTail: string,
): Predicate<readonly number[]> {
  const T = shape.tokens;
  const k = shape.k;
  const W = pattern.length + 3;
  const enc = (i: number, r: number): number => i * W + (r + 2);
  const closeC = (seed: [number, number][]): number[] => {
    const out = new Set<number>();
    const todo = [...seed];
    while (todo.length > 0) {
      const [i, r] = todo.pop() as [number, number];
      if (out.has(enc(i, r))) continue;
      out.add(enc(i, r));
      const t = T[i];
      if (t === undefined || t.repeat === 'one') continue;
      if (i !== k + 1) todo.push([i + 1, r]);
      else if (r >= 0 && accepting(pattern, run(pattern, close(pattern, [r]), rTail)))
        todo.push([k + 2, -2]);
    }
    return [...out].sort((a, b) => a - b);
  };
  const stepC = (s: readonly number[], c: string): number[] => {
    const next: [number, number][] = [];
    for (const code of s) {
      const i = Math.floor(code / W);
      const r = (code % W) - 2;
      const t = T[i];
      if (t === undefined || !t.test(c)) continue;
      if (i === k)
        for (const r0 of rStart) for (const r1 of step(pattern, [r0], c)) next.push([k + 1, r1]);
      else if (i === k + 1) for (const r1 of step(pattern, [r], c)) next.push([k + 1, r1]);
      else next.push([t.repeat === 'star' ? i : i + 1, r]);
    }
    return closeC(next);
  };
  return {
    init: closeC([[0, -1]]),
    step: stepC,
    accept: (s) => s.includes(enc(T.length, -2)),
    key: (s) => s.join(','),
    dead: (s) => s.length === 0,
    names: [...T.flatMap((t) => t.names), ...pattern.flatMap((t) => t.names), ...rTail],
  };
}

/** A Resource pattern split once: its first five segments and the tokens of the rest. */
interface ParsedResource {
  readonly segments: readonly Tokens[];
  /** The service segment when it holds no wildcard: an index key. */
  readonly service: string | undefined;
  readonly rest: Tokens;
}

function parseResources(resources: readonly ResourceUse[]): ParsedResource[] {
  const out: ParsedResource[] = [];
  const seen = new Set<string>();
  for (const r of resources) {
    if (r.text === '*' || seen.has(r.text)) continue;
    seen.add(r.text);
    const parts = arnParts(r.text);
    if (parts === undefined)
      throw new ProveUnknown('ERR_DIFF_UNKNOWN', `Resource ${r.text} is not an ARN`, r.place);
    const service = parts.segments[2] ?? '';
    out.push({
      segments: parts.segments.map((s) => globTokens(s)),
      service: /[*?]/.test(service) ? undefined : service,
      rest: globTokens(parts.rest),
    });
  }
  return out;
}

/** The resource predicates of one route: one per pattern its resource can meet. */
function resourcePredicates(
  spec: RouteSpec,
  shape: RouteShape,
  resources: readonly ParsedResource[],
): Predicate[] {
  const tmpl = shape.resource;
  if (tmpl === undefined) return [];
  const fixed = arnParts(tmpl.head);
  if (fixed === undefined) throw unknownRoute(spec, 'a resource that is not an ARN');
  const out: Predicate[] = [];
  for (const r of resources) {
    if (r.service !== undefined && r.service !== fixed.segments[2]) continue;
    // Wildcards never cross the colons of the first five segments: each is matched on its own.
    if (!r.segments.every((seg, i) => matches(seg, fixed.segments[i] ?? ''))) continue;
    const rStart = run(r.rest, start(r.rest), fixed.rest);
    if (rStart.length === 0) continue;
    out.push(compositePredicate(shape, r.rest, rStart, tmpl.tail));
  }
  return out;
}

const spellings = new Map<string, string | undefined>();
/**
 * How a character of a canonical path is written in a request target: as
 * itself, or percent-encoded (a space, `?`); undefined when no target
 * yields it (a `#`, an encoded `/`).
 */
function spelling(c: string): string | undefined {
  if (spellings.has(c)) return spellings.get(c);
  const want = `/a${c}b`;
  const encoded =
    c.length === 1 && c.charCodeAt(0) < 0x80
      ? `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`
      : undefined;
  const found = [c, encoded].find((s) => {
    if (s === undefined) return false;
    const result = canonicalPath(`/a${s}b`);
    return result.ok && result.path === want;
  });
  spellings.set(c, found);
  return found;
}

const pathChar = (c: string): boolean => spelling(c) !== undefined;

/** The canonical path of a request target (`path` itself for the targets {@link pathReps} gives). */
export function canonicalOf(target: string): string {
  const result = canonicalPath(target);
  return result.ok ? result.path : target;
}

/** The request target whose canonical path is `path`, or undefined when there is none. */
export function targetFor(path: string): string | undefined {
  let raw = '';
  for (const c of path) {
    const s = c === '/' ? '/' : spelling(c);
    if (s === undefined) return undefined;
    raw += s;
  }
  const result = canonicalPath(raw);
  return result.ok && result.path === path ? raw : undefined;
}

/**
 * The parameter values that keep a path canonical: no `.` or `..` segment
 * and, for `{x+}`, no empty segment and no final `/` (canonical paths drop
 * those, so such a path is another path's spelling).
 */
function canonicalParam(plus: boolean, startsSegment: boolean): Predicate<string> {
  // State: the current segment so far ("", ".", "..", or "x" for anything else), "/" just after a slash.
  const next = (s: string, c: string): string => {
    if (s === 'dead') return s;
    if (c === '/') return plus && s !== '' && s !== '.' && s !== '..' && s !== '/' ? '/' : 'dead';
    const seg = s === '/' ? '' : s;
    return c === '.' && (seg === '' || seg === '.') ? `${seg}.` : 'x';
  };
  return {
    init: startsSegment ? '' : 'x',
    step: next,
    accept: (s) => s === 'x',
    key: (s) => s,
    dead: (s) => s === 'dead',
    names: ['.', '/'],
  };
}

/** Options of {@link pathReps}. */
export interface PathInputs {
  readonly routes: readonly RouteSpec[];
  readonly resources: readonly ResourceUse[];
  /** `http:path` conditions. */
  readonly pathConditions: readonly ConditionUse[];
}

/** One canonical path per cell of every route's paths (see the module comment), as request targets. */
export function pathReps(inputs: PathInputs): string[] {
  const unique = new Map<string, RouteSpec>();
  for (const r of inputs.routes)
    if (!unique.has(`${r.path} ${r.resource}`)) unique.set(`${r.path} ${r.resource}`, r);
  const shaped = [...unique.values()].map((spec) => ({ spec, shape: routeShape(spec) }));
  for (const c of inputs.pathConditions) {
    if (c.values.some((v) => v.kind === 'template')) {
      throw new ProveUnknown(
        'ERR_DIFF_UNKNOWN',
        `policy variable in a condition on ${c.key}`,
        c.place,
      );
    }
  }
  const conditionPreds = stringPredicates(inputs.pathConditions, () => undefined).map(
    (p) => p.predicate,
  );
  const all = new HeadIndex();
  const resources = parseResources(inputs.resources);
  for (const { spec, shape } of shaped) {
    all.add(shape.head, tokenPredicate(shape.tokens));
    for (const p of resourcePredicates(spec, shape, resources)) all.add(shape.head, p);
  }
  for (const p of conditionPreds) all.add('', p);
  const paths = new Set<string>();
  for (const { spec, shape } of shaped) for (const p of routePaths(spec, shape, all)) paths.add(p);
  return [...paths];
}

/**
 * Path predicates by the fixed start of their route. A route whose fixed
 * start disagrees with another's (neither is a prefix of the other) never
 * matches the other's paths, so only the two kinds of prefix are read.
 */
class HeadIndex {
  private readonly byHead = new Map<string, Predicate[]>();
  private sorted: string[] | undefined;

  add(head: string, predicate: Predicate): void {
    const list = this.byHead.get(head);
    if (list === undefined) this.byHead.set(head, [predicate]);
    else list.push(predicate);
    this.sorted = undefined;
  }

  /** The predicates whose head is a prefix of `head` or starts with it. */
  relevant(head: string): Predicate[] {
    const out: Predicate[] = [];
    for (let k = 0; k <= head.length; k++) out.push(...(this.byHead.get(head.slice(0, k)) ?? []));
    const sorted = (this.sorted ??= [...this.byHead.keys()].sort());
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((sorted[mid] as string) < head) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < sorted.length && (sorted[i] as string).startsWith(head); i++) {
      if (sorted[i] !== head) out.push(...(this.byHead.get(sorted[i] as string) ?? []));
    }
    return out;
  }
}

function routePaths(spec: RouteSpec, shape: RouteShape, all: HeadIndex): string[] {
  const tails = shape.plus ? [''] : [shape.tail, `${shape.tail}/`];
  if (!shape.hasParam)
    return tails.map((t) => targetFor(shape.head + t)).filter((t) => t !== undefined);
  const out: string[] = [];
  const domain = [
    tokenPredicate(plusTokens(shape.plus ? () => true : notSlash, ['/'])),
    canonicalParam(shape.plus, shape.head.endsWith('/')),
  ];
  const relevant = all.relevant(shape.head);
  for (const tail of tails) {
    const preds = relevant.map((p) => quotient(p, shape.head, tail)).filter((p) => !p.dead(p.init));
    const reps = representatives(preds, {
      required: domain,
      allowed: pathChar,
      what: `paths of route ${spec.method} ${spec.path}`,
    });
    for (const r of reps) {
      // Paths with a final "/" are spelled without it once canonical: the other tail covers them.
      const target = targetFor(shape.head + r.text + tail);
      if (target !== undefined) out.push(target);
    }
  }
  return out;
}

/** True when IAM ARN pattern `pattern` matches `arn` (segment-wise; `*` alone matches all). */
export function arnMatches(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  const p = arnParts(pattern);
  const a = arnParts(arn);
  if (p === undefined || a === undefined) return false;
  return (
    p.segments.every((seg, i) => matches(globTokens(seg), a.segments[i] ?? '')) &&
    matches(globTokens(p.rest), a.rest)
  );
}
