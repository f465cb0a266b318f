/**
 * `rolegate explain --config`: replays a recorded decision against a
 * configuration and says whether it decides the same. The replay takes
 * what the audit record keeps (method, canonical path, host when known,
 * source address, the caller's issuer and subject, the recorded time) and
 * decides it with the same code as `rolegate simulate --config`
 * ({@link decideClaims}); today's answer is shaped by the audit record's
 * own builder ({@link auditRecord}), so the two compare field by field.
 *
 * The record never keeps claim values other than `iss` and `sub`, header
 * values, the query string or whether the connection used TLS
 * (docs/observability.md): the replay says so, and when today's answer
 * differs while the configuration reads such a key, it says it cannot tell
 * rather than report a difference that may only be the missing data.
 */
import { authorize, toOutcome, type Progress } from '../check/check.js';
import type { LoadedConfig } from '../config/compile.js';
import { errorCodeOf, httpStatusOf, isErrorCode, type ErrorCode } from '../errors.js';
import { peerPrincipal } from '../identity/mtls.js';
import { issuerKeyPrefix } from '../identity/principal.js';
import { auditRecord } from '../observe/audit.js';
import { isRecord } from '../options/fields.js';
import { contextKeysRead } from '../policy/index.js';
import { canonicalRequest } from '../request/normalize.js';
import type { AuditEntry } from './audit-files.js';
import { str, strings } from './audit-files.js';
import { decideClaims, type SimulateRequest } from './simulate-config.js';

/** Whether today's configuration decides as recorded. */
export type Verdict = 'same' | 'differs' | 'unknown' | 'not-replayable';

/** What was replayed: the recorded request as far as the record keeps it. */
export interface ReplayedRequest {
  readonly method: string;
  readonly path: string;
  readonly host: string;
  /** Where the host came from: the record, the default route's resource, or `localhost` (not recorded). */
  readonly hostFrom: 'record' | 'resource' | 'none';
  readonly sourceAddress?: string;
  readonly issuer: string;
  readonly subject: string;
  /** Names of the claims replayed (`iss`, `sub`, and those of `--claims`); never their values. */
  readonly claims: readonly string[];
  /** ISO time the request was decided at (the record's), used for time conditions. */
  readonly time: string;
}

/** A replay and its verdict. */
export interface Replay {
  /** The configuration's name as given (`--config`). */
  readonly config: string;
  readonly configHash?: string;
  readonly recordedConfigHash?: string;
  /** True when both hashes are known and equal: the configuration that decided. */
  readonly sameConfig: boolean;
  readonly request?: ReplayedRequest;
  /** What the replay could not carry, one phrase each. */
  readonly notReplayed: readonly string[];
  /** Context keys the configuration's policies read that the record does not keep. */
  readonly readsUnrecorded: readonly string[];
  /** Today's answer, shaped as an audit record (no decision id, request id or latency). */
  readonly today?: Record<string, unknown>;
  readonly verdict: Verdict;
  /** One sentence: why this verdict. */
  readonly why: string;
}

const DEFAULT_ROUTE_RESOURCE = 'arn:rolegate:http:::';

/** Each segment of a canonical (decoded) path encoded again, so the edge decodes it to the same path. */
export function encodePath(path: string): string {
  return path
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

function hostOf(
  record: Record<string, unknown>,
  path: string,
): Pick<ReplayedRequest, 'host' | 'hostFrom'> {
  const host = str(record, 'host');
  if (host !== undefined && host !== '') return { host, hostFrom: 'record' };
  // The default route's resource is `arn:rolegate:http:::<host><path>`: the host is recorded there.
  const resource = str(record, 'resource');
  if (str(record, 'route') === 'default' && resource?.startsWith(DEFAULT_ROUTE_RESOURCE) === true) {
    const rest = resource.slice(DEFAULT_ROUTE_RESOURCE.length);
    if (rest.endsWith(path) && rest.length > path.length) {
      return { host: rest.slice(0, rest.length - path.length), hostFrom: 'resource' };
    }
  }
  return { host: 'localhost', hostFrom: 'none' };
}

/** The one role a deny's explanation names when the caller asked for a role (`ERR_ROLE_NOT_ASSUMABLE`). */
function requestedRole(record: Record<string, unknown>): string | undefined {
  if (str(record, 'reason') !== 'ERR_ROLE_NOT_ASSUMABLE') return undefined;
  const entries = Array.isArray(record['explanation']) ? record['explanation'] : [];
  const roles = entries.filter((e): e is Record<string, unknown> => isRecord(e) && 'role' in e);
  const [only] = roles;
  return roles.length === 1 && only !== undefined ? str(only, 'role') : undefined;
}

/**
 * The context keys (lower case) the replay's decision could read: the trust
 * policy keys of every role (each is evaluated for the caller) and the
 * permission keys of the roles the replay evaluated (`considered`). A key
 * of another role's permissions cannot have changed this answer.
 */
export function keysRead(config: LoadedConfig, considered: readonly string[]): Set<string> {
  const keys = new Set<string>();
  for (const role of config.roles) {
    for (const k of contextKeysRead(role.trust)) keys.add(k);
    if (considered.includes(role.name))
      for (const k of contextKeysRead(role.permissions)) keys.add(k);
  }
  return keys;
}

/** What the replay carries, for telling which context keys it lacks. */
export interface ReplayedData {
  /** Claim names replayed, lower case (`iss`, `sub`, and those of `--claims`). */
  readonly claims: ReadonlySet<string>;
  /** The caller's issuer as configured: its `groupsClaim` and `tagClaims` name the claims behind keys. */
  readonly issuer: string;
  readonly groupsClaim?: string;
  readonly tagClaims: Readonly<Record<string, string>>;
  /** False when the host was not recorded (replayed as `localhost`). */
  readonly host: boolean;
}

/** The first segment of a claim path (`a.b` reads claim `a`), lower case. */
function claimRoot(path: string | undefined): string {
  return (path ?? '').split('.')[0]?.toLowerCase() ?? '';
}

/**
 * True when the context key `key` (lower case) is answered from data the
 * audit record never keeps and the replay was not given: claims other than
 * those replayed, header, query, TLS and Envoy context values, and the host
 * when it was not recorded.
 */
export function unrecordedKey(key: string, data: ReplayedData): boolean {
  const missing = (claim: string) => !data.claims.has(claimRoot(claim));
  if (key.startsWith('jwt:')) return missing(key.slice(4));
  if (key.startsWith('aws:principaltag/')) {
    const tag = Object.keys(data.tagClaims).find((t) => t.toLowerCase() === key.slice(17));
    return tag === undefined || missing(data.tagClaims[tag] ?? '');
  }
  if (key === 'rolegate:groups') return data.groupsClaim !== undefined && missing(data.groupsClaim);
  if (key === 'aws:multifactorauthpresent') return missing('amr');
  if (key === 'aws:tokenissuetime') return missing('iat');
  if (key === 'http:host') return !data.host;
  if (key === 'aws:securetransport') return true;
  if (
    ['http:header/', 'http:query/', 'envoy:context/', 'aws:resourcetag/'].some((p) =>
      key.startsWith(p),
    )
  ) {
    return true;
  }
  const prefix = `${issuerKeyPrefix(data.issuer).toLowerCase()}:`;
  const field = key.startsWith(prefix) ? key.slice(prefix.length) : undefined;
  return (field === 'aud' || field === 'amr') && missing(field);
}

const NOT_KEPT = [
  'request headers and the query string (the audit record keeps no header value)',
  'whether the connection used TLS (replayed as plain HTTP)',
];

/** What the replay of record `r` could not carry, one phrase each. */
function notReplayedOf(
  r: Record<string, unknown>,
  config: LoadedConfig,
  had: { readonly mtls: boolean; readonly claims: boolean; readonly host: boolean },
): string[] {
  return [
    ...(had.mtls
      ? []
      : [
          had.claims
            ? 'claims other than iss, sub and those given with --claims (the audit record never keeps claim values)'
            : 'claims other than iss and sub (the audit record never keeps claim values; give them with --claims JSON)',
        ]),
    ...(had.host ? [] : ['the host (not recorded; replayed as localhost)']),
    ...NOT_KEPT,
    ...(str(r, 'route') === 'context_extensions'
      ? ["Envoy's context_extensions other than action and resource"]
      : []),
    ...(str(r, 'grant_id') === undefined
      ? []
      : ['the just-in-time grant the role was assumed under (explain reads no access store)']),
    ...(config.settings.aws?.iam === undefined
      ? []
      : ['roles synced from AWS IAM (aws.iam): only the configuration files are read']),
  ];
}

function notReplayable(
  base: Omit<Replay, 'verdict' | 'why' | 'notReplayed' | 'readsUnrecorded'>,
  why: string,
): Replay {
  return { ...base, notReplayed: [], readsUnrecorded: [], verdict: 'not-replayable', why };
}

function decideMtls(
  input: SimulateRequest,
  subject: string,
  config: LoadedConfig,
  nowMs: number,
): ReturnType<typeof decideClaims> {
  const request = canonicalRequest({
    method: input.method,
    target: input.path,
    host: input.host,
    headers: { ...input.headers },
    ...(input.sourceIp === undefined ? {} : { sourceIp: input.sourceIp }),
    sourcePrincipal: subject,
    secure: false,
    contextExtensions: { ...(input.contextExtensions ?? {}) },
  });
  const p: Progress = { rolesConsidered: [], determining: [] };
  let reason: ErrorCode | 'OK';
  if (request.refused !== undefined) reason = request.refused;
  else {
    const principal = peerPrincipal(request, config.settings.mtls);
    if (principal === undefined) reason = 'ERR_CREDENTIAL_MISSING';
    else {
      p.principal = principal;
      try {
        reason = authorize(request, principal, config, nowMs, p);
      } catch (err) {
        reason = errorCodeOf(err);
      }
    }
  }
  return { request, outcome: toOutcome('replay', reason, p, config.settings.headers.claims) };
}

function summary(record: Record<string, unknown>): string {
  const decision = str(record, 'decision') ?? '?';
  const reason = str(record, 'reason') ?? '?';
  const role = str(record, 'role');
  return `${decision} ${reason}${role === undefined ? '' : ` (role ${role})`}`;
}

/**
 * Replays `entry`'s decision against `config` (named `configName`), with
 * `extraClaims` (from `--claims`) added to the recorded `iss` and `sub`;
 * `now` stands in for a record without a time.
 */
export function replayDecision(
  entry: AuditEntry,
  config: LoadedConfig,
  configName: string,
  extraClaims: Readonly<Record<string, unknown>> = {},
  now: () => number = Date.now,
): Replay {
  const r = entry.record;
  const configHash = config.sources?.hash;
  const recordedConfigHash = str(r, 'config_hash');
  const base = {
    config: configName,
    ...(configHash === undefined ? {} : { configHash }),
    ...(recordedConfigHash === undefined ? {} : { recordedConfigHash }),
    sameConfig: configHash !== undefined && configHash === recordedConfigHash,
  };
  const reason = str(r, 'reason') ?? '';
  const method = str(r, 'method');
  const path = str(r, 'path');
  if (method === undefined || path === undefined) {
    return notReplayable(
      base,
      `the request was refused before it could be read (${reason}), and the record leaves out what it could not read`,
    );
  }
  const issuer = str(r, 'issuer');
  const subject = str(r, 'subject');
  if (issuer === undefined || subject === undefined) {
    const status = isErrorCode(reason) ? httpStatusOf(reason) : null;
    return notReplayable(
      base,
      reason === 'ERR_CREDENTIAL_MISSING'
        ? `the request carried no credential rolegate accepts (${reason}): there is no caller to replay`
        : status === 401
          ? `the caller's credential was refused (${reason}) and the audit record never keeps a token, so identity cannot be replayed`
          : `no caller was verified (${reason}), and the audit record keeps no credential to replay`,
    );
  }
  const nowMs = Number.isFinite(entry.time) ? entry.time : now();
  const source = str(r, 'source_address');
  const route = str(r, 'route');
  const action = str(r, 'action');
  const resource = str(r, 'resource');
  const asked = requestedRole(r);
  const host = hostOf(r, path);
  const input: SimulateRequest = {
    method,
    path: encodePath(path),
    host: host.host,
    headers: asked === undefined ? {} : { [config.settings.headers.requestedRole]: asked },
    ...(source === undefined ? {} : { sourceIp: source }),
    // Envoy's per-route action and resource are in the record; its other extensions are not.
    ...(route === 'context_extensions' && action !== undefined
      ? { contextExtensions: { action, ...(resource === undefined ? {} : { resource }) } }
      : {}),
  };
  const mtls = issuer.startsWith('spiffe://') && subject.startsWith('spiffe://');
  const claims = mtls ? {} : { ...extraClaims, iss: issuer, sub: subject };
  const { request, outcome } = mtls
    ? decideMtls(input, subject, config, nowMs)
    : decideClaims(claims, input, config, nowMs);
  const full = auditRecord(request, outcome, 0, configHash) as unknown as Record<string, unknown>;
  const { decision_id: _id, request_id: _rid, latency_us: _lat, ...today } = full;
  const issuerConfig = config.issuers.find((i) => i.issuer === issuer);
  const data: ReplayedData = {
    claims: new Set(Object.keys(claims).map((c) => c.toLowerCase())),
    issuer,
    ...(issuerConfig?.groupsClaim === undefined ? {} : { groupsClaim: issuerConfig.groupsClaim }),
    tagClaims: issuerConfig?.tagClaims ?? {},
    host: host.hostFrom !== 'none',
  };
  // An mTLS peer has no claims: everything a condition can read of it is recorded.
  const readsUnrecorded = [...keysRead(config, strings(today, 'roles_considered'))]
    .filter((k) => unrecordedKey(k, data) && !(mtls && k.startsWith('jwt:')))
    .sort();
  const notReplayed = notReplayedOf(r, config, {
    mtls,
    claims: Object.keys(extraClaims).length > 0,
    host: host.hostFrom !== 'none',
  });
  const same =
    today['decision'] === r['decision'] &&
    today['reason'] === r['reason'] &&
    (r['decision'] !== 'allow' || today['role'] === r['role']);
  const verdict: Verdict = same ? 'same' : readsUnrecorded.length > 0 ? 'unknown' : 'differs';
  const why =
    verdict === 'same'
      ? `today's configuration decides ${summary(today)}, as recorded`
      : verdict === 'differs'
        ? `recorded ${summary(r)}, today ${summary(today)}`
        : `recorded ${summary(r)}, replayed ${summary(today)}, but the configuration reads ${readsUnrecorded.join(', ')}, which the replay does not have`;
  return {
    ...base,
    request: {
      method,
      path,
      ...host,
      ...(source === undefined ? {} : { sourceAddress: source }),
      issuer,
      subject,
      claims: Object.keys(claims),
      time: new Date(nowMs).toISOString(),
    },
    notReplayed,
    readsUnrecorded,
    today,
    verdict,
    why,
  };
}
