/**
 * The identity headers an allow hands to the upstream, computed inside the
 * decision (not after it), so the decision the audit record states is the
 * decision Envoy acts on. A value HTTP cannot carry unchanged (a claim with
 * CR, LF, NUL or another control character, surrounding blanks, or more
 * than {@link MAX_HEADER_VALUE_LENGTH} characters) turns the allow into a
 * deny (`ERR_HEADER_VALUE_INVALID`): dropping the header instead would hand
 * the upstream a request without the identity it may rely on.
 */
import { claimText } from '../identity/claims.js';
import type { Principal } from '../identity/principal.js';

export const PRINCIPAL_HEADER = 'x-rolegate-principal';
export const ROLE_HEADER = 'x-rolegate-role';
export const DECISION_ID_HEADER = 'x-rolegate-decision-id';
/** The just-in-time grant an allow was made under (absent otherwise). */
export const GRANT_ID_HEADER = 'x-rolegate-grant-id';
/** The end of that grant, ISO 8601 UTC. */
export const GRANT_EXPIRES_HEADER = 'x-rolegate-grant-expires';

/** Longest header value rolegate sends upstream, in characters. */
export const MAX_HEADER_VALUE_LENGTH = 4096;

/**
 * True when `value` travels through HTTP/1.1 and HTTP/2 unchanged: no C0 or
 * C1 control character other than HTAB, no DEL, no Unicode line or
 * paragraph separator, no leading or trailing blank (proxies trim those),
 * and at most {@link MAX_HEADER_VALUE_LENGTH} characters. Non-ASCII text is
 * carried as UTF-8.
 */
export function isSafeHeaderValue(value: string): boolean {
  if (value.length > MAX_HEADER_VALUE_LENGTH) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 && c !== 0x09) return false;
    if (c === 0x7f || (c >= 0x80 && c <= 0x9f) || c === 0x2028 || c === 0x2029) return false;
  }
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(value.length - 1);
  return !(first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09);
}

/** The headers for the upstream, or the first header whose value cannot be carried. */
export type UpstreamHeaders =
  | { readonly ok: true; readonly headers: ReadonlyMap<string, string> }
  | { readonly ok: false; readonly header: string };

/** A principal's claim headers under one `claimHeaders` setting, in setting order. */
interface ClaimHeaderValues {
  readonly from: Readonly<Record<string, string>>;
  readonly values: readonly (readonly [header: string, value: string])[];
  /** The first of them whose value HTTP cannot carry. */
  readonly unsafe: string | undefined;
  /** Whether one of them is named like an identity header (it then replaces that header). */
  readonly collides: boolean;
}

const IDENTITY_HEADERS: readonly string[] = [
  PRINCIPAL_HEADER,
  ROLE_HEADER,
  DECISION_ID_HEADER,
  GRANT_ID_HEADER,
  GRANT_EXPIRES_HEADER,
];

/**
 * Claim headers per principal object. The token cache hands out the same
 * principal object for every call with its token (trust-memo.ts relies on
 * the same), so a warm caller's claims are looked up and checked once per
 * configuration's `claimHeaders`. Only principals the cache holds
 * (`memoise`) are kept here.
 */
const claimHeaderMemo = new WeakMap<Principal, ClaimHeaderValues>();

function claimHeaderValues(
  principal: Principal,
  claimHeaders: Readonly<Record<string, string>>,
): ClaimHeaderValues {
  const memo = claimHeaderMemo.get(principal);
  if (memo !== undefined && memo.from === claimHeaders) return memo;
  const values: (readonly [string, string])[] = [];
  let unsafe: string | undefined;
  for (const header of Object.keys(claimHeaders)) {
    const value = claimText(principal.claims, claimHeaders[header] as string, ',');
    if (value === undefined) continue;
    values.push([header, value]);
    if (unsafe === undefined && value !== '' && !isSafeHeaderValue(value)) unsafe = header;
  }
  const collides = IDENTITY_HEADERS.some((name) => Object.hasOwn(claimHeaders, name));
  const computed: ClaimHeaderValues = { from: claimHeaders, values, unsafe, collides };
  if (principal.memoise === true) claimHeaderMemo.set(principal, computed);
  return computed;
}

/** The first header, in the map's order, whose value HTTP cannot carry. */
function firstUnsafe(headers: ReadonlyMap<string, string>): string | undefined {
  for (const header of headers.keys()) {
    const value = headers.get(header) as string;
    if (value !== '' && !isSafeHeaderValue(value)) return header;
  }
  return undefined;
}

/**
 * Identity headers for an allow: principal, role ARN, decision id, then one
 * header per `claimHeaders` entry (header name -> claim path) whose claim is
 * present. An empty claim value is sent as an empty header. Under a
 * just-in-time `grant`, also its id and expiry.
 */
export function upstreamHeaders(
  principal: Principal,
  roleArn: string,
  decisionId: string,
  claimHeaders: Readonly<Record<string, string>>,
  grant?: { readonly id: string; readonly expiresAt: number },
): UpstreamHeaders {
  const headers = new Map<string, string>();
  headers.set(PRINCIPAL_HEADER, principal.subject);
  headers.set(ROLE_HEADER, roleArn);
  headers.set(DECISION_ID_HEADER, decisionId);
  if (grant !== undefined) {
    headers.set(GRANT_ID_HEADER, grant.id);
    headers.set(GRANT_EXPIRES_HEADER, new Date(grant.expiresAt).toISOString());
  }
  const claims = claimHeaderValues(principal, claimHeaders);
  let unsafe: string | undefined;
  if (claims.collides) {
    // A claim header named like an identity header replaces it in place: check the result.
    setAll(headers, claims.values);
    unsafe = firstUnsafe(headers);
  } else {
    unsafe = firstUnsafe(headers) ?? claims.unsafe;
    if (unsafe === undefined) setAll(headers, claims.values);
  }
  if (unsafe !== undefined) return { ok: false, header: unsafe };
  return { ok: true, headers };
}

function setAll(headers: Map<string, string>, values: ClaimHeaderValues['values']): void {
  for (const [header, value] of values) headers.set(header, value);
}
