/**
 * Decision -> CheckResponse. Allows carry identity headers for the upstream
 * and strip any inbound copy of headers rolegate owns; denies carry a fixed,
 * generic body (never policy detail, never the token) and the decision id.
 */
import type { CheckOutcome } from '../decision/outcome.js';
import { DECISION_ID_HEADER } from './upstream-headers.js';
import { isOwnedHeader, ownedHeaderNames } from './owned-headers.js';
import type { DenyOptions } from './deny-options.js';
import { shapeDeny, type DenyContext, type ShapedDeny } from './deny.js';
import {
  RpcCode,
  type CheckResponse,
  type HeaderValueOption,
  type ProtoStruct,
} from '../wire/ext-authz.js';

export { OWNED_HEADER_PREFIX } from './owned-headers.js';
export { DECISION_ID_HEADER, PRINCIPAL_HEADER, ROLE_HEADER } from './upstream-headers.js';

/** Fixed deny bodies: the same bytes for every deny of a kind. */
export const DENY_BODY = {
  401: '{"error":"unauthenticated","message":"a valid bearer token is required"}',
  403: '{"error":"forbidden","message":"the request is not allowed"}',
  400: '{"error":"bad_request","message":"the request cannot be authorized"}',
} as const;

const DENY_RPC_CODE = {
  302: RpcCode.UNAUTHENTICATED,
  400: RpcCode.INVALID_ARGUMENT,
  401: RpcCode.UNAUTHENTICATED,
  403: RpcCode.PERMISSION_DENIED,
  404: RpcCode.PERMISSION_DENIED,
} as const;

/** Envoy's status names; 302 (no name in rolegate's proto subset) goes as a number. */
const DENY_STATUS_NAME = {
  302: 302,
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
} as const;

export interface ResponseSettings {
  /** Upstream header name -> claim path (dots for nesting); only the names are read here. */
  readonly claimHeaders: Readonly<Record<string, string>>;
  /** The header a caller uses to ask for a role; stripped like owned headers. */
  readonly requestedRoleHeader: string;
  /** More headers for an allow (upstream AWS credentials); they win over claim headers. Default none. */
  readonly extraHeaders?: Readonly<Record<string, string>>;
  /**
   * The STS credential header names (`credentialHeaderNames(config.aws)`),
   * owned with the rest of owned-headers.ts's list: inbound copies never
   * reach the upstream. Default none.
   */
  readonly ownedHeaders?: readonly string[];
  /**
   * Inbound headers removed before the upstream sees the request, such as
   * method overrides (`x-http-method-override`) that would make the
   * upstream act on another method than the one decided. Default none.
   */
  readonly stripInbound?: readonly string[];
  /** How a deny looks (`deny`, merged with the route's). Default: the fixed deny. */
  readonly deny?: DenyOptions;
  /** What deny shaping reads of the request. Default: not a browser, no original URL. */
  readonly denyContext?: DenyContext;
}

function set(key: string, value: string): HeaderValueOption {
  return { header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' };
}

const NO_HEADERS: ReadonlyMap<string, string> = new Map();
const NO_NAMES: readonly string[] = Object.freeze([]);

/** The header options of an allow, in the map's order. */
function headerOptions(headers: ReadonlyMap<string, string>): HeaderValueOption[] {
  const out = new Array<HeaderValueOption>(headers.size);
  let i = 0;
  for (const header of headers.keys()) out[i++] = set(header, headers.get(header) as string);
  return out;
}

function metadata(outcome: CheckOutcome): ProtoStruct {
  const fields: Record<string, { stringValue: string }> = {
    decision_id: { stringValue: outcome.decisionId },
    decision: { stringValue: outcome.allowed ? 'allow' : 'deny' },
    reason: { stringValue: outcome.reason },
  };
  if (outcome.principal) {
    fields['principal'] = { stringValue: outcome.principal.subject };
    fields['issuer'] = { stringValue: outcome.principal.issuer };
  }
  if (outcome.role) fields['role'] = { stringValue: outcome.role.arn };
  if (outcome.route) {
    fields['action'] = { stringValue: outcome.route.action };
    fields['resource'] = { stringValue: outcome.route.resource };
  }
  return { fields };
}

/**
 * The deny of an outcome: its status (an allow without a principal or role,
 * which cannot happen, is answered 403), a fixed JSON body, the decision id
 * and, for 401, RFC 6750 `WWW-Authenticate` (`error="invalid_token"` when a
 * credential was presented, none when there was none); then shaped by
 * `settings.deny` (see `deny.ts`).
 */
export function denyAnswer(outcome: CheckOutcome, settings?: ResponseSettings): ShapedDeny {
  const status = outcome.allowed ? 403 : outcome.status === 200 ? 403 : outcome.status;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [DECISION_ID_HEADER]: outcome.decisionId,
  };
  if (status === 401) {
    // RFC 6750 3.1: no error code when the request carried no credential at all.
    headers['www-authenticate'] =
      outcome.reason === 'ERR_CREDENTIAL_MISSING'
        ? 'Bearer realm="rolegate"'
        : 'Bearer realm="rolegate", error="invalid_token"';
  }
  return shapeDeny(
    { status, headers, body: DENY_BODY[status] },
    outcome.decisionId,
    settings?.deny,
    settings?.denyContext ?? { acceptsHtml: false },
  );
}

/**
 * The headers of an allow: `injected` (identity headers, then the extra
 * credential headers, which win) and `remove`, the inbound headers rolegate
 * owns that it does not overwrite.
 */
export function allowHeaders(
  outcome: CheckOutcome,
  inbound: Readonly<Record<string, string>>,
  settings: ResponseSettings,
): { injected: ReadonlyMap<string, string>; remove: string[] } {
  const extra = settings.extraHeaders;
  let injected: ReadonlyMap<string, string> = outcome.upstreamHeaders ?? NO_HEADERS;
  // Only credential routes add headers: the others use the outcome's map as it is.
  if (extra !== undefined && Object.keys(extra).length > 0) {
    const merged = new Map(injected);
    for (const header of Object.keys(extra)) merged.set(header, extra[header] as string);
    injected = merged;
  }
  // Inbound copies of owned headers we do not overwrite must go: Envoy applies
  // removals after additions, so only headers we do not set are listed.
  // "Owned" is the one list of owned-headers.ts, the one the examples clear.
  const owned = ownedHeaderNames(
    {
      headers: {
        claims: settings.claimHeaders,
        requestedRole: settings.requestedRoleHeader,
        stripInbound: settings.stripInbound ?? NO_NAMES,
      },
    },
    settings.ownedHeaders ?? NO_NAMES,
  );
  return {
    injected,
    remove: Object.keys(inbound).filter((n) => isOwnedHeader(n, owned) && !injected.has(n)),
  };
}

/** Builds the CheckResponse for an outcome. `inbound` are the request's lower-cased headers. */
export function toCheckResponse(
  outcome: CheckOutcome,
  inbound: Readonly<Record<string, string>>,
  settings: ResponseSettings,
): CheckResponse {
  const dynamic_metadata = metadata(outcome);
  if (!outcome.allowed || !outcome.principal || !outcome.role) {
    const deny = denyAnswer(outcome, settings);
    return {
      status: { code: DENY_RPC_CODE[deny.status] },
      denied_response: {
        status: { code: DENY_STATUS_NAME[deny.status] },
        headers: Object.entries(deny.headers).map(([k, v]) => set(k, v)),
        body: deny.body,
      },
      dynamic_metadata,
    };
  }

  const { injected, remove: headers_to_remove } = allowHeaders(outcome, inbound, settings);
  return {
    status: { code: RpcCode.OK },
    ok_response: {
      headers: headerOptions(injected),
      headers_to_remove,
    },
    dynamic_metadata,
  };
}
