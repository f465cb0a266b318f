import { describe, expect, it } from '@jest/globals';
import { statusForReason } from '../../src/decision/outcome.js';
import {
  apiStatusOf,
  ERROR_CATALOGUE,
  HTTP_STATUS,
  httpStatusOf,
  type ErrorCode,
} from '../../src/errors.js';

/** Every catalogue code with its HTTP status as a deny reason (null: no decision carries it). */
const EXPECTED: Readonly<Record<ErrorCode, 400 | 401 | 403 | null>> = {
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
  ERR_INPUT_SYNTAX: null,
  ERR_INPUT_SHAPE: null,
  ERR_INPUT_POLICY: null,
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
  ERR_STS_FAILED: 403,
  ERR_CHECK_ABANDONED: 403,
  ERR_ACCESS_INVALID: null,
  ERR_ACCESS_FORBIDDEN: null,
  ERR_ACCESS_SELF_APPROVAL: null,
  ERR_ACCESS_NOT_FOUND: null,
  ERR_ACCESS_STATE: null,
  ERR_ACCESS_STORE: null,
  ERR_ACCESS_CONTENT_TYPE: null,
  ERR_ACCESS_UNKNOWN_FIELD: null,
  ERR_ACCESS_BODY_UNEXPECTED: null,
  ERR_ACCESS_CROSS_SITE: null,
  ERR_ACCESS_AMBIENT_CREDENTIAL: null,
  ERR_ACCESS_CSRF: null,
  ERR_ACCESS_UNREACHABLE: null,
  ERR_INTERNAL: 403,
};

describe('HTTP status of each catalogue code', () => {
  it('lists exactly the catalogue codes', () => {
    expect(Object.keys(HTTP_STATUS).sort()).toEqual(Object.keys(ERROR_CATALOGUE).sort());
    expect(Object.keys(EXPECTED).sort()).toEqual(Object.keys(ERROR_CATALOGUE).sort());
  });

  it.each(Object.entries(EXPECTED) as [ErrorCode, 400 | 401 | 403 | null][])(
    '%s -> %s',
    (code, status) => {
      expect(httpStatusOf(code)).toBe(status);
      // A deny answers the catalogue status; a code without one fails closed as 403.
      expect(statusForReason(code)).toBe(status ?? 403);
    },
  );
});

/**
 * The access API's status of the codes it answers with a status of its own
 * (docs/access.md); a deny reason it meets (sign-in, STS) answers its deny
 * status, and any other code is an unexpected failure: 500.
 */
const API_EXPECTED: Readonly<Partial<Record<ErrorCode, number>>> = {
  ERR_ACCESS_INVALID: 400,
  ERR_ACCESS_UNKNOWN_FIELD: 400,
  ERR_ACCESS_BODY_UNEXPECTED: 400,
  ERR_INPUT_SYNTAX: 400,
  ERR_INPUT_SHAPE: 400,
  ERR_ACCESS_FORBIDDEN: 403,
  ERR_ACCESS_SELF_APPROVAL: 403,
  ERR_ACCESS_CROSS_SITE: 403,
  ERR_ACCESS_AMBIENT_CREDENTIAL: 403,
  ERR_ACCESS_CSRF: 403,
  ERR_ACCESS_NOT_FOUND: 404,
  ERR_ACCESS_STATE: 409,
  ERR_ACCESS_CONTENT_TYPE: 415,
  ERR_ACCESS_STORE: 503,
  ERR_INTERNAL: 500,
};

describe('access API status of each catalogue code', () => {
  it.each(Object.keys(ERROR_CATALOGUE) as ErrorCode[])('%s', (code) => {
    expect(apiStatusOf(code)).toBe(API_EXPECTED[code] ?? EXPECTED[code] ?? 500);
  });

  it.each([
    ['ERR_TOKEN_EXPIRED', 401],
    ['ERR_CREDENTIAL_MISSING', 401],
    ['ERR_JWKS_UNAVAILABLE', 401],
    ['ERR_STS_FAILED', 403],
    ['ERR_NO_ROLE', 403],
    ['ERR_ROLE_NOT_ASSUMABLE', 403],
    ['ERR_CONFIG_INVALID', 500],
  ] as const)('%s -> %i', (code, status) => {
    expect(apiStatusOf(code)).toBe(status);
  });
});
