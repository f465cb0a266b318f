/**
 * What a trust statement can ever see of a caller, judged statically from
 * the configured identity sources: which issuers' tokens its `Principal`
 * admits, which SPIFFE peers, and which of its condition keys no admitted
 * source provides. Context keys come from `check/context.ts`; the rules
 * read here are the ones it applies:
 *
 * - `jwt:<claim>`: any claim of a token (so any issuer provides it).
 * - `aws:PrincipalTag/<tag>`: only an issuer whose `tagClaims` names `<tag>`.
 * - `rolegate:groups`: only an issuer with a `groupsClaim`.
 * - `<issuer without scheme>:sub|aud|amr`: only that issuer, only those three.
 * - mTLS peers (`sts:AssumeRole`) carry no token: none of the above.
 *
 * Every other key (`aws:SourceIp`, `http:*`, `envoy:*`, ...) comes from the
 * request and is not judged. Conditions are never evaluated.
 */
import { federatedNames } from '../identity/jwt.js';
import type { IssuerConfig, MtlsConfig } from '../identity/options.js';
import { issuerKeyPrefix } from '../identity/principal.js';
import { parseOperator } from '../policy/conditions.js';
import { childPath, isRecord } from '../options/fields.js';
import { nearest } from './nearest.js';
import { coversAction, type PlacedStatement } from './security-statements.js';

/** The trust action of token-bearing callers (as `roles/trust.ts` names it). */
export const WEB_IDENTITY_ACTION = 'sts:AssumeRoleWithWebIdentity';
/** The trust action of mTLS peers (as `roles/trust.ts` names it). */
export const PEER_ACTION = 'sts:AssumeRole';

/** The identity sources of a configuration: `issuers` and `mtls`. */
export interface TrustSources {
  readonly issuers: readonly IssuerConfig[];
  readonly mtls: MtlsConfig;
}

/** A condition key of a trust statement that no source the statement admits provides. */
export interface KeyProblem {
  /** The key as written. */
  readonly key: string;
  /** The operator as written. */
  readonly operator: string;
  /** JSON path of the key inside its policy's file. */
  readonly path: string;
  /** Why no admitted source provides it. */
  readonly why: string;
  /** The nearest key that would be provided (`did you mean`), when there is one. */
  readonly hint?: string;
  /** What the operator gives on a missing key: true for negated, `IfExists`, `ForAllValues`, `Null: true`. */
  readonly holdsWhenAbsent: boolean;
}

/** A `Principal.Federated` value that names no configured issuer. */
export interface UnknownFederated {
  readonly name: string;
  readonly path: string;
  /** The nearest configured federated name, and its issuer. */
  readonly nearest?: { readonly name: string; readonly issuer: string };
}

/** What one trust statement admits and needs, for tokens and for mTLS peers. */
export interface TrustStatementView {
  /** Its action covers `sts:AssumeRoleWithWebIdentity`. */
  readonly webIdentity: boolean;
  /** Its action covers `sts:AssumeRole` (mTLS peers). */
  readonly peer: boolean;
  /** Configured issuers whose tokens its `Principal` admits. */
  readonly admitted: readonly IssuerConfig[];
  readonly unknownFederated: readonly UnknownFederated[];
  /** Why no mTLS peer matches its `Principal`; undefined when one can. */
  readonly peerRefusal?: string;
  /** Keys no admitted issuer's token provides (judged when `webIdentity`). */
  readonly tokenProblems: readonly KeyProblem[];
  /** Keys an mTLS peer never provides (judged when `peer`). */
  readonly peerProblems: readonly KeyProblem[];
}

function list(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The `Principal` element: `*` and `{"AWS": "*"}` admit anyone, as `policy/principal.ts` reads them. */
function principalOf(s: PlacedStatement): { anyone: boolean; byType: Map<string, unknown> } {
  const p = s.statement['Principal'];
  const byType = new Map<string, unknown>(isRecord(p) ? Object.entries(p) : []);
  return { anyone: p === '*' || list(byType.get('AWS')).includes('*'), byType };
}

/** Configured issuers the statement's `Principal` admits, and the `Federated` names it cannot. */
function federatedView(
  s: PlacedStatement,
  issuers: readonly IssuerConfig[],
): { admitted: IssuerConfig[]; unknown: UnknownFederated[] } {
  const { anyone, byType } = principalOf(s);
  const raw = byType.get('Federated');
  const names = list(raw);
  if (anyone || names.includes('*')) return { admitted: [...issuers], unknown: [] };
  const base = childPath(childPath(s.path, 'Principal'), 'Federated');
  const known = issuers.flatMap((i) =>
    federatedNames(i).map((name) => ({ name, issuer: i.issuer })),
  );
  const unknown = names.flatMap((name, i): UnknownFederated[] => {
    if (known.some((k) => k.name === name)) return [];
    const near = nearest(
      name,
      known.map((k) => k.name),
    );
    const hit = known.find((k) => k.name === near);
    return [
      {
        name,
        path: Array.isArray(raw) ? childPath(base, i) : base,
        ...(hit === undefined ? {} : { nearest: hit }),
      },
    ];
  });
  const admitted = issuers.filter((i) => federatedNames(i).some((n) => names.includes(n)));
  return { admitted, unknown };
}

const SPIFFE = /^spiffe:\/\/([a-z0-9._-]+)(?:\/|$)/;

/** Why no mTLS peer matches the statement's `Principal`; undefined when one can. */
function peerRefusal(s: PlacedStatement, mtls: MtlsConfig): string | undefined {
  if (!mtls.enabled) return 'sts:AssumeRole is for mTLS peers and mtls.enabled is false';
  const { anyone, byType } = principalOf(s);
  const ids = list(byType.get('Spiffe'));
  if (anyone || ids.includes('*')) return undefined;
  if (ids.length === 0) return 'its Principal names no Spiffe peer';
  const domains = mtls.trustDomains;
  const inDomain = (id: string) => {
    const domain = SPIFFE.exec(id)?.[1];
    return domain !== undefined && (domains.length === 0 || domains.includes(domain));
  };
  if (ids.some(inDomain)) return undefined;
  return `its Spiffe principal ${ids.join(', ')} is outside mtls.trustDomains (${domains.join(', ')})`;
}

/** Namespaces of keys the request, the clock or a role provide: not judged here. */
const REQUEST_NAMESPACES = new Set(['aws', 'http', 'envoy', 'rolegate', 'sts', 'jwt']);
const ISSUER_FIELDS = ['sub', 'aud', 'amr'];

/** What a principal key needs of its source; undefined for keys not judged here. */
type Need =
  | { readonly kind: 'token' }
  | { readonly kind: 'tag'; readonly tag: string }
  | { readonly kind: 'groups' }
  | { readonly kind: 'issuer'; readonly prefix: string; readonly field: string };

function needOf(key: string, issuers: readonly IssuerConfig[]): Need | undefined {
  const lower = key.toLowerCase();
  if (lower.startsWith('jwt:')) return { kind: 'token' };
  if (lower.startsWith('aws:principaltag/')) return { kind: 'tag', tag: lower.slice(17) };
  if (lower === 'rolegate:groups') return { kind: 'groups' };
  // `http://host:sub` is an issuer written with its scheme, not an `http:` request key.
  const url = /^[a-z][a-z0-9+.-]*:\/\//.test(lower);
  if (!url && REQUEST_NAMESPACES.has(lower.slice(0, lower.indexOf(':')))) return undefined;
  const cut = lower.lastIndexOf(':');
  if (cut <= 0) return undefined;
  const prefix = lower.slice(0, cut);
  const configured = issuers.some((i) => issuerKeyPrefix(i.issuer).toLowerCase() === prefix);
  // An issuer is a URL: its key prefix holds a dot, a colon or a slash, or is localhost.
  if (!configured && !/[.:/]/.test(prefix) && prefix !== 'localhost') return undefined;
  return { kind: 'issuer', prefix, field: lower.slice(cut + 1) };
}

/** Why a key is missing, and the key nearest to it that a source provides. */
interface Gap {
  readonly why: string;
  readonly hint?: string;
}

/** "configured issuer" or "issuer this statement admits (X, Y)": whose tokens were looked at. */
function scopeText(admitted: readonly IssuerConfig[], all: readonly IssuerConfig[]): string {
  return admitted.length === all.length
    ? 'configured issuer'
    : `issuer this statement admits (${admitted.map((i) => i.issuer).join(', ')})`;
}

/** Why `key` is never in a token of `admitted`; undefined when one provides it. */
function tokenGap(
  key: string,
  need: Need,
  admitted: readonly IssuerConfig[],
  all: readonly IssuerConfig[],
): Gap | undefined {
  if (admitted.length === 0) return { why: 'no issuer is configured, and only tokens carry it' };
  const scope = scopeText(admitted, all);
  switch (need.kind) {
    case 'token':
      return undefined;
    case 'tag': {
      const tags = admitted.flatMap((i) => Object.keys(i.tagClaims));
      if (tags.some((t) => t.toLowerCase() === need.tag)) return undefined;
      const near = nearest(need.tag, tags);
      const why = `no ${scope} maps a claim to principal tag ${need.tag} (issuers[].tagClaims)`;
      return near === undefined ? { why } : { why, hint: `aws:PrincipalTag/${near}` };
    }
    case 'groups':
      if (admitted.some((i) => i.groupsClaim !== undefined)) return undefined;
      return { why: `no ${scope} sets groupsClaim, which rolegate:groups is read from` };
    case 'issuer':
      return issuerKeyGap(key, need, admitted, all);
  }
}

/** Why an `<issuer>:<field>` key is never in a token of `admitted`; undefined when it is. */
function issuerKeyGap(
  key: string,
  need: { readonly prefix: string; readonly field: string },
  admitted: readonly IssuerConfig[],
  all: readonly IssuerConfig[],
): Gap | undefined {
  const owner = (list: readonly IssuerConfig[]) =>
    list.find((i) => issuerKeyPrefix(i.issuer).toLowerCase() === need.prefix);
  const cut = key.lastIndexOf(':');
  const [prefix, field] = [key.slice(0, cut), key.slice(cut + 1)];
  if (owner(admitted) !== undefined) {
    if (ISSUER_FIELDS.includes(need.field)) return undefined;
    return {
      why: 'rolegate provides only :sub, :aud and :amr under an issuer prefix',
      hint: `jwt:${field}`,
    };
  }
  const other = owner(all);
  if (other !== undefined) {
    const only = admitted.map((i) => i.issuer).join(', ');
    return {
      why: `${prefix} is issuer ${other.issuer}'s, but this statement admits only tokens of ${only}`,
    };
  }
  const prefixes = admitted.map((i) => issuerKeyPrefix(i.issuer));
  const near = nearest(need.prefix, prefixes);
  const issuer = admitted[prefixes.indexOf(near ?? '')];
  const why = `${prefix} names no configured issuer`;
  if (near === undefined || issuer === undefined) return { why };
  // Under the right prefix only sub, aud and amr exist: another claim is read as jwt:<claim>.
  if (!ISSUER_FIELDS.includes(need.field)) return { why, hint: `jwt:${field}` };
  return { why, hint: `${near}:${field} (issuer ${issuer.issuer})` };
}

/** What `operator` gives on a key the request lacks (docs/policy-language.md, absent keys). */
function holdsWhenAbsent(operator: string, value: unknown): boolean {
  const op = parseOperator(operator);
  if (op === undefined) return true;
  if (op.base.family === 'null') {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    return values.some((v) => String(v).toLowerCase() === 'true');
  }
  if (op.ifExists) return true;
  if (op.set !== 0) return op.set === 2;
  return op.base.negated;
}

/** Each condition key of `s` with its operator, value and JSON path. */
function conditionEntries(
  s: PlacedStatement,
): { key: string; operator: string; value: unknown; path: string }[] {
  const c = s.statement['Condition'];
  if (!isRecord(c)) return [];
  const base = childPath(s.path, 'Condition');
  return Object.entries(c).flatMap(([operator, block]) =>
    isRecord(block)
      ? Object.entries(block).map(([key, value]) => ({
          key,
          operator,
          value,
          path: childPath(childPath(base, operator), key),
        }))
      : [],
  );
}

/** The condition keys of `s` a source cannot provide: `gap` says why, undefined when it can. */
function keyProblems(
  s: PlacedStatement,
  issuers: readonly IssuerConfig[],
  gap: (key: string, need: Need) => Gap | undefined,
): KeyProblem[] {
  return conditionEntries(s).flatMap(({ key, operator, value, path }): KeyProblem[] => {
    const need = needOf(key, issuers);
    const found = need === undefined ? undefined : gap(key, need);
    if (found === undefined) return [];
    return [{ key, operator, path, ...found, holdsWhenAbsent: holdsWhenAbsent(operator, value) }];
  });
}

/** What trust statement `s` admits and needs, given the configured `sources`. */
export function trustStatementView(sources: TrustSources, s: PlacedStatement): TrustStatementView {
  const { issuers, mtls } = sources;
  const webIdentity = coversAction(s, WEB_IDENTITY_ACTION);
  const peer = coversAction(s, PEER_ACTION);
  const { admitted, unknown } = federatedView(s, issuers);
  // Keys are judged against every issuer when the Principal names none of them:
  // that mistake has its own finding, and this one should not hide a second.
  const judged = admitted.length > 0 ? admitted : issuers;
  const refusal = peer ? peerRefusal(s, mtls) : undefined;
  return {
    webIdentity,
    peer,
    admitted,
    unknownFederated: unknown,
    ...(refusal === undefined ? {} : { peerRefusal: refusal }),
    tokenProblems: webIdentity
      ? keyProblems(s, issuers, (key, need) => tokenGap(key, need, judged, issuers))
      : [],
    peerProblems: peer
      ? keyProblems(s, issuers, () => ({ why: 'an mTLS peer (sts:AssumeRole) carries no token' }))
      : [],
  };
}
