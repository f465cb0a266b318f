/**
 * One audit record per decision. The record names who, what, which role
 * and why; it is built only from what the pipeline derived (principal,
 * route, roles, policy statements), never from header values, so it cannot
 * hold a token, a cookie or a credential.
 */
import type { Logger } from 'pino';
import type { CheckOutcome } from '../decision/outcome.js';
import {
  explanationEntries,
  type IdentityExplanation,
  type RoleExplanation,
  type TrustStatementResult,
} from '../decision/explanation.js';
import { formatDetermining } from './determining.js';
import { cloudTrailRecord } from './cloudtrail.js';
import { auditLine, createIsoClock } from './audit-line.js';
import { auditLineWriter } from './logger.js';
import type { AuthzRequest } from '../request/types.js';

/**
 * The audit record's fields, as documented in docs/observability.md. Pino
 * adds `time` (ISO 8601), `level`, `service` and `msg: "decision"` around
 * the record, which sits under the `audit` key of each JSON line.
 */
export interface AuditRecord {
  /** rolegate's id for this decision (also sent upstream as `x-rolegate-decision-id`). */
  readonly decision_id: string;
  /** The `x-request-id` header (printable ASCII, at most 128 characters), else Envoy's stream id, or empty. */
  readonly request_id: string;
  /** Hash of the configuration that decided (`rolegate_config_info{hash}`); absent only when the caller has none. */
  readonly config_hash?: string;
  /** The request's method, canonical (upper case); absent when the request was refused as unreadable. */
  readonly method?: string;
  /** The request's canonical path (decoded, dot segments resolved); absent when refused as unreadable. */
  readonly path?: string;
  /** Verified token issuer, when a token was verified. */
  readonly issuer?: string;
  /** Verified token subject, when a token was verified. */
  readonly subject?: string;
  /** Names of the roles whose permissions were evaluated, in order. */
  readonly roles_considered: readonly string[];
  /** ARN of the role that allowed the request (allows only). */
  readonly role?: string;
  /** The just-in-time grant the role was assumed under (allows under a grant only). */
  readonly grant_id?: string;
  /** IAM action of the request, when a route matched. */
  readonly action?: string;
  /** IAM resource of the request, when a route matched. */
  readonly resource?: string;
  readonly decision: 'allow' | 'deny';
  /** `OK` for an allow, else the catalogue code of the deny. */
  readonly reason: string;
  /** The statements that decided, as `layer:policy/statement:Effect` (or `layer:ImplicitDeny`). */
  readonly determining: readonly string[];
  /** Time from receipt of the Check call to its response, in whole microseconds. */
  readonly latency_us: number;
  /** The downstream client's IP address, when Envoy sent one. */
  readonly source_address?: string;
  /** Where the action and resource came from: `route[<i>]`, `context_extensions` or `default`. */
  readonly route?: string;
  /** With `ERR_HEADER_VALUE_INVALID`: the upstream header whose value could not be carried (never the value). */
  readonly invalid_header?: string;
  /**
   * Why a deny denied. An identity refusal: one entry `{identity: ...}`, the
   * token's `iss`, `aud`, `kid`, `alg` or time claim against what the issuer
   * configures (never the token or another claim value). A deny that reached
   * role selection: why each considered role did not allow (ids and key
   * names only).
   */
  readonly explanation?: readonly AuditExplanationEntry[];
}

/** The identity entry of a deny's explanation: the explanation as the pipeline made it. */
export interface AuditIdentityEntry {
  readonly identity: IdentityExplanation;
}

/** One entry of the record's explanation: the identity refusal, or one role. */
export type AuditExplanationEntry = AuditIdentityEntry | AuditRoleExplanation;

/** One trust statement whose action matched, in the audit record (ids and key names, never values). */
export interface AuditTrustStatement {
  /** `policy/statement` (statement is the Sid or `#index`). */
  readonly statement: string;
  readonly effect: 'Allow' | 'Deny';
  readonly matched: boolean;
  /** When not matched: `Principal`, `Resource` or `Condition`. */
  readonly element?: string;
  /** When a condition failed: its operator as written. */
  readonly operator?: string;
  /** When a condition failed: its context key as written (a name, never a value). */
  readonly key?: string;
}

/** One role of a deny's explanation, as the audit record keeps it. */
export interface AuditRoleExplanation {
  /** The role's name. */
  readonly role: string;
  /** `admitted` when its trust policy admitted the caller, else `denied`. */
  readonly trust: 'admitted' | 'denied';
  /** The trust statements whose action matched, and for each that did not apply, what failed. */
  readonly trust_statements: readonly AuditTrustStatement[];
  /** Permission statements that applied, as `layer:policy/statement:Effect` (admitted roles only). */
  readonly matched?: readonly string[];
  /** Context keys a condition (trust or permissions) needed that the request did not have. */
  readonly missing_context_keys: readonly string[];
}

export { formatDetermining } from './determining.js';

function trustStatement(r: TrustStatementResult): AuditTrustStatement {
  return {
    statement: `${r.policy}/${r.statement}`,
    effect: r.effect,
    matched: r.matched,
    ...(r.failed === undefined ? {} : { element: r.failed.element }),
    ...(r.failed?.operator === undefined ? {} : { operator: r.failed.operator }),
    ...(r.failed?.key === undefined ? {} : { key: r.failed.key }),
  };
}

/** One role's explanation for the audit record: statement ids and key names only. */
export function auditExplanation(e: RoleExplanation): AuditRoleExplanation {
  const missing = [...e.trust.missingContextValues];
  for (const k of e.permissions?.missingContextValues ?? [])
    if (!missing.includes(k)) missing.push(k);
  return {
    role: e.role,
    trust: e.trust.admitted ? 'admitted' : 'denied',
    trust_statements: e.trust.statements.map(trustStatement),
    ...(e.permissions === undefined
      ? {}
      : {
          matched: e.permissions.statements
            .filter((r) => r.matched)
            .map((r) =>
              formatDetermining({
                layer: r.layer,
                effect: r.effect,
                policy: r.policy,
                statement: r.statement,
              }),
            ),
        }),
    missing_context_keys: missing,
  };
}

/** A string as a JSON string literal (V8's own escaping, as pino's JSON.stringify). */
const q = JSON.stringify as (s: string) => string;

/** A number as JSON writes it (non-finite numbers become `null`). */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/**
 * A determining statement as its JSON string. Statements are frozen objects
 * of the compiled configuration, the same on every call they decide: each is
 * formatted and quoted once.
 */
const quotedStatements = new WeakMap<object, string>();
function quotedDetermining(d: CheckOutcome['determining'][number]): string {
  let quoted = quotedStatements.get(d);
  if (quoted === undefined) {
    quoted = q(formatDetermining(d));
    if (Object.isFrozen(d)) quotedStatements.set(d, quoted);
  }
  return quoted;
}

function strings(values: readonly string[]): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) out += (i === 0 ? '' : ',') + q(values[i] as string);
  return `${out}]`;
}

/**
 * The `audit` object of one decision as JSON, written field by field: the
 * same text as `JSON.stringify(auditRecord(...))` (fields, order, absent
 * fields left out), without building the record.
 */
export function auditRecordJson(
  request: AuthzRequest,
  outcome: CheckOutcome,
  latencyUs: number,
  configHash?: string,
): string {
  let s = `{"decision_id":${q(outcome.decisionId)},"request_id":${q(request.requestId)}`;
  if (configHash !== undefined) s += `,"config_hash":${q(configHash)}`;
  if (request.method !== '') s += `,"method":${q(request.method)}`;
  if (request.path !== '') s += `,"path":${q(request.path)}`;
  const principal = outcome.principal;
  if (principal) s += `,"issuer":${q(principal.issuer)},"subject":${q(principal.subject)}`;
  s += `,"roles_considered":${strings(outcome.rolesConsidered)}`;
  if (outcome.role) s += `,"role":${q(outcome.role.arn)}`;
  if (outcome.grant) s += `,"grant_id":${q(outcome.grant.id)}`;
  const route = outcome.route;
  if (route) s += `,"action":${q(route.action)},"resource":${q(route.resource)}`;
  s += outcome.allowed ? ',"decision":"allow"' : ',"decision":"deny"';
  s += `,"reason":${q(outcome.reason)},"determining":[`;
  const determining = outcome.determining;
  for (let i = 0; i < determining.length; i++) {
    s += (i === 0 ? '' : ',') + quotedDetermining(determining[i] as (typeof determining)[0]);
  }
  s += `],"latency_us":${num(Math.round(latencyUs))}`;
  if (request.sourceAddress) s += `,"source_address":${q(request.sourceAddress)}`;
  if (route) s += `,"route":${q(route.source)}`;
  if (outcome.invalidHeader !== undefined) s += `,"invalid_header":${q(outcome.invalidHeader)}`;
  // Denies only, and nested: the generic path is fine here.
  if (outcome.explanation !== undefined) {
    s += `,"explanation":${JSON.stringify(explanationEntries(outcome.explanation, auditExplanation))}`;
  }
  return `${s}}`;
}

/** Builds the record for one decision; `configHash` is the active configuration's hash. */
export function auditRecord(
  request: AuthzRequest,
  outcome: CheckOutcome,
  latencyUs: number,
  configHash?: string,
): AuditRecord {
  return {
    decision_id: outcome.decisionId,
    request_id: request.requestId,
    ...(configHash === undefined ? {} : { config_hash: configHash }),
    ...(request.method === '' ? {} : { method: request.method }),
    ...(request.path === '' ? {} : { path: request.path }),
    ...(outcome.principal
      ? { issuer: outcome.principal.issuer, subject: outcome.principal.subject }
      : {}),
    roles_considered: outcome.rolesConsidered,
    ...(outcome.role ? { role: outcome.role.arn } : {}),
    ...(outcome.grant ? { grant_id: outcome.grant.id } : {}),
    ...(outcome.route ? { action: outcome.route.action, resource: outcome.route.resource } : {}),
    decision: outcome.allowed ? 'allow' : 'deny',
    reason: outcome.reason,
    determining: outcome.determining.map(formatDetermining),
    latency_us: Math.round(latencyUs),
    ...(request.sourceAddress ? { source_address: request.sourceAddress } : {}),
    ...(outcome.route ? { route: outcome.route.source } : {}),
    ...(outcome.invalidHeader === undefined ? {} : { invalid_header: outcome.invalidHeader }),
    ...(outcome.explanation === undefined
      ? {}
      : { explanation: explanationEntries(outcome.explanation, auditExplanation) }),
  };
}

/** One side of a shadow disagreement, as the record keeps it. */
export interface ShadowSide {
  /** `allow`, `deny`, or `error` (the candidate only: evaluating it threw). */
  readonly decision: 'allow' | 'deny' | 'error';
  /** `OK`, or the catalogue code of the deny or error. */
  readonly reason: string;
  /** Name of the role that allowed (allows only). */
  readonly role?: string;
  /** IAM action and resource this side mapped the request to, when a route matched. */
  readonly action?: string;
  readonly resource?: string;
  /** `route[<i>]`, `context_extensions` or `default`. */
  readonly route?: string;
  /** Determining statements, as in the decision record. */
  readonly determining: readonly string[];
  /** The role name of each determining statement, same order. */
  readonly determining_roles: readonly string[];
}

/**
 * A shadow disagreement: the live decision and what the candidate
 * configuration would have decided, written as its own JSON line
 * (`msg: "shadow disagreement"`, under the `shadow` key).
 */
export interface ShadowRecord {
  /** The live decision's id (the same as its decision record's). */
  readonly decision_id: string;
  readonly request_id: string;
  /** Hash of the live configuration. */
  readonly config_hash?: string;
  /** Hash of the candidate configuration. */
  readonly candidate_config_hash?: string;
  readonly method?: string;
  readonly path?: string;
  readonly issuer?: string;
  readonly subject?: string;
  readonly live: ShadowSide;
  readonly candidate: ShadowSide;
}

/** What the candidate configuration answered: an outcome, or the code of the error evaluating it. */
export type ShadowAnswer = { readonly outcome: CheckOutcome } | { readonly error: string };

function sideOf(outcome: CheckOutcome): ShadowSide {
  return {
    decision: outcome.allowed ? 'allow' : 'deny',
    reason: outcome.reason,
    ...(outcome.role ? { role: outcome.role.name } : {}),
    ...(outcome.route
      ? {
          action: outcome.route.action,
          resource: outcome.route.resource,
          route: outcome.route.source,
        }
      : {}),
    determining: outcome.determining.map(formatDetermining),
    determining_roles: outcome.determiningRoles ?? [],
  };
}

/** Builds the record of one shadow disagreement. */
export function shadowRecord(
  request: AuthzRequest,
  live: CheckOutcome,
  candidate: ShadowAnswer,
  hashes: { readonly live?: string; readonly candidate?: string } = {},
): ShadowRecord {
  return {
    decision_id: live.decisionId,
    request_id: request.requestId,
    ...(hashes.live === undefined ? {} : { config_hash: hashes.live }),
    ...(hashes.candidate === undefined ? {} : { candidate_config_hash: hashes.candidate }),
    ...(request.method === '' ? {} : { method: request.method }),
    ...(request.path === '' ? {} : { path: request.path }),
    ...(live.principal ? { issuer: live.principal.issuer, subject: live.principal.subject } : {}),
    live: sideOf(live),
    candidate:
      'outcome' in candidate
        ? sideOf(candidate.outcome)
        : {
            decision: 'error',
            reason: candidate.error,
            determining: [],
            determining_roles: [],
          },
  };
}

export interface Auditor {
  /**
   * Writes the record for a decision, unless it is an allow left out by
   * sampling. `configHash` is the hash of the generation that decided; when
   * absent, the auditor's `configHash()` (the active one) is written.
   */
  record(
    request: AuthzRequest,
    outcome: CheckOutcome,
    latencyUs: number,
    configHash?: string,
  ): void;
  /** Writes a shadow disagreement (never sampled); `candidateHash` is the candidate's config hash. */
  shadow(
    request: AuthzRequest,
    live: CheckOutcome,
    candidate: ShadowAnswer,
    candidateHash?: string,
  ): void;
}

/**
 * Writes records to `logger`. Denies are always written; allows with
 * probability `allowSampleRate()` (read per decision so a reload applies;
 * 1 = all, 0 = none), drawing from `random` (default `Math.random`). A
 * sampled-out allow costs one call to `random` and builds no record.
 * `configHash()` (read per record; default: none) fills `config_hash`.
 * `format()` (read per record, so a reload applies; default `rolegate`)
 * chooses the record: `rolegate` writes {@link AuditRecord} under the
 * `audit` key; `cloudtrail` writes a CloudTrail-shaped event
 * (`cloudtrail.ts`) at the top level of the line, stamped by `now()`
 * (default `Date.now`).
 */
export function createAuditor(
  logger: Logger,
  allowSampleRate: () => number,
  random: () => number = Math.random,
  configHash: () => string | undefined = () => undefined,
  format: () => 'rolegate' | 'cloudtrail' = () => 'rolegate',
  now: () => number = Date.now,
): Auditor {
  // rolegate's own audit logger: the hand-written line, same bytes, to the same destination.
  const writeLine = auditLineWriter(logger);
  const iso = createIsoClock();
  return {
    record(request, outcome, latencyUs, decidingHash) {
      if (outcome.allowed) {
        const rate = allowSampleRate();
        if (rate <= 0 || (rate < 1 && random() >= rate)) return;
      }
      // A reload may land while a check awaits (keys, STS): the record names
      // the generation that decided, not the one active when it is written.
      const hash = decidingHash ?? configHash();
      if (format() === 'cloudtrail') {
        logger.info(cloudTrailRecord(request, outcome, latencyUs, now(), hash), 'decision');
        return;
      }
      if (writeLine !== undefined) {
        writeLine(auditLine(auditRecordJson(request, outcome, latencyUs, hash), iso(Date.now())));
        return;
      }
      logger.info({ audit: auditRecord(request, outcome, latencyUs, hash) }, 'decision');
    },
    shadow(request, live, candidate, candidateHash) {
      const hash = configHash();
      const record = shadowRecord(request, live, candidate, {
        ...(hash === undefined ? {} : { live: hash }),
        ...(candidateHash === undefined ? {} : { candidate: candidateHash }),
      });
      logger.info({ shadow: record }, 'shadow disagreement');
    },
  };
}
