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
  WARN_TRUST_KEY_UNPROVIDED:
    'a trust policy condition key is never present: no configured issuer (or mTLS peer) the statement admits provides it',
  WARN_TRUST_FEDERATED_UNKNOWN:
    'a trust policy Principal.Federated names no configured issuer, so it matches no token',
  WARN_ROLE_TRUST_UNSATISFIABLE:
    'no configured identity can satisfy a role trust policy: the role can never be assumed',
  WARN_ACCESS_ACTION_BLOCKED:
    "a guardrail or permissions boundary blocks access API actions (rolegate:*) a role's policies allow",

  // Policy evaluation (request time).
  ERR_CONTEXT_VALUE_TYPE:
    'a request context value cannot be compared by the condition operator (not a number, date, IP, bool, base64 or ARN)',

  // CLI input.
  ERR_INPUT_SYNTAX: 'an input line is not valid JSON',
  ERR_INPUT_SHAPE: 'an input line lacks a required field or has one of the wrong type',
  ERR_INPUT_POLICY: 'a policy document in an input line is invalid',
  ERR_DIFF_UNKNOWN:
    'rolegate diff met a construct outside the fragment it decides exactly, so it cannot prove the answer',
  ERR_DIFF_NEW_ACCESS: 'the new configuration allows requests the old one denied',
  ERR_DIFF_GRANTED:
    'some identity can perform an action that was checked as never granted, or a public one',
  ERR_USAGE:
    'the command line is wrong: an unknown command or flag, a missing required flag, or flags that exclude each other',
  ERR_POLICY_READ: 'a policy file cannot be read',
  ERR_TEST_FILE:
    'a policy test file (rolegate test) cannot be found, read or does not match its schema',
  ERR_AUDIT_READ: 'an audit file given to a report cannot be read',
  ERR_AUDIT_EMPTY:
    'the files given to a command that reads audit files (report usage, shadow report, explain) hold no audit record: none of their lines is one',
  ERR_DECISION_NOT_FOUND:
    'rolegate explain found no audit record with the decision id it was given',

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
  ERR_IAM_SNAPSHOT_INVALID:
    'the IAM snapshot the fleet reader published does not verify (hash or shape); the last good set stays active',
  ERR_IAM_FLEET:
    "the fleet's database (aws.iam.fleet) is not configured or cannot be reached; the replica does not start",
  ERR_IAM_SNAPSHOT_MISSING:
    'no IAM snapshot has been published for the fleet yet; the replica waits for its reader',
  ERR_STS_FAILED:
    'temporary AWS credentials for the upstream could not be obtained from STS; the request is denied',
  ERR_CREDENTIALS_NARROWED:
    'the route requires upstream AWS credentials, but the caller holds the role through a grant narrowed by a session policy; none are minted',
  ERR_CHECK_ABANDONED:
    'the proxy stopped waiting for this check (its timeout, or the client went away) before rolegate answered; a proxy that fails closed denied the request',

  // Backstage catalog ownership (catalog.backstage; see docs/backstage.md).
  ERR_CATALOG_UNAVAILABLE:
    'a route takes its resource tags from the Backstage catalog, and no read of the catalog has succeeded yet; the request is denied',
  ERR_CATALOG_STALE:
    'a route takes its resource tags from the Backstage catalog, and the last good read is older than catalog.backstage.staleAfterSeconds; the request is denied',
  ERR_CATALOG_ENTITY_UNKNOWN:
    "a route's entity is not in the catalog rolegate last read; the request is denied",
  ERR_CATALOG_READ:
    'reading the Backstage catalog failed (connection, status, body too large or malformed); the last good copy stays',
  ERR_CATALOG_TOO_LARGE:
    'the Backstage catalog holds more entities than catalog.backstage.maxEntities; the read is refused and the last good copy stays',

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
  ERR_ACCESS_UNREACHABLE:
    'rolegate access or rolegate credentials cannot reach the access API (connection refused, timeout, DNS), or what answered is not the access API',
  ERR_ACCESS_SLACK_SIGNATURE:
    "a Slack interactive callback is not signed with the Slack app's signing secret (missing, malformed or forged signature or timestamp)",
  ERR_ACCESS_SLACK_STALE:
    'a Slack interactive callback was signed too long ago (or in the future): outside the replay window',
  ERR_ACCESS_SLACK_REPLAY:
    'a Slack interactive callback with this timestamp and signature was already taken (replayed)',
  ERR_ACCESS_SLACK_USER:
    'the Slack user who clicked is not mapped to an identity (access.slack.users)',
  ERR_ACCESS_SLACK_PAYLOAD:
    'a Slack interactive callback is not a form with one payload field holding a block_actions approve or deny action',
  ERR_SIGNIN_STATE:
    'a sign-in came back without the flow it started (no flow cookie, or a state that does not match)',
  ERR_SIGNIN_FAILED:
    'signing in with the issuer failed: the issuer refused, the code exchange failed, or a token it returned did not verify',
  ERR_SIGNIN_SESSION:
    'the approvals page session cookie names no live session (forged, ended at sign-out, or expired)',

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
  WARN_TRUST_KEY_UNPROVIDED: null,
  WARN_TRUST_FEDERATED_UNKNOWN: null,
  WARN_ROLE_TRUST_UNSATISFIABLE: null,
  WARN_ACCESS_ACTION_BLOCKED: null,
  ERR_CONTEXT_VALUE_TYPE: null,
  ERR_INPUT_SYNTAX: { api: 400 },
  ERR_INPUT_SHAPE: { api: 400 },
  ERR_INPUT_POLICY: null,
  ERR_DIFF_UNKNOWN: null,
  ERR_DIFF_NEW_ACCESS: null,
  ERR_DIFF_GRANTED: null,
  ERR_USAGE: null,
  ERR_POLICY_READ: null,
  ERR_TEST_FILE: null,
  ERR_AUDIT_READ: null,
  ERR_AUDIT_EMPTY: null,
  ERR_DECISION_NOT_FOUND: null,
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
  ERR_IAM_SNAPSHOT_INVALID: null,
  ERR_IAM_SNAPSHOT_MISSING: null,
  ERR_IAM_FLEET: null,
  ERR_STS_FAILED: 403,
  ERR_CREDENTIALS_NARROWED: 403,
  ERR_CHECK_ABANDONED: 403,
  ERR_CATALOG_UNAVAILABLE: { deny: 403, api: 503 },
  ERR_CATALOG_STALE: { deny: 403, api: 503 },
  ERR_CATALOG_ENTITY_UNKNOWN: 403,
  ERR_CATALOG_READ: null,
  ERR_CATALOG_TOO_LARGE: null,
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
  ERR_ACCESS_UNREACHABLE: null,
  ERR_ACCESS_SLACK_SIGNATURE: { api: 401 },
  ERR_ACCESS_SLACK_STALE: { api: 401 },
  ERR_ACCESS_SLACK_REPLAY: { api: 401 },
  ERR_ACCESS_SLACK_USER: { api: 403 },
  ERR_ACCESS_SLACK_PAYLOAD: { api: 400 },
  ERR_SIGNIN_STATE: { api: 400 },
  ERR_SIGNIN_FAILED: { api: 401 },
  ERR_SIGNIN_SESSION: { api: 401 },
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

/** The path and anchor of a code's entry in docs/errors.md (the anchor is the lower-cased code). */
export function errorDocAnchor(code: ErrorCode): string {
  return `docs/errors.md#${code.toLowerCase()}`;
}

/** What an operator reads about a code in docs/errors.md (`npm run errors-doc` writes the page). */
export interface ErrorHelp {
  /** What makes rolegate report the code, and where. */
  readonly cause: string;
  /** What to change or check so it stops. */
  readonly fix: string;
}

/**
 * The cause and fix of every catalogue code: the text of docs/errors.md.
 * The type makes it complete, like {@link HTTP_STATUS}: a new code does not
 * compile until it has an entry here, and `test/unit/repo/errors-doc.test.ts`
 * fails until the page is regenerated.
 */
export const ERROR_HELP: { readonly [K in ErrorCode]: ErrorHelp } = {
  ERR_POLICY_SYNTAX: {
    cause:
      'A policy file (or an inline policy of the configuration) does not parse: a missing comma or brace, a tab in YAML, a file truncated on copy. Reported at load by `rolegate validate`, `serve` and a reload, with the file, line and column.',
    fix: 'Fix the text at the position given; `rolegate validate --config FILE` re-checks without starting the server. A reload that fails keeps the last good configuration.',
  },
  ERR_POLICY_SHAPE: {
    cause:
      'An element has the wrong JSON type: `Statement` is a string, `Action` a number, `Condition` a list. The problem carries the JSON path.',
    fix: 'Give the element the type IAM defines (docs/policy-language.md): a string or list of strings for `Action` and `Resource`, an object for `Condition`.',
  },
  ERR_POLICY_VERSION: {
    cause:
      'The document `Version` is neither `2012-10-17` nor `2008-10-17` (often a date typed by hand).',
    fix: 'Use `"Version": "2012-10-17"`; the older version does not substitute policy variables.',
  },
  ERR_POLICY_UNKNOWN_ELEMENT: {
    cause:
      'The document or a statement has a key IAM does not define (`Actions`, `Sid ` with a space, a vendor extension), which IAM would reject.',
    fix: 'Rename or remove the element at the JSON path given; element names are case-sensitive.',
  },
  ERR_POLICY_MISSING_ELEMENT: {
    cause:
      'A statement lacks a required element: `Effect`, an `Action`/`NotAction`, or a `Resource`/`NotResource` (a trust policy needs a `Principal` instead).',
    fix: 'Add the missing element to the statement named in the problem.',
  },
  ERR_POLICY_CONFLICTING_ELEMENTS: {
    cause:
      'A statement holds both `Action` and `NotAction`, `Resource` and `NotResource`, or `Principal` and `NotPrincipal`.',
    fix: 'Keep one of the pair; prefer the positive form (`Action`, `Resource`), which grants only what it lists.',
  },
  ERR_POLICY_EFFECT: {
    cause: '`Effect` is something other than `Allow` or `Deny` (case matters: `allow` is refused).',
    fix: 'Write `"Effect": "Allow"` or `"Effect": "Deny"`.',
  },
  ERR_POLICY_ACTION: {
    cause: 'An action is not `service:Name` (no colon, spaces, an empty service or name).',
    fix: 'Write actions as the route table maps them, such as `orders:GetOrder` or `orders:*`.',
  },
  ERR_POLICY_ARN: {
    cause:
      'A `Resource` (or an ARN condition value) is not a valid ARN, such as a bare path or `arn:aws:s3` with missing parts.',
    fix: 'Write the full ARN the route maps to (`arn:rolegate:orders:::order/*`), or `*`.',
  },
  ERR_POLICY_PRINCIPAL: {
    cause:
      'A `Principal` or `NotPrincipal` element is malformed: an unknown principal type, an empty value, a wrong shape.',
    fix: 'Use `{"Federated": "<issuer>"}` for JWT callers or `{"Spiffe": "spiffe://..."}` for mTLS peers, or `"*"` (docs/identity.md).',
  },
  ERR_POLICY_DUPLICATE_SID: {
    cause:
      'Two statements of one document share a `Sid`, so audit records could not tell them apart.',
    fix: 'Give each statement of the document its own `Sid`.',
  },
  ERR_POLICY_UNKNOWN_OPERATOR: {
    cause:
      'A condition operator is not one IAM defines (a typo such as `StringEqual`, or a made-up one).',
    fix: 'Use an operator from the README list (each also with `IfExists`, and `ForAnyValue:`/`ForAllValues:` prefixes).',
  },
  ERR_POLICY_BAD_CIDR: {
    cause:
      'An `IpAddress`/`NotIpAddress` value is not an IPv4 or IPv6 address or CIDR (a host name, a bad prefix length).',
    fix: 'Write an address or CIDR such as `10.0.0.0/8` or `2001:db8::/32`.',
  },
  ERR_POLICY_BAD_DATE: {
    cause: 'A `Date*` condition value is neither ISO 8601 nor epoch seconds.',
    fix: 'Write the date as `2030-01-01T00:00:00Z` or as epoch seconds.',
  },
  ERR_POLICY_BAD_NUMBER: {
    cause: 'A `Numeric*` condition value is not a number.',
    fix: 'Write a plain decimal number (quotes are fine, units are not: `3600`, not `1h`).',
  },
  ERR_POLICY_BAD_BOOL: {
    cause: 'A `Bool` or `Null` condition value is neither `true` nor `false`.',
    fix: 'Write `true` or `false`.',
  },
  ERR_POLICY_BAD_BINARY: {
    cause: 'A `BinaryEquals` value is not base64.',
    fix: 'Encode the value as base64.',
  },
  ERR_POLICY_VARIABLE_SYNTAX: {
    cause:
      'A policy variable is malformed: an unclosed `${`, an empty name, a default without a key.',
    fix: "Write variables as `${jwt:sub}` or `${jwt:sub, 'default'}` (docs/policy-language.md).",
  },
  ERR_POLICY_VARIABLE_VERSION: {
    cause:
      'A policy variable is used in a document whose `Version` is `2008-10-17`, which never substitutes it.',
    fix: 'Set `"Version": "2012-10-17"`.',
  },
  ERR_POLICY_VARIABLE_MULTIVALUED: {
    cause:
      'A multivalued context key (such as `jwt:groups`) is used as a policy variable, which has no single value to substitute.',
    fix: 'Test the key in a `Condition` with `ForAnyValue:`/`ForAllValues:` instead.',
  },
  ERR_POLICY_SET_OPERATOR_SINGLE_VALUED: {
    cause:
      '`ForAnyValue:`/`ForAllValues:` is used with a single-valued key, where it matches in surprising ways (`ForAllValues` is true when the key is absent).',
    fix: 'Drop the set prefix for single-valued keys, or test a multivalued key.',
  },
  ERR_POLICY_VARIABLE_PLACEMENT: {
    cause:
      'A policy variable sits in the part of a `Resource` ARN before the resource (service, region, account), where IAM does not substitute it.',
    fix: 'Move the variable into the resource part, such as `arn:rolegate:orders:::order/${jwt:sub}/*`.',
  },
  WARN_POLICY_ALLOW_ALL: {
    cause:
      'A statement allows `*` on `*`: every action on every resource, including ones added later.',
    fix: 'List the actions and resources the role needs; keep `*` only for a deliberate break-glass role.',
  },
  WARN_POLICY_NEVER_MATCHES: {
    cause:
      'A statement can never match a request (an action no route maps to, conditions that exclude each other), so it is dead text.',
    fix: 'Fix the action, resource or conditions it names, or delete it.',
  },
  WARN_TRUST_ISSUER_WIDE: {
    cause:
      'A trust policy admits every subject of an issuer: no condition on the audience, subject or groups, so any token the issuer signs assumes the role.',
    fix: 'Add a condition on `jwt:aud`, `jwt:sub` or `jwt:groups` to the trust statement (docs/findings.md).',
  },
  WARN_ALLOW_NOT_ACTION: {
    cause:
      'An `Allow` statement uses `NotAction`: it grants every action it does not list, new ones included.',
    fix: 'List the allowed actions with `Action`; keep `NotAction` for `Deny` statements.',
  },
  WARN_ALLOW_NOT_RESOURCE: {
    cause: 'An `Allow` statement uses `NotResource`: it grants every resource it does not list.',
    fix: 'List the allowed resources with `Resource`.',
  },
  WARN_WRITE_ON_ALL_RESOURCES: {
    cause: 'A role policy allows a write action (a route with POST, PUT, PATCH or DELETE) on `*`.',
    fix: 'Narrow `Resource` to the ARNs the role should change.',
  },
  WARN_STATEMENT_UNREACHABLE: {
    cause:
      'A role statement can never decide a request: no route maps to its actions, or an unconditional `Deny` covers it.',
    fix: 'Add the route it is meant for, or delete the statement.',
  },
  WARN_ROUTE_UNUSABLE: {
    cause:
      "No role has a statement that allows a route's action and resource, so every request on the route is denied.",
    fix: 'Allow the action on the resource in the role meant to use the route, or remove the route.',
  },
  WARN_ROUTE_SHADOWED: {
    cause:
      'A route can never match: an earlier route matches every request it would (routes match first to last).',
    fix: 'Move the more specific route above the wider one, or delete it.',
  },
  WARN_ROLE_UNREACHED: {
    cause:
      "No route maps to an action any of the role's `Allow` statements grants, so the role never allows a request.",
    fix: "Add the routes for the role's actions, or fix the action names in its policies.",
  },
  WARN_ROUTE_CATCH_ALL: {
    cause:
      "With the HTTP check listener on, a route matches nginx's auth location, so an nginx config that sends `$uri` would have every request decided by it.",
    fix: 'Narrow the route, and send `$request_uri` from nginx (docs/front-doors.md).',
  },
  WARN_TRUST_KEY_UNPROVIDED: {
    cause:
      'A trust statement tests a condition key no configured source provides: `<issuer>:aud|sub|amr` of an issuer that is not configured (or not the one the statement admits), `aws:PrincipalTag/<tag>` without a `tagClaims` entry, `rolegate:groups` without a `groupsClaim`, or a token key in an `sts:AssumeRole` (mTLS) statement.',
    fix: 'Write the key as the finding suggests (the issuer URL without its scheme, e.g. `127.0.0.1:9100:aud`), or configure the claim it reads (docs/findings.md).',
  },
  WARN_TRUST_FEDERATED_UNKNOWN: {
    cause:
      "A trust statement's `Principal.Federated` names no configured issuer: a token matches only its issuer's URL, that URL without the scheme, or a name in the issuer's `federatedPrincipals`.",
    fix: "Name the configured issuer exactly as the finding suggests, or add the name to that issuer's `federatedPrincipals`.",
  },
  WARN_ROLE_TRUST_UNSATISFIABLE: {
    cause:
      "No configured identity can satisfy any `Allow` statement of a role's trust policy (unknown issuers, keys no source provides, `sts:AssumeRole` with mTLS off), so the role is never assumed.",
    fix: 'Fix the statements the finding names; a role meant only for just-in-time grants belongs under `access.roles`.',
  },
  WARN_ACCESS_ACTION_BLOCKED: {
    cause:
      "A role's policies allow access API actions (`rolegate:RequestAccess`, ...), but a guardrail or the role's permissions boundary does not allow them (or denies them), so every such call through the role is refused with `ERR_ACCESS_FORBIDDEN`.",
    fix: 'Allow the `rolegate:` actions in the guardrail or boundary the finding names (docs/access.md).',
  },
  ERR_CONTEXT_VALUE_TYPE: {
    cause:
      'At request time a context value cannot be compared by a condition operator: a `NumericLessThan` on a claim that is not a number, an `IpAddress` on a value that is not an address. Reported inside a decision, whose deny reason is `ERR_POLICY_EVALUATION`.',
    fix: 'Check the claim the condition reads (`rolegate simulate --config` shows the values) and use the operator family of its type.',
  },
  ERR_INPUT_SYNTAX: {
    cause:
      'A line given to `rolegate simulate` is not valid JSON, or an access API call carried a body that is not JSON.',
    fix: 'Send one JSON object per line (or per call body); the message names the line.',
  },
  ERR_INPUT_SHAPE: {
    cause:
      'An input line of `rolegate simulate`, or an access API body, lacks a required field, has one of the wrong type, or is not a JSON object.',
    fix: 'Compare the input with the shape in docs/cli.md (simulate) or docs/access-api.openapi.json (access API); the message names the field.',
  },
  ERR_INPUT_POLICY: {
    cause: 'A policy document inside an input line of `rolegate simulate` is invalid.',
    fix: 'Fix the document as its problems say; `rolegate validate` checks a policy file alone.',
  },
  ERR_DIFF_UNKNOWN: {
    cause:
      '`rolegate diff` (or one of its checks) met a construct it does not decide exactly: an operator, a context key, a policy variable in a Resource, a route template shape, a changed issuer or header setting, or a request space larger than its bound. The message names the construct and where it is (file, policy, statement, JSON path). The answer is unknown, never a guess. Exit status 2.',
    fix: 'See docs/diff.md for the covered fragment. Rewrite the construct within it, or review that part of the change by hand; the rest of the configuration is not proved either while the answer is unknown.',
  },
  ERR_DIFF_NEW_ACCESS: {
    cause:
      '`rolegate diff --fail-on new-access` found requests that the new configuration allows and the old one denied. Each finding has a witness request that was decided under both configurations. Exit status 1.',
    fix: 'Read each finding (route, role, constraints, witness). When the new access is intended, merge; otherwise narrow the statement, trust policy or route that grants it. `rolegate simulate --config NEW --claims ...` replays a witness.',
  },
  ERR_DIFF_GRANTED: {
    cause:
      '`rolegate diff not-granted` found an identity that can perform the action on the resource, or `rolegate diff public` found an action any token of an issuer (regardless of identity) can reach. A witness request is printed. Exit status 1.',
    fix: 'Narrow the trust policy (a condition on the subject or groups) or the permission statement the witness reaches; replay it with `rolegate simulate --config FILE --claims ...`.',
  },
  ERR_USAGE: {
    cause:
      'The command line is wrong: an unknown command or flag, a missing required flag, or flags that exclude each other. Exit status 2.',
    fix: 'Run `rolegate help COMMAND` (docs/cli.md).',
  },
  ERR_POLICY_READ: {
    cause:
      'A policy file named on the command line or in the configuration cannot be read (missing, a directory, no permission).',
    fix: 'Check the path (relative paths are from the configuration file) and its permissions.',
  },
  ERR_TEST_FILE: {
    cause:
      '`rolegate test` found no `*.test.yaml` file, cannot read one, or one does not match its schema.',
    fix: 'Check the path given and the file against docs/policy-tests.md; the message names the file and field.',
  },
  ERR_AUDIT_READ: {
    cause: 'An audit file given to `rolegate report` (or a shadow report) cannot be read.',
    fix: 'Check the path and permissions; a rotated file may have moved.',
  },
  ERR_AUDIT_EMPTY: {
    cause:
      'The files given to `rolegate report usage`, `rolegate shadow report` or `rolegate explain` hold no audit record: none of their lines is one (the ops log, or an empty file, given instead of the audit log).',
    fix: 'Give the audit log (the `audit` output of `observe`, docs/observability.md), not the ops log; check the file is the one rolegate writes.',
  },
  ERR_DECISION_NOT_FOUND: {
    cause:
      '`rolegate explain` found no audit record with the decision id it was given (mistyped, or in an older, rotated file).',
    fix: 'Copy the id from the deny (the `decision_id` of its body, or the audit record) and give every audit file that may hold it.',
  },
  ERR_CONFIG_READ: {
    cause: 'The configuration file named by `--config` (or a file it includes) cannot be read.',
    fix: 'Check the path and permissions; `--config -` reads the configuration from standard input.',
  },
  ERR_CONFIG_SYNTAX: {
    cause: 'The configuration is not valid YAML or JSON.',
    fix: 'Fix the text at the line and column given.',
  },
  ERR_CONFIG_INVALID: {
    cause:
      'The configuration does not match its schema (schema/rolegate.schema.json): an unknown key, a value out of range, a policy with problems. Every problem is listed with its path.',
    fix: 'Fix each problem listed; point your editor at schema/rolegate.schema.json to see them as you type. A reload that fails keeps the last good configuration.',
  },
  ERR_LISTEN_HOST_INVALID: {
    cause:
      '`ROLEGATE_LISTEN_HOST` is set to something other than an IPv4 or IPv6 address literal (a host name is refused).',
    fix: 'Set it to an address such as `127.0.0.1`, `0.0.0.0` or `::`.',
  },
  ERR_LISTEN_ADDRESS_IN_USE: {
    cause:
      'A listen address (gRPC, admin, HTTP check or access API) is already in use, often by a second rolegate.',
    fix: 'Stop the other process (the message names the address) or change the port in the `server` section.',
  },
  ERR_LISTEN_ADDRESS_UNAVAILABLE: {
    cause:
      'A listen host is not an address of this machine, or binding it is not permitted (a port below 1024 without the capability).',
    fix: 'Listen on an address the machine has, or a port above 1024.',
  },
  ERR_LISTEN_FAILED: {
    cause:
      'A listener could not be started for another reason; the message carries the system error.',
    fix: 'Act on the system error given; check file descriptor limits and the TLS files if any.',
  },
  ERR_TRACING_CONFIG: {
    cause:
      'The `OTEL_*` environment variables ask for tracing rolegate cannot provide (an exporter or protocol it lacks).',
    fix: 'Use the OTLP/HTTP exporter settings in docs/observability.md, or unset the variables.',
  },
  ERR_WORKERS_INVALID: {
    cause: '`ROLEGATE_WORKERS` is neither `auto` nor a worker count from 1 to 256.',
    fix: 'Set it to `auto` or a number from 1 to 256 (docs/workers.md).',
  },
  ERR_PATH_INVALID: {
    cause:
      'The request path has no canonical form: a bad percent-escape, a control character, a backslash, a `;` or raw non-ASCII. rolegate will not guess how the upstream reads it.',
    fix: 'The client must send a well-formed, percent-encoded path (docs/request-canonicalisation.md); nothing to change in rolegate.',
  },
  ERR_PATH_ENCODED_SEPARATOR: {
    cause:
      'The request path encodes `/` inside a segment (`%2F`), which upstreams split differently.',
    fix: 'The client must not encode `/` in a path segment; move such values to the query.',
  },
  ERR_PATH_TRAVERSAL: {
    cause: 'A `..` segment of the request path climbs above the root.',
    fix: 'Nothing to fix in rolegate: such a request is refused by design.',
  },
  ERR_REQUEST_METHOD_INVALID: {
    cause: 'The request method is not an HTTP token rolegate can map to an action.',
    fix: 'The client must send a standard method; a custom one needs a route that names it.',
  },
  ERR_REQUEST_HOST_INVALID: {
    cause: 'The request authority (Host) is not a valid host name or address.',
    fix: 'The client or proxy must send a valid Host; check the proxy forwards the original one.',
  },
  ERR_REQUEST_MISSING_ORIGINAL: {
    cause:
      'An HTTP check request lacks the original method, URI or host the proxy must send (`X-Original-*`, `X-Forwarded-*`), or sends one twice.',
    fix: 'Configure the proxy as docs/front-doors.md shows for nginx, Traefik or Caddy.',
  },
  ERR_REQUEST_SOURCE_INVALID: {
    cause:
      'A trusted proxy sent an `X-Forwarded-For` entry that is not an IP address, or the source is an IPv6 form that embeds an IPv4 address in a way rolegate refuses (IPv4-compatible, 6to4, Teredo, IPv4-translated, local-use NAT64).',
    fix: 'Fix what the proxy writes in `X-Forwarded-For`; check `server.http.trustedProxies` lists only your proxies.',
  },
  ERR_REQUEST_SCHEME_INVALID: {
    cause:
      'A trusted proxy sent `X-Forwarded-Proto` more than once, or with a value other than `http` or `https`.',
    fix: 'Make the proxy set (not append) `X-Forwarded-Proto`.',
  },
  ERR_PATH_NETWORK_PATH: {
    cause:
      'The request path begins with `//`: a URL parser upstream would read the first segment as a host (RFC 3986 4.2).',
    fix: 'The client must not send paths beginning with `//`; nothing to change in rolegate.',
  },
  ERR_REQUEST_TARGET_FORM: {
    cause:
      'The original request target is an absolute URI or `*`, not the origin form (`/path?query`) a proxy forwards.',
    fix: 'Make the proxy send the origin-form target (nginx: `$request_uri`).',
  },
  ERR_REQUEST_ORIGINAL_IS_CHECK: {
    cause:
      "The original URI is nginx's auth location (`server.http.nginxAuthLocation`): the nginx config sends `$uri`, which inside the auth subrequest is its own URI.",
    fix: 'Send `X-Original-URI $request_uri` in the nginx auth location (docs/front-doors.md).',
  },
  ERR_CREDENTIAL_MISSING: {
    cause: 'The request carries no token where any issuer sends one (and no accepted mTLS peer).',
    fix: "The client must sign in; check the proxy forwards the `Authorization` header (or the issuer's `token` header or cookie).",
  },
  ERR_TOKEN_TOO_LARGE: {
    cause: 'The token is larger than `tokens.maxBytes` (default 16384 bytes).',
    fix: 'Trim the claims the issuer puts in the token, or raise `tokens.maxBytes`.',
  },
  ERR_TOKEN_MALFORMED: {
    cause:
      'The token is not a JWS compact serialization (three base64url parts): often an opaque access token or a session id.',
    fix: 'Configure the issuer to send a JWT access token (or an ID token) for this audience.',
  },
  ERR_TOKEN_ENCRYPTED: {
    cause: 'An encrypted token (JWE, five parts) was sent where a signed token (JWS) is expected.',
    fix: 'Configure the issuer to sign, not encrypt, tokens for this audience.',
  },
  ERR_TOKEN_CRIT: {
    cause:
      'The token header lists critical extensions (`crit`) rolegate does not understand, which RFC 7515 says must be refused.',
    fix: 'Configure the issuer not to mark extensions critical for this audience.',
  },
  ERR_TOKEN_KID_INVALID: {
    cause:
      'The token `kid` header is not a plausible key id (path or control characters): a probe rather than a real token.',
    fix: 'Nothing to fix for a genuine issuer; investigate the caller.',
  },
  ERR_TOKEN_LOCATION: {
    cause:
      'The token was presented where its issuer does not send tokens (`issuers[].token`): a cookie-borne token replayed in a header, or the reverse.',
    fix: "Send the token where the issuer's `token` option says, or correct that option.",
  },
  ERR_TOKEN_ISSUER_UNKNOWN: {
    cause: 'The token `iss` is not a configured issuer (an exact match: a trailing slash counts).',
    fix: 'Add the issuer under `issuers` or correct its `issuer` value; `rolegate validate` lists the configured ones.',
  },
  ERR_TOKEN_ALG: {
    cause:
      "The token algorithm is not in the issuer's `algorithms`, or does not fit its key (`none` is never accepted).",
    fix: "Add the algorithm to the issuer's `algorithms`, or have the issuer sign with an allowed one.",
  },
  ERR_TOKEN_KID_UNKNOWN: {
    cause:
      "No key of the issuer's JWKS matches the token `kid`, even after a refetch (limited by `keys.cooldownSeconds`): a key rotation not yet published, or the wrong issuer.",
    fix: "Check the issuer's JWKS at `jwksUri` lists the key; after a rotation, wait for the refetch cooldown.",
  },
  ERR_TOKEN_SIGNATURE: {
    cause:
      'The token signature does not verify with the issuer key: a tampered token, or a key mix-up between environments.',
    fix: 'Check the issuer and `jwksUri` (or `jwksFile`, `hmacSecretEnv`) belong to the environment that minted the token.',
  },
  ERR_TOKEN_EXPIRED: {
    cause: 'The token `exp` is past, beyond `clockToleranceSeconds`.',
    fix: 'The client must refresh its token; if tokens expire early, check the clocks of rolegate and the issuer.',
  },
  ERR_TOKEN_NOT_YET_VALID: {
    cause: 'The token `nbf` is in the future, beyond `clockToleranceSeconds`.',
    fix: 'Synchronise the clocks (NTP) of rolegate and the issuer, or raise `clockToleranceSeconds` a little.',
  },
  ERR_TOKEN_ISSUED_IN_FUTURE: {
    cause: 'The token `iat` is later than now plus `clockToleranceSeconds`.',
    fix: 'Synchronise the clocks of rolegate and the issuer.',
  },
  ERR_TOKEN_LIFETIME: {
    cause:
      "The token lifetime (`exp - iat`, or `exp - now` without `iat`) exceeds the issuer's `maxTokenLifetimeSeconds`.",
    fix: "Have the issuer mint shorter-lived tokens, or raise the issuer's `maxTokenLifetimeSeconds` if long tokens are intended.",
  },
  ERR_TOKEN_AUDIENCE: {
    cause: "The token `aud` holds none of the issuer's `audiences`.",
    fix: 'Request the token for a configured audience, or add the audience to the issuer.',
  },
  ERR_TOKEN_CLAIM: {
    cause:
      "A required claim is missing or invalid: `exp`/`iat` not a number, `sub` empty, or one of the issuer's `requiredClaims` absent or without an accepted value.",
    fix: "Have the issuer include the claim, or correct the issuer's `requiredClaims`; the audit record names the claim, never its value.",
  },
  ERR_JWKS_UNAVAILABLE: {
    cause:
      "The issuer's keys cannot be fetched (network, TLS, HTTP error, a document too large) and no cached keys within `keys.staleSeconds` remain.",
    fix: 'Check rolegate reaches `jwksUri` (the ops log names the issuer and the failure); rolegate fails closed until it does.',
  },
  ERR_NO_ROLE: {
    cause:
      "No role's trust policy admits the caller: the issuer, audience, subject or group conditions of every trust statement failed.",
    fix: "`rolegate simulate --config` with the caller's claims shows which trust condition failed; add the caller to a role's trust policy or request access (docs/access.md).",
  },
  ERR_ROLE_NOT_ASSUMABLE: {
    cause:
      'The caller asked for one role (the header named by `headers.requestedRole`) whose trust policy does not admit them, and they hold no active grant for it.',
    fix: 'Ask for a role the caller may assume, or request a grant with `rolegate access request`.',
  },
  ERR_ROUTE_UNMATCHED: {
    cause: 'The request matches no route and `unmatchedRoutes` is `deny` (the default).',
    fix: 'Add a route for the method and path, or set `unmatchedRoutes: default` to map unmatched requests by default.',
  },
  ERR_EXPLICIT_DENY: {
    cause:
      'A `Deny` statement (guardrail, role policy or boundary) matches the request; no `Allow` can override it.',
    fix: 'The audit record names the determining statement; change it only if the deny is not intended.',
  },
  ERR_IMPLICIT_DENY: {
    cause:
      'No `Allow` covers the request in every layer that applies: the role policy, and each guardrail and boundary present.',
    fix: 'The audit record names the layer that did not allow; add the action and resource there, or use a role that has it.',
  },
  ERR_HEADER_VALUE_INVALID: {
    cause:
      'A value for an upstream header (a claim, the subject) holds characters HTTP cannot carry (CR, LF, NUL, other controls) or is too long; the request is denied rather than sent without it.',
    fix: 'The audit record names the header (never the value); fix the claim at the issuer, or map a different claim in `headers.claims`.',
  },
  ERR_CLAIM_VARIABLE_UNSAFE: {
    cause:
      "A claim used as a policy variable does not match its issuer's `claimPatterns` (by default no `/`, `*`, `?` or spaces), so substituting it could widen a resource.",
    fix: 'Fix the claim at the issuer, or set a `claimPatterns` entry that accepts its legitimate values.',
  },
  ERR_POLICY_EVALUATION: {
    cause:
      'A condition could not be evaluated against the request values (see `ERR_CONTEXT_VALUE_TYPE`), so the role does not allow (fail closed).',
    fix: 'The audit record names the statement; fix the condition operator or the claim it reads.',
  },
  ERR_IAM_SYNC: {
    cause:
      'Loading roles from AWS IAM failed (credentials, network, throttling); the last good set of IAM roles stays active.',
    fix: "Check rolegate's AWS credentials and its IAM read permissions (`iam:GetAccountAuthorizationDetails`, or `iam:ListRoles`/`iam:GetRole*`; docs/eks.md has the policy); with `aws.iam.fleet`, also the database. The ops log has the error.",
  },
  ERR_IAM_ROLE_INVALID: {
    cause:
      'A role loaded from AWS IAM has a document the policy engine rejects; the role is skipped.',
    fix: 'Fix the role in IAM; the ops log names the role and the problem.',
  },
  ERR_IAM_ROLE_NAME_CLASH: {
    cause:
      'A role loaded from AWS IAM has the name of a role in the configuration file; the file role wins.',
    fix: 'Rename one of them, or remove the file role if IAM is meant to own it.',
  },
  ERR_IAM_SNAPSHOT_INVALID: {
    cause:
      "The IAM snapshot in the fleet's database does not match its hash or is not a snapshot (written by something else, or corrupted); this replica keeps deciding with its last good set.",
    fix: 'Find what wrote `rolegate_iam_snapshot` besides rolegate; the next snapshot the reader publishes replaces it (docs/fleet.md).',
  },
  ERR_IAM_FLEET: {
    cause:
      '`aws.iam.fleet` is configured but the variable it names (`urlEnv`) is unset, or the database cannot be reached when the replica starts or the section is added by a reload; the replica does not start (a reload is refused and the running config stays).',
    fix: 'Set the PostgreSQL URL in the variable `aws.iam.fleet.urlEnv` names (default ROLEGATE_ACCESS_DATABASE_URL) and check that the replica reaches the database (docs/fleet.md).',
  },
  ERR_IAM_SNAPSHOT_MISSING: {
    cause:
      "With `aws.iam.fleet`, a replica found no IAM snapshot in the database yet: the fleet's reader has not finished its first read of IAM.",
    fix: 'Wait for the reader (GET /config shows the lease holder); if none holds the lease, check that replicas reach the database and IAM (docs/fleet.md).',
  },
  ERR_CREDENTIALS_NARROWED: {
    cause:
      'The route asks for upstream AWS credentials (`credentials: required`), and the caller holds the role only through a just-in-time grant narrowed by a session policy. STS would mint credentials for the whole role, wider than the grant, so rolegate mints none and denies.',
    fix: 'Request the grant without a session policy, use a route with `credentials: optional` (the request goes on without credentials), or let the caller assume the role by trust (docs/access.md, session policies).',
  },
  ERR_STS_FAILED: {
    cause:
      'Temporary AWS credentials for the upstream could not be obtained from STS (AssumeRole refused, throttled, unreachable); the request is denied.',
    fix: "Check the role's trust policy in AWS admits rolegate, and rolegate's AWS credentials (docs/aws.md).",
  },
  ERR_CHECK_ABANDONED: {
    cause:
      'The proxy stopped waiting for the check (its timeout, or the client went away) before rolegate answered; a proxy that fails closed denied the request.',
    fix: "Compare the proxy's ext_authz timeout with rolegate's check latency (`rolegate_check_duration_seconds`); an unreachable issuer or STS is the usual cause.",
  },
  ERR_CATALOG_UNAVAILABLE: {
    cause:
      'A route names a Backstage `entity`, and rolegate has not read the catalog successfully since it started, so the route has no owner, system or lifecycle tags to decide with (fail closed).',
    fix: 'Check `catalog.backstage.baseUrl`, the static token in the variable `tokenEnv` names, and that Backstage lists it under `backend.auth.externalAccess`; the ops log has the read error (`ERR_CATALOG_READ`) and `/readyz` a catalog line.',
  },
  ERR_CATALOG_STALE: {
    cause:
      "A route names a Backstage `entity`, and the last successful read of the catalog is older than `catalog.backstage.staleAfterSeconds` (default 600): ownership may have changed since, so the route's requests are denied until a read succeeds.",
    fix: "Restore the catalog (or rolegate's path to it); the next successful read (every `refreshSeconds`) serves the route again. `rolegate_catalog_last_sync_success_timestamp_seconds` shows the age.",
  },
  ERR_CATALOG_ENTITY_UNKNOWN: {
    cause:
      'A route names a Backstage `entity` that the catalog rolegate last read does not hold (renamed, removed, or spelled differently), so the route has no tags to decide with.',
    fix: "The audit record names the entity ref; fix the route's `entity` (kind and namespace default as Backstage's: `payments-api` is `component:default/payments-api`) or register the entity in the catalog.",
  },
  ERR_CATALOG_READ: {
    cause:
      "A read of the Backstage catalog API (`/api/catalog/entities/by-query`) failed: connection refused or timed out, a status other than 200 (401: the static token is not accepted), a body over the byte bound, or a page that is not the catalog's shape. The last good copy stays until `staleAfterSeconds`.",
    fix: "Check the catalog's URL and health and the static token; the ops log line has the status and the page (never the token).",
  },
  ERR_CATALOG_TOO_LARGE: {
    cause:
      'The catalog returned more entities than `catalog.backstage.maxEntities` (default 10000); rolegate refuses to hold an unbounded copy, keeps the last good one and counts the failure.',
    fix: 'Raise `catalog.backstage.maxEntities` if the catalog really is that large.',
  },
  ERR_ACCESS_INVALID: {
    cause:
      "An access API call is malformed: a role not listed under `access.roles`, a `durationSeconds` outside 60 to the role's `maxGrantSeconds` (break-glass: `breakGlass.maxSeconds`), a break-glass request for a role without `breakGlass`, or a reason without visible characters (break-glass: fewer than 10).",
    fix: "The `access_refused` audit record names the field and the limit (`durationSeconds 18000 exceeds staging-admin's maxGrantSeconds 7200`); ask within it, or raise the role's limit.",
  },
  ERR_ACCESS_FORBIDDEN: {
    cause:
      "rolegate's own policies do not allow the caller the access action (`rolegate:RequestAccess`, `rolegate:ApproveAccessRequest`, `rolegate:RevokeGrant`, `rolegate:ListAccessRequests`) on the role: no role admits the caller by trust, or a guardrail, identity policy or boundary does not allow it or denies it.",
    fix: 'The `access_refused` audit record says which layer and statement stopped the action; allow the action in a role the caller may assume by trust (docs/access.md).',
  },
  ERR_ACCESS_SELF_APPROVAL: {
    cause:
      'A requester tried to approve their own request; only a break-glass request may be self-approved.',
    fix: 'Ask another approver; for an emergency, request break-glass access on a role that allows it.',
  },
  ERR_ACCESS_NOT_FOUND: {
    cause:
      'No access request or grant has this id (mistyped, or from another environment), or the path is not an access API endpoint.',
    fix: 'List the ids with `rolegate access list` (or `list --grants`).',
  },
  ERR_ACCESS_STATE: {
    cause:
      'The request or grant is not in a state that allows the action: the request is already approved or denied, the grant already revoked, or a grant ends before the shortest STS session (15 minutes).',
    fix: '`rolegate access show ID` shows the current state; make a new request if needed.',
  },
  ERR_ACCESS_STORE: {
    cause:
      'The access store (sqlite file or PostgreSQL) cannot be reached or failed; nothing was changed.',
    fix: "Check the store (the audit record's `actual` has the store's error, the ops log its availability); known grants keep working within `access.stalenessSeconds`.",
  },
  ERR_ACCESS_CONTENT_TYPE: {
    cause:
      'An access API call did not declare the content type it must (`application/json`, optionally with `charset=utf-8`; the approvals page: `application/x-www-form-urlencoded`).',
    fix: 'Send the `Content-Type` header; `rolegate access` does.',
  },
  ERR_ACCESS_UNKNOWN_FIELD: {
    cause:
      'An access API call carries a field or query parameter it does not take, server-owned fields (`id`, `status`, `approver`) included. The answer lists the field names.',
    fix: 'Remove the fields listed; see docs/access-api.openapi.json.',
  },
  ERR_ACCESS_BODY_UNEXPECTED: {
    cause: 'An access API call that takes no body (a GET, a revoke) carried one.',
    fix: 'Send the call without a body.',
  },
  ERR_ACCESS_CROSS_SITE: {
    cause:
      "A browser sent an access call from another site or origin (`Sec-Fetch-Site`, `Origin`); refused so no page elsewhere can act with the caller's credentials.",
    fix: 'Call the API from its own origin, or list the page origin in `access.origins`.',
  },
  ERR_ACCESS_AMBIENT_CREDENTIAL: {
    cause:
      'A state-changing access API call was authenticated only by a cookie, which a browser attaches by itself.',
    fix: 'Send the token in the `Authorization` header (the approvals page posts a CSRF token instead).',
  },
  ERR_ACCESS_CSRF: {
    cause:
      "An approvals page form carried no CSRF token, a forged one, another caller's, or one older than its key's rotation allows.",
    fix: 'Reload the approvals page and submit again; with several replicas, check they share the CSRF keys (docs/access.md).',
  },
  ERR_ACCESS_UNREACHABLE: {
    cause:
      '`rolegate access` or `rolegate credentials` could not reach the access API at `--url` (or `ROLEGATE_ACCESS_URL`, default `http://127.0.0.1:9004`): connection refused, no answer within 30 s, a host name that does not resolve; or something else answered there without an access API error (another service, a proxy in front of rolegate failing). The client reports the URL and the system code (`ECONNREFUSED`, `ENOTFOUND`, ...); this is not a store error, the store was never asked.',
    fix: 'Check the URL the message names, that rolegate runs with `access.enabled` and listens there (`access.listen`, default `127.0.0.1:9004`), and that the network (or the proxy in front) lets you reach it.',
  },
  ERR_ACCESS_SLACK_SIGNATURE: {
    cause:
      'A Slack interactive callback (`POST /slack/interactions`) has no `X-Slack-Signature` or `X-Slack-Request-Timestamp`, a malformed one, or a signature that is not the HMAC-SHA256 of `v0:<timestamp>:<body>` under the signing secret; or the variable `access.slack.signingSecretEnv` names is not set.',
    fix: "Set the variable to the Slack app's signing secret (Basic Information > App Credentials) on every replica; the `access_refused` audit record says which check failed.",
  },
  ERR_ACCESS_SLACK_STALE: {
    cause:
      'A Slack interactive callback carries a timestamp further from now than `access.slack.toleranceSeconds` (default 300): an old callback replayed, or a clock off.',
    fix: "Check the replica's clock (NTP); Slack sends callbacks at once, so a stale one is most likely a replay.",
  },
  ERR_ACCESS_SLACK_REPLAY: {
    cause:
      'A Slack interactive callback with the same timestamp and signature was already taken within the replay window (on this replica or another sharing the store).',
    fix: 'Nothing to fix when Slack retried; otherwise someone replayed a captured callback: the audit record has the time and source address.',
  },
  ERR_ACCESS_SLACK_USER: {
    cause:
      'The Slack user who clicked approve or deny is not listed under `access.slack.users`, so rolegate does not know whose policies decide the click.',
    fix: 'Add the Slack user id with the issuer, subject and groups they act as (docs/access.md, "Slack approvals"), or approve on the page or with `rolegate access approve`.',
  },
  ERR_ACCESS_SLACK_PAYLOAD: {
    cause:
      'A signed Slack interactive callback is not `application/x-www-form-urlencoded` with one `payload` field holding a `block_actions` payload with one `rolegate_approve` or `rolegate_deny` button and a request id.',
    fix: "Send approvals from the buttons rolegate's `format: slack` webhook messages carry; the audit record names the field.",
  },
  ERR_SIGNIN_STATE: {
    cause:
      'The issuer sent the browser back to `/signin/callback` without the flow rolegate started: no sign-in flow cookie (expired after 10 minutes, another browser, cookies blocked), or a `state` that does not match it (a forged or replayed callback).',
    fix: 'Start again at `/signin`; if it keeps failing, check the browser keeps cookies for the access listener and that `access.signIn.externalUrl` is the origin the browser uses.',
  },
  ERR_SIGNIN_FAILED: {
    cause:
      "Signing in with `access.signIn.issuer` failed: the issuer answered an error (the user cancelled, an unknown client or redirect URI), the code exchange failed, the ID token did not verify (signature, audience `clientId`, expiry, `nonce`), or the access token is not one Check accepts (the issuer's `audiences`) for the same subject; or `rolegate login` met the same.",
    fix: "The `access_refused` audit record (or the CLI's message) says which step and what was found; register the redirect URI with the issuer, and make the issuer's access tokens carry an audience listed under the issuer's `audiences`.",
  },
  ERR_SIGNIN_SESSION: {
    cause:
      'The approvals page session cookie names no live session: forged, ended at sign-out, expired (`access.signIn.sessionSeconds`, or its token expired), or ended because its token no longer verified.',
    fix: 'Sign in again at `/signin`.',
  },
  ERR_INTERNAL: {
    cause: 'An unexpected error; a check denies (403, fail closed), the access API answers 500.',
    fix: 'This is a bug: report it with the ops log line (it has the decision id) and the command or request that caused it.',
  },
};
