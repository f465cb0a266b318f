/**
 * Principal / NotPrincipal of trust (resource) policies. `"*"` and
 * `{"AWS": "*"}` match anyone; `{"Type": "*"}` matches any principal of that
 * type; other values match the request's identities of the same type
 * exactly (case-sensitive). An AWS account id `123456789012` and
 * `arn:aws:iam::123456789012:root` are the same principal.
 */
import type { RequestPrincipal } from './types.js';

export const PRINCIPAL_TYPES: readonly string[] = [
  'AWS',
  'Federated',
  'Service',
  'CanonicalUser',
  'Spiffe',
];

export interface PrincipalMatcher {
  /** Matches every caller. */
  readonly anyone: boolean;
  /** Types with a `*` value: any identity of that type. */
  readonly anyOfType: ReadonlySet<string>;
  /** Identities by type. */
  readonly ids: ReadonlyMap<string, ReadonlySet<string>>;
}

const ACCOUNT_RE = /^\d{12}$/;

/** Canonical form of an AWS principal: account ids become the account root ARN. */
export function normalizeAwsPrincipal(id: string): string {
  return ACCOUNT_RE.test(id) ? `arn:aws:iam::${id}:root` : id;
}

/** True when the request principal matches. */
export function matchPrincipal(m: PrincipalMatcher, req: RequestPrincipal | undefined): boolean {
  if (m.anyone) return true;
  if (req === undefined) return false;
  for (const type of Object.keys(req)) {
    const list = req[type];
    if (list === undefined || list.length === 0) continue;
    if (m.anyOfType.has(type)) return true;
    const set = m.ids.get(type);
    if (set === undefined) continue;
    for (const id of list) {
      if (set.has(type === 'AWS' ? normalizeAwsPrincipal(id) : id)) return true;
    }
  }
  return false;
}
