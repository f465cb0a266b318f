/**
 * The outcome of one decision: what the response, the audit record, the
 * metrics, the trace and the AWS credentials phase read. A leaf of the
 * pipeline: it holds types and tiny pure helpers, and imports nothing of
 * ours at run time but the error catalogue (the other imports are types).
 */
import { httpStatusOf, type ErrorCode } from '../errors.js';
import type { Determining } from '../policy/types.js';
import type { DecidedRole, Principal, RouteMatch } from './parties.js';
import type { Explanation } from './explanation.js';

/** The HTTP status of a decision: 200 for an allow, else the deny's. */
export type CheckStatus = 200 | 400 | 401 | 403;

/** Everything known about one decision: what the response and the audit record need. */
export interface CheckOutcome {
  readonly decisionId: string;
  readonly allowed: boolean;
  readonly status: CheckStatus;
  /** `OK` for an allow, else the catalogue code of the deny. */
  readonly reason: 'OK' | ErrorCode;
  readonly principal?: Principal;
  readonly route?: RouteMatch;
  /** Names of the roles whose permissions were evaluated (trust admitted). */
  readonly rolesConsidered: readonly string[];
  /** The role that allowed; absent for every deny (an STS failure included). */
  readonly role?: DecidedRole;
  /** For an allow under a just-in-time grant: its id and end (epoch ms). */
  readonly grant?: { readonly id: string; readonly expiresAt: number };
  readonly determining: readonly Determining[];
  /** The role name of each entry of `determining`, in the same order; absent before role evaluation. */
  readonly determiningRoles?: readonly string[];
  /** For an allow: the identity headers the upstream receives (validated). */
  readonly upstreamHeaders?: ReadonlyMap<string, string>;
  /**
   * For an allow on a credentials route: the upstream AWS credential headers
   * (secret: the response carries them; nothing logs or records them).
   */
  readonly credentialHeaders?: Readonly<Record<string, string>>;
  /** For `ERR_HEADER_VALUE_INVALID`: the header whose value could not be carried (name only). */
  readonly invalidHeader?: string;
  /**
   * Why a deny denied, per role (trust, matched statements, missing context
   * keys): statement ids and key names only, never a value. Present on
   * denies that reached role selection.
   */
  readonly explanation?: Explanation;
}

/**
 * HTTP status for a deny reason, read from the catalogue
 * ({@link httpStatusOf}). A code that has no HTTP status (load-time and
 * CLI codes, which no decision should carry) is answered 403: fail closed.
 */
export function statusForReason(reason: ErrorCode): 400 | 401 | 403 {
  return httpStatusOf(reason) ?? 403;
}

/**
 * The outcome to count and audit for a check whose caller stopped waiting
 * before the answer was sent (Envoy's ext_authz timeout, a reset stream):
 * the decision never reached the proxy, and a proxy that fails closed (as
 * rolegate's shipped configs do) denied the request, so the record says
 * deny `ERR_CHECK_ABANDONED` rather than what was decided too late. The
 * caller and route stay for the record; no role allowed anything, and no
 * statement is named as determining.
 */
export function abandonedOutcome(outcome: CheckOutcome): CheckOutcome {
  const {
    role: _role,
    grant: _grant,
    upstreamHeaders: _headers,
    credentialHeaders: _credentials,
    determiningRoles: _determiningRoles,
    ...rest
  } = outcome;
  // No statement determined the proxy's deny: the late decision's statements
  // would read as an allow under a deny (and count as statement matches).
  return { ...rest, allowed: false, status: 403, reason: 'ERR_CHECK_ABANDONED', determining: [] };
}
