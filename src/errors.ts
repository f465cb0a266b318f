/**
 * The error catalogue. Every failure rolegate reports carries one of these
 * stable codes: it is the `reason` in audit records, the `reason` label on
 * metrics, and the `code` in CLI output. Codes are never renamed; new
 * failures get new codes.
 */
export const ERROR_CATALOGUE = {
  // Policy documents (load time).
  ERR_POLICY_SYNTAX: 'the policy text is not valid JSON or YAML',
  ERR_POLICY_SHAPE: 'a policy element has the wrong JSON type',
  ERR_POLICY_VERSION: 'the Version is not 2012-10-17 or 2008-10-17',
  ERR_POLICY_UNKNOWN_ELEMENT: 'the document or a statement holds an element IAM does not define',
  ERR_POLICY_MISSING_ELEMENT: 'a required element is missing',
  ERR_POLICY_CONFLICTING_ELEMENTS: 'two elements that exclude each other are both present',
  ERR_POLICY_EFFECT: 'Effect is neither Allow nor Deny',
  ERR_POLICY_ACTION: 'an action is not of the form service:Name',
  ERR_POLICY_ARN: 'a resource or ARN value is not a valid ARN',
  ERR_POLICY_PRINCIPAL: 'a Principal or NotPrincipal element is malformed',
  ERR_POLICY_DUPLICATE_SID: 'two statements of one document share a Sid',
  ERR_POLICY_UNKNOWN_OPERATOR: 'a condition operator is not one IAM defines',
  ERR_POLICY_BAD_CIDR: 'an IpAddress value is not an IPv4 or IPv6 address or CIDR',
  ERR_POLICY_BAD_DATE: 'a Date value is neither ISO 8601 nor epoch seconds',
  ERR_POLICY_BAD_NUMBER: 'a Numeric value is not a number',
  ERR_POLICY_BAD_BOOL: 'a Bool or Null value is neither true nor false',
  ERR_POLICY_BAD_BINARY: 'a BinaryEquals value is not base64',
  ERR_POLICY_VARIABLE_SYNTAX: 'a policy variable is malformed',
  ERR_POLICY_VARIABLE_VERSION:
    'a policy variable is used under a Version that does not substitute it',
  ERR_POLICY_VARIABLE_MULTIVALUED: 'a multivalued context key is used as a policy variable',
  ERR_POLICY_SET_OPERATOR_SINGLE_VALUED:
    'ForAnyValue/ForAllValues is used with a single-valued key',
  ERR_POLICY_VARIABLE_PLACEMENT:
    'a policy variable is used where IAM does not substitute it (before the resource part of a Resource ARN)',
  // Policy warnings (legal, but likely a mistake).
  WARN_POLICY_ALLOW_ALL: 'a statement allows every action on every resource',
  WARN_POLICY_NEVER_MATCHES: 'a statement can never match a request',
  // Security findings of `rolegate validate --config` (docs/findings.md).
  WARN_TRUST_ISSUER_WIDE:
    'a trust policy admits every subject of an issuer: no condition on the audience or subject',
  WARN_ALLOW_NOT_ACTION:
    'an Allow statement uses NotAction: it grants every action not listed, new ones included',
  WARN_ALLOW_NOT_RESOURCE:
    'an Allow statement uses NotResource: it grants every resource not listed',
  WARN_WRITE_ON_ALL_RESOURCES: 'a role policy allows a write action on every resource ("*")',
  WARN_STATEMENT_UNREACHABLE:
    'a role statement can never decide a request: no route maps to its actions, or an unconditional Deny covers it',
  WARN_ROUTE_UNUSABLE: "no role has a statement that allows a route's action and resource",
  WARN_ROUTE_SHADOWED: 'a route can never match: an earlier route matches every request it would',
  WARN_ROLE_UNREACHED: "no route maps to an action any of the role's Allow statements grants",
  WARN_ROUTE_CATCH_ALL:
    'with the HTTP check listener on, a route matches an nginx auth location: an nginx config sending $uri would have every request decided by it',

  // Policy evaluation (request time).
  ERR_CONTEXT_VALUE_TYPE:
    'a request context value cannot be compared by the condition operator (not a number, date, IP, bool, base64 or ARN)',

  // CLI input.
  ERR_INPUT_SYNTAX: 'an input line is not valid JSON',
  ERR_INPUT_SHAPE: 'an input line lacks a required field or has one of the wrong type',
  ERR_INPUT_POLICY: 'a policy document in an input line is invalid',
  ERR_USAGE:
    'the command line is wrong: an unknown command or flag, a missing required flag, or flags that exclude each other',
  ERR_POLICY_READ: 'a policy file cannot be read',
  ERR_TEST_FILE:
    'a policy test file (rolegate test) cannot be found, read or does not match its schema',
  ERR_AUDIT_READ: 'an audit file given to a report cannot be read',

  // Configuration.
  ERR_CONFIG_READ: 'the configuration file cannot be read',
  ERR_CONFIG_SYNTAX: 'the configuration file is not valid YAML or JSON',
  ERR_CONFIG_INVALID: 'the configuration does not match its schema',
  ERR_LISTEN_HOST_INVALID: 'ROLEGATE_LISTEN_HOST is not an IPv4 or IPv6 address literal',

  // Starting the servers.
  ERR_LISTEN_ADDRESS_IN_USE:
    'a listen address (gRPC or admin) is already in use by another process',
  ERR_LISTEN_ADDRESS_UNAVAILABLE:
    'a listen host is not an address of this machine, or binding it is not permitted',
  ERR_LISTEN_FAILED: 'a listener could not be started for another reason',
  ERR_TRACING_CONFIG: 'the OTEL_* environment variables ask for tracing rolegate cannot provide',
  ERR_WORKERS_INVALID: 'ROLEGATE_WORKERS is neither auto nor a worker count from 1 to 256',

  // Decision path: the request itself cannot be read unambiguously (400).
  ERR_PATH_INVALID:
    'the request path has no canonical form (bad percent-escape, control character, backslash, ";" or raw non-ASCII)',
  ERR_PATH_ENCODED_SEPARATOR: 'the request path encodes "/" inside a segment (%2F)',
  ERR_PATH_TRAVERSAL: 'a ".." segment of the request path climbs above the root',
  ERR_REQUEST_METHOD_INVALID:
    'the request method is not an HTTP token rolegate can map to an action',
  ERR_REQUEST_HOST_INVALID: 'the request authority (Host) is not a valid host name or address',
  ERR_REQUEST_MISSING_ORIGINAL:
    'an HTTP check request lacks the original method, URI or host the proxy must send (X-Original-*, X-Forwarded-*), or sends them twice',
  ERR_REQUEST_SOURCE_INVALID:
    'a trusted proxy sent an X-Forwarded-For entry that is not an IP address, or the source address is an IPv6 form that embeds an IPv4 address in a way rolegate refuses (IPv4-compatible, 6to4, Teredo, IPv4-translated, local-use NAT64)',
  ERR_REQUEST_SCHEME_INVALID:
    'a trusted proxy sent X-Forwarded-Proto more than once, or with a value other than http or https',
  ERR_PATH_NETWORK_PATH:
    'the request path begins with "//": a URL parser upstream reads the first segment as an authority (RFC 3986 4.2 network-path reference)',
  ERR_REQUEST_TARGET_FORM:
    'the original request target is not in origin form ("/path?query"): an absolute URI or "*" is not what a proxy forwards',
  ERR_REQUEST_ORIGINAL_IS_CHECK:
    "the original URI is nginx's auth location (server.http.nginxAuthLocation): the config sends $uri (inside the auth subrequest, its own URI) instead of $request_uri",

  // Decision path: credentials and identity (401).
  ERR_CREDENTIAL_MISSING: 'the request carries no credential',
  ERR_TOKEN_TOO_LARGE: 'the token exceeds the maximum size',
  ERR_TOKEN_MALFORMED: 'the token is not a well-formed JWS compact serialization',
  ERR_TOKEN_ENCRYPTED: 'an encrypted token (JWE) was sent where a signed token (JWS) is expected',
  ERR_TOKEN_CRIT: 'the token header lists critical extensions rolegate does not understand',
  ERR_TOKEN_KID_INVALID:
    'the token kid header is not a plausible key id (path or control characters)',
  ERR_TOKEN_LOCATION: 'the token was presented where its issuer does not send tokens',
  ERR_TOKEN_ISSUER_UNKNOWN: 'the token names an issuer that is not configured',
  ERR_TOKEN_ALG: 'the token algorithm is not allowed for its issuer or key',
  ERR_TOKEN_KID_UNKNOWN: 'no key of the issuer matches the token',
  ERR_TOKEN_SIGNATURE: 'the token signature does not verify',
  ERR_TOKEN_EXPIRED: 'the token has expired',
  ERR_TOKEN_NOT_YET_VALID: 'the token is not valid yet',
  ERR_TOKEN_ISSUED_IN_FUTURE:
    'the token iat (issued at) is later than now plus the issuer clock tolerance',
  ERR_TOKEN_LIFETIME:
    'the token lifetime (exp - iat, or exp - now without iat) exceeds the issuer maxTokenLifetimeSeconds',
  ERR_TOKEN_AUDIENCE: 'the token audience is not accepted',
  ERR_TOKEN_CLAIM: 'a required claim is missing or invalid',
  ERR_JWKS_UNAVAILABLE: 'the issuer keys cannot be fetched and no usable cached keys remain',

  // Decision path: authorization (403).
  ERR_NO_ROLE: 'no role trust policy admits the caller',
  ERR_ROLE_NOT_ASSUMABLE: 'the requested role does not admit the caller',
  ERR_ROUTE_UNMATCHED: 'the request matches no route and unmatched requests are denied',
  ERR_EXPLICIT_DENY: 'a policy statement explicitly denies the request',
  ERR_IMPLICIT_DENY: 'no policy allows the request',
  ERR_HEADER_VALUE_INVALID:
    'a value for an upstream header (a claim, the subject) holds characters HTTP cannot carry (CR, LF, NUL, other controls) or is too long',
  ERR_CLAIM_VARIABLE_UNSAFE:
    "a claim used as a policy variable does not match its issuer's pattern (by default no '/', '*', '?' or spaces)",
  ERR_POLICY_EVALUATION:
    'a condition could not be evaluated against the request values, so the role does not allow (fail closed)',

  // AWS integration.
  ERR_IAM_SYNC: 'loading roles from AWS IAM failed; the last good set of IAM roles stays active',
  ERR_IAM_ROLE_INVALID:
    'a role loaded from AWS IAM has a document the policy engine rejects; the role is skipped',
  ERR_IAM_ROLE_NAME_CLASH:
    'a role loaded from AWS IAM has the name of a role in the config file; the file role wins',
  ERR_STS_FAILED:
    'temporary AWS credentials for the upstream could not be obtained from STS; the request is denied',
  ERR_CHECK_ABANDONED:
    'the proxy stopped waiting for this check (its timeout, or the client went away) before rolegate answered; a proxy that fails closed denied the request',

  // Just-in-time access (the access API; see docs/access.md).
  ERR_ACCESS_INVALID:
    'an access API call is malformed (unknown role, duration out of bounds, missing reason)',
  ERR_ACCESS_FORBIDDEN: "rolegate's own policies do not allow the caller this access action",
  ERR_ACCESS_SELF_APPROVAL:
    'a requester tried to approve their own request (allowed only for break-glass)',
  ERR_ACCESS_NOT_FOUND: 'no access request or grant has this id',
  ERR_ACCESS_STATE: 'the access request or grant is not in a state that allows this action',
  ERR_ACCESS_STORE: 'the access store cannot be reached or failed; nothing was changed',
  ERR_ACCESS_CONTENT_TYPE:
    'an access API call did not declare the content type it must (application/json, optionally with charset=utf-8; the approvals page: application/x-www-form-urlencoded)',
  ERR_ACCESS_UNKNOWN_FIELD:
    'an access API call carries a field or query parameter it does not take (server-owned fields such as id, status or approver included)',
  ERR_ACCESS_BODY_UNEXPECTED: 'an access API call that takes no body carried one',
  ERR_ACCESS_CROSS_SITE:
    "a browser sent an access call from another site or origin (Sec-Fetch-Site, Origin); refused so no page elsewhere can act with the caller's credentials",
  ERR_ACCESS_AMBIENT_CREDENTIAL:
    'a state-changing access API call was authenticated only by a cookie, which a browser attaches by itself; send the token in a header',
  ERR_ACCESS_CSRF:
    "an approvals page form carried no CSRF token, a forged one, another caller's, or one older than its key's rotation allows",

  // Decision path: anything unexpected (fail closed).
  ERR_INTERNAL: 'an internal error occurred; the request is denied',
} as const;

/** A stable error code from {@link ERROR_CATALOGUE}. */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The HTTP status a decision denies with. */
export type HttpStatus = 400 | 401 | 403;

/** The HTTP status the access API (and its approvals page) answers a refused or failed call with. */
export type ApiStatus = 400 | 401 | 403 | 404 | 409 | 415 | 500 | 503;

/**
 * A code's entry in {@link HTTP_STATUS}: a number is the status of a deny
 * with the code, and the access API answers the code with it too (a
 * sign-in refusal, STS); `{ api }` is the access API's status of a code no
 * decision carries; `{ deny, api }` a code whose two differ; `null` a code
 * never answered over HTTP.
 */
export type StatusEntry =
  HttpStatus | { readonly deny?: HttpStatus; readonly api: ApiStatus } | null;

/**
 * The HTTP status of every catalogue code: the one table of statuses. The
 * type makes the map complete: a new code does not compile until it is
 * given a status here. As a deny reason: the request itself unreadable
 * (`ERR_PATH_*`, `ERR_REQUEST_*`) is 400; credentials and tokens
 * (`ERR_CREDENTIAL_*`, `ERR_TOKEN_*`, `ERR_JWKS_UNAVAILABLE`) are 401; every
 * other decision-path code is 403. The access API's codes carry the status
 * it answers them with (docs/access.md), and so do `ERR_INPUT_SYNTAX` and
 * `ERR_INPUT_SHAPE` (a body that is not a JSON object); `ERR_INTERNAL` is a
 * 403 deny (fail closed) but the access API's 500. Load-time, CLI, startup
 * and AWS-sync codes, and `ERR_CONTEXT_VALUE_TYPE` (an evaluation error
 * reported inside a decision, whose deny reason is `ERR_POLICY_EVALUATION`),
 * have no HTTP status: `null`.
 */
export const HTTP_STATUS: { readonly [K in ErrorCode]: StatusEntry } = {
  ERR_POLICY_SYNTAX: null,
  ERR_POLICY_SHAPE: null,
  ERR_POLICY_VERSION: null,
  ERR_POLICY_UNKNOWN_ELEMENT: null,
  ERR_POLICY_MISSING_ELEMENT: null,
  ERR_POLICY_CONFLICTING_ELEMENTS: null,
  ERR_POLICY_EFFECT: null,
  ERR_POLICY_ACTION: null,
  ERR_POLICY_ARN: null,
  ERR_POLICY_PRINCIPAL: null,
  ERR_POLICY_DUPLICATE_SID: null,
  ERR_POLICY_UNKNOWN_OPERATOR: null,
  ERR_POLICY_BAD_CIDR: null,
  ERR_POLICY_BAD_DATE: null,
  ERR_POLICY_BAD_NUMBER: null,
  ERR_POLICY_BAD_BOOL: null,
  ERR_POLICY_BAD_BINARY: null,
  ERR_POLICY_VARIABLE_SYNTAX: null,
  ERR_POLICY_VARIABLE_VERSION: null,
  ERR_POLICY_VARIABLE_MULTIVALUED: null,
  ERR_POLICY_SET_OPERATOR_SINGLE_VALUED: null,
  ERR_POLICY_VARIABLE_PLACEMENT: null,
  WARN_POLICY_ALLOW_ALL: null,
  WARN_POLICY_NEVER_MATCHES: null,
  WARN_TRUST_ISSUER_WIDE: null,
  WARN_ALLOW_NOT_ACTION: null,
  WARN_ALLOW_NOT_RESOURCE: null,
  WARN_WRITE_ON_ALL_RESOURCES: null,
  WARN_STATEMENT_UNREACHABLE: null,
  WARN_ROUTE_UNUSABLE: null,
  WARN_ROUTE_SHADOWED: null,
  WARN_ROLE_UNREACHED: null,
  WARN_ROUTE_CATCH_ALL: null,
  ERR_CONTEXT_VALUE_TYPE: null,
  ERR_INPUT_SYNTAX: { api: 400 },
  ERR_INPUT_SHAPE: { api: 400 },
  ERR_INPUT_POLICY: null,
  ERR_USAGE: null,
  ERR_POLICY_READ: null,
  ERR_TEST_FILE: null,
  ERR_AUDIT_READ: null,
  ERR_CONFIG_READ: null,
  ERR_CONFIG_SYNTAX: null,
  ERR_CONFIG_INVALID: null,
  ERR_LISTEN_HOST_INVALID: null,
  ERR_LISTEN_ADDRESS_IN_USE: null,
  ERR_LISTEN_ADDRESS_UNAVAILABLE: null,
  ERR_LISTEN_FAILED: null,
  ERR_TRACING_CONFIG: null,
  ERR_WORKERS_INVALID: null,
  ERR_PATH_INVALID: 400,
  ERR_PATH_ENCODED_SEPARATOR: 400,
  ERR_PATH_TRAVERSAL: 400,
  ERR_REQUEST_METHOD_INVALID: 400,
  ERR_REQUEST_HOST_INVALID: 400,
  ERR_REQUEST_MISSING_ORIGINAL: 400,
  ERR_REQUEST_SOURCE_INVALID: 400,
  ERR_REQUEST_SCHEME_INVALID: 400,
  ERR_PATH_NETWORK_PATH: 400,
  ERR_REQUEST_TARGET_FORM: 400,
  ERR_REQUEST_ORIGINAL_IS_CHECK: 400,
  ERR_CREDENTIAL_MISSING: 401,
  ERR_TOKEN_TOO_LARGE: 401,
  ERR_TOKEN_MALFORMED: 401,
  ERR_TOKEN_ENCRYPTED: 401,
  ERR_TOKEN_CRIT: 401,
  ERR_TOKEN_KID_INVALID: 401,
  ERR_TOKEN_LOCATION: 401,
  ERR_TOKEN_ISSUER_UNKNOWN: 401,
  ERR_TOKEN_ALG: 401,
  ERR_TOKEN_KID_UNKNOWN: 401,
  ERR_TOKEN_SIGNATURE: 401,
  ERR_TOKEN_EXPIRED: 401,
  ERR_TOKEN_NOT_YET_VALID: 401,
  ERR_TOKEN_ISSUED_IN_FUTURE: 401,
  ERR_TOKEN_LIFETIME: 401,
  ERR_TOKEN_AUDIENCE: 401,
  ERR_TOKEN_CLAIM: 401,
  ERR_JWKS_UNAVAILABLE: 401,
  ERR_NO_ROLE: 403,
  ERR_ROLE_NOT_ASSUMABLE: 403,
  ERR_ROUTE_UNMATCHED: 403,
  ERR_EXPLICIT_DENY: 403,
  ERR_IMPLICIT_DENY: 403,
  ERR_HEADER_VALUE_INVALID: 403,
  ERR_CLAIM_VARIABLE_UNSAFE: 403,
  ERR_POLICY_EVALUATION: 403,
  ERR_IAM_SYNC: null,
  ERR_IAM_ROLE_INVALID: null,
  ERR_IAM_ROLE_NAME_CLASH: null,
  ERR_STS_FAILED: 403,
  ERR_CHECK_ABANDONED: 403,
  ERR_ACCESS_INVALID: { api: 400 },
  ERR_ACCESS_FORBIDDEN: { api: 403 },
  ERR_ACCESS_SELF_APPROVAL: { api: 403 },
  ERR_ACCESS_NOT_FOUND: { api: 404 },
  ERR_ACCESS_STATE: { api: 409 },
  ERR_ACCESS_STORE: { api: 503 },
  ERR_ACCESS_CONTENT_TYPE: { api: 415 },
  ERR_ACCESS_UNKNOWN_FIELD: { api: 400 },
  ERR_ACCESS_BODY_UNEXPECTED: { api: 400 },
  ERR_ACCESS_CROSS_SITE: { api: 403 },
  ERR_ACCESS_AMBIENT_CREDENTIAL: { api: 403 },
  ERR_ACCESS_CSRF: { api: 403 },
  ERR_INTERNAL: { deny: 403, api: 500 },
};

/** The HTTP status of a deny with this code, or `null` when no decision carries it. */
export function httpStatusOf(code: ErrorCode): HttpStatus | null {
  const status = HTTP_STATUS[code];
  return status === null || typeof status === 'number' ? status : (status.deny ?? null);
}

/**
 * The HTTP status the access API and its approvals page answer a call
 * refused or failed with this code. A code that is never an HTTP answer,
 * met there, is an unexpected failure: `ERR_INTERNAL`'s status.
 */
export function apiStatusOf(code: ErrorCode): ApiStatus {
  const status = HTTP_STATUS[code];
  if (typeof status === 'number') return status;
  return status?.api ?? apiStatusOf('ERR_INTERNAL');
}

/** The one error class rolegate throws; `code` is stable, `message` is for humans. */
export class RolegateError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_CATALOGUE[code], options);
    this.name = 'RolegateError';
    this.code = code;
  }
}

/** True when `value` is a code of the catalogue. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOGUE, value);
}

/** The catalogue code of any thrown value; unknown errors map to ERR_INTERNAL. */
export function errorCodeOf(err: unknown): ErrorCode {
  return err instanceof RolegateError ? err.code : 'ERR_INTERNAL';
}
