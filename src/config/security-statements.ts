/**
 * The statements of a configuration's policy documents as the security
 * findings read them: straight from the JSON, each with its location, and
 * the static questions the findings ask of them (does it cover this action,
 * this resource, that pattern). Conditions are never evaluated.
 */
import { compileGlob, matchGlob } from '../policy/glob.js';
import { childPath, isRecord } from '../options/fields.js';
import type { PlacedPolicy } from './compile.js';

/** One statement of a placed policy, with its JSON path and file. */
export interface PlacedStatement {
  readonly policy: PlacedPolicy;
  readonly statement: Record<string, unknown>;
  /** Sid, or `#<index>`. */
  readonly id: string;
  readonly path: string;
  readonly effect: 'Allow' | 'Deny';
  readonly actions?: readonly string[];
  readonly notActions?: readonly string[];
  readonly resources?: readonly string[];
  readonly notResources?: readonly string[];
  readonly conditional: boolean;
}

function list(v: unknown): string[] | undefined {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return undefined;
}

/** The statements of `p`, in document order; a lone statement object counts as a list of one. */
export function statementsOf(p: PlacedPolicy): PlacedStatement[] {
  const doc = p.resolved.document;
  if (!isRecord(doc)) return [];
  const raw = doc['Statement'];
  const base = childPath(p.resolved.basePath, 'Statement');
  const items: unknown[] = Array.isArray(raw) ? raw : [raw];
  return items.flatMap((s, i): PlacedStatement[] => {
    if (!isRecord(s)) return [];
    const actions = list(s['Action']);
    const notActions = list(s['NotAction']);
    const resources = list(s['Resource']);
    const notResources = list(s['NotResource']);
    return [
      {
        policy: p,
        statement: s,
        id: typeof s['Sid'] === 'string' ? s['Sid'] : `#${i}`,
        path: Array.isArray(raw) ? childPath(base, i) : base,
        effect: s['Effect'] === 'Deny' ? 'Deny' : 'Allow',
        ...(actions === undefined ? {} : { actions }),
        ...(notActions === undefined ? {} : { notActions }),
        ...(resources === undefined ? {} : { resources }),
        ...(notResources === undefined ? {} : { notResources }),
        conditional: isRecord(s['Condition']) && Object.keys(s['Condition']).length > 0,
      },
    ];
  });
}

/** Whether action pattern `pattern` matches `action`: IAM matches actions without regard to case. */
export function actionMatches(pattern: string, action: string): boolean {
  return matchGlob(compileGlob(pattern.toLowerCase()), action.toLowerCase());
}

// Resources, unlike actions, are matched with regard to case.
const resourceMatches = (pattern: string, resource: string) =>
  matchGlob(compileGlob(pattern), resource);

/** Whether the statement's action part applies to `action`. */
export function coversAction(s: PlacedStatement, action: string): boolean {
  if (s.actions !== undefined) return s.actions.some((a) => actionMatches(a, action));
  if (s.notActions !== undefined) return !s.notActions.some((a) => actionMatches(a, action));
  return false;
}

/** Whether the statement's resource part applies to `resource`. */
export function coversResource(s: PlacedStatement, resource: string): boolean {
  if (s.resources !== undefined) return s.resources.some((r) => resourceMatches(r, resource));
  if (s.notResources !== undefined)
    return !s.notResources.some((r) => resourceMatches(r, resource));
  return false;
}

/** Whether glob `outer` matches every string `inner` (a pattern) matches; conservative. */
export function patternCovers(outer: string, inner: string, ignoreCase: boolean): boolean {
  const o = ignoreCase ? outer.toLowerCase() : outer;
  const i = ignoreCase ? inner.toLowerCase() : inner;
  if (o === '*' || o === i) return true;
  if (!/[*?]/.test(i)) return matchGlob(compileGlob(o), i);
  // `orders:*` covers `orders:Get*`: a trailing-star prefix of the inner pattern's literal head.
  const head = i.slice(0, i.search(/[*?]/));
  return o.endsWith('*') && !/[*?]/.test(o.slice(0, -1)) && head.startsWith(o.slice(0, -1));
}

const READ_ONLY = /^[^:]+:(Get|List|Describe|Head|Read|Query|Search|View|BatchGet)/i;

/** A read-only action name (Get*, List*, Describe*, ...); `*` and `svc:*` are not. */
export function isReadOnly(action: string): boolean {
  return READ_ONLY.test(action);
}

/** The condition keys the statement tests, under any operator. */
export function conditionKeys(s: PlacedStatement): string[] {
  const c = s.statement['Condition'];
  if (!isRecord(c)) return [];
  return Object.values(c).flatMap((block) => (isRecord(block) ? Object.keys(block) : []));
}

/** The issuers a trust statement's `Principal.Federated` names. */
export function federated(s: PlacedStatement): string[] {
  const p = s.statement['Principal'];
  return isRecord(p) ? (list(p['Federated']) ?? []) : [];
}
