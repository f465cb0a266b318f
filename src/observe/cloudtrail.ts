/**
 * The CloudTrail-shaped audit record (`audit.format: cloudtrail`): one
 * decision as a CloudTrail event, so Athena or CloudTrail Lake queries
 * written for CloudTrail work on rolegate's audit, plus what auditors miss
 * there (method, path, host, user agent, config hash, trace id, the role of
 * each determining statement) under `additionalEventData`. Documented field
 * by field in docs/observability.md#cloudtrail-shaped-audit-records.
 *
 * Like the default record it is built from what the pipeline derived; the
 * only request header values it carries are the user agent and the trace
 * id, each validated for where it goes (printable ASCII, bounded; a W3C
 * trace id), never a credential.
 */
import type { CheckOutcome } from '../decision/outcome.js';
import type { AuthzRequest } from '../request/types.js';
import { formatDetermining } from './determining.js';

/** The `userIdentity` element. */
export interface CloudTrailIdentity {
  /** `AssumedRole` when a role allowed; `WebIdentityUser` for a verified token otherwise; `Unknown` before identity. */
  readonly type: 'AssumedRole' | 'WebIdentityUser' | 'Unknown';
  /** `<role name>:<subject>` for an assumed role, else the subject. */
  readonly principalId?: string;
  /** `<role ARN>/<subject>` for an assumed role (the role session), else absent. */
  readonly arn?: string;
  readonly sessionContext?: {
    readonly sessionIssuer?: {
      readonly type: 'Role';
      readonly arn: string;
      readonly userName: string;
    };
    readonly webIdFederationData?: {
      readonly federatedProvider: string;
      readonly attributes: Readonly<Record<string, string>>;
    };
    readonly attributes?: { readonly creationDate?: string; readonly mfaAuthenticated: string };
  };
}

/** One decision as a CloudTrail event record. */
export interface CloudTrailRecord {
  readonly eventVersion: '1.08';
  readonly eventTime: string;
  /** `<service>.rolegate` from the action's service prefix (`orders.rolegate`), else `rolegate`. */
  readonly eventSource: string;
  /** The action's name (`GetOrder`), else `Check`. */
  readonly eventName: string;
  readonly eventType: 'AwsApiCall';
  readonly awsRegion: 'rolegate';
  readonly sourceIPAddress?: string;
  readonly userAgent?: string;
  readonly userIdentity: CloudTrailIdentity;
  readonly requestID: string;
  readonly eventID: string;
  readonly readOnly: boolean;
  readonly resources: readonly { readonly ARN: string; readonly type: string }[];
  readonly errorCode?: 'AccessDenied';
  readonly errorMessage?: string;
  readonly additionalEventData: {
    readonly decision: 'allow' | 'deny';
    readonly reason: string;
    readonly method?: string;
    readonly path?: string;
    readonly host?: string;
    readonly userAgent?: string;
    readonly configHash?: string;
    readonly traceId?: string;
    readonly action?: string;
    readonly route?: string;
    readonly rolesConsidered: readonly string[];
    readonly determining: readonly { readonly statement: string; readonly role?: string }[];
    readonly latencyUs: number;
  };
}

const READ_ONLY = /^[^:]+:(Get|List|Describe|Head|Read|Query|Search|View|BatchGet)/i;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;
/** Longest user agent kept (CloudTrail keeps up to 1 KiB; this is enough to identify a client). */
const MAX_USER_AGENT = 256;

/** The user agent when it is printable ASCII, cut to {@link MAX_USER_AGENT}; else absent. */
function userAgentOf(request: AuthzRequest): string | undefined {
  const ua = request.headers['user-agent'];
  if (ua === undefined || ua === '' || !/^[\x20-\x7e]+$/.test(ua)) return undefined;
  return ua.slice(0, MAX_USER_AGENT);
}

/** The W3C trace id of the request's `traceparent`, when valid and not all zeros. */
function traceIdOf(request: AuthzRequest): string | undefined {
  const id = TRACEPARENT.exec(request.headers['traceparent'] ?? '')?.[1];
  return id === undefined || /^0+$/.test(id) ? undefined : id;
}

function identityOf(outcome: CheckOutcome): CloudTrailIdentity {
  const p = outcome.principal;
  if (p === undefined) return { type: 'Unknown' };
  const web =
    p.kind === 'jwt'
      ? {
          webIdFederationData: {
            federatedProvider: p.issuer,
            attributes: {
              sub: p.subject,
              ...(typeof p.claims['aud'] === 'string' ? { aud: p.claims['aud'] } : {}),
            },
          },
        }
      : {};
  const iat = p.claims['iat'];
  const attributes = {
    ...(typeof iat === 'number' ? { creationDate: new Date(iat * 1000).toISOString() } : {}),
    mfaAuthenticated: String(Array.isArray(p.claims['amr']) && p.claims['amr'].includes('mfa')),
  };
  if (outcome.role === undefined) {
    return {
      type: 'WebIdentityUser',
      principalId: p.subject,
      sessionContext: { ...web, attributes },
    };
  }
  return {
    type: 'AssumedRole',
    principalId: `${outcome.role.name}:${p.subject}`,
    arn: `${outcome.role.arn}/${p.subject}`,
    sessionContext: {
      sessionIssuer: { type: 'Role', arn: outcome.role.arn, userName: outcome.role.name },
      ...web,
      attributes,
    },
  };
}

/** Builds the CloudTrail-shaped record of one decision at `nowMs`. */
export function cloudTrailRecord(
  request: AuthzRequest,
  outcome: CheckOutcome,
  latencyUs: number,
  nowMs: number,
  configHash?: string,
): CloudTrailRecord {
  const action = outcome.route?.action;
  const colon = action === undefined ? -1 : action.indexOf(':');
  const service = action !== undefined && colon > 0 ? action.slice(0, colon) : undefined;
  const ua = userAgentOf(request);
  const traceId = traceIdOf(request);
  const roles = outcome.determiningRoles ?? [];
  return {
    eventVersion: '1.08',
    eventTime: new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: service === undefined ? 'rolegate' : `${service}.rolegate`,
    eventName: action !== undefined && colon > 0 ? action.slice(colon + 1) : 'Check',
    eventType: 'AwsApiCall',
    awsRegion: 'rolegate',
    ...(request.sourceAddress ? { sourceIPAddress: request.sourceAddress } : {}),
    ...(ua === undefined ? {} : { userAgent: ua }),
    userIdentity: identityOf(outcome),
    requestID: request.requestId === '' ? outcome.decisionId : request.requestId,
    eventID: outcome.decisionId,
    readOnly: action !== undefined && READ_ONLY.test(action),
    resources:
      outcome.route === undefined
        ? []
        : [{ ARN: outcome.route.resource, type: `rolegate::${service ?? 'http'}` }],
    ...(outcome.allowed ? {} : { errorCode: 'AccessDenied', errorMessage: outcome.reason }),
    additionalEventData: {
      decision: outcome.allowed ? 'allow' : 'deny',
      reason: outcome.reason,
      ...(request.method === '' ? {} : { method: request.method }),
      ...(request.path === '' ? {} : { path: request.path }),
      ...(request.host === '' ? {} : { host: request.host }),
      ...(ua === undefined ? {} : { userAgent: ua }),
      ...(configHash === undefined ? {} : { configHash }),
      ...(traceId === undefined ? {} : { traceId }),
      ...(action === undefined ? {} : { action }),
      ...(outcome.route === undefined ? {} : { route: outcome.route.source }),
      rolesConsidered: outcome.rolesConsidered,
      determining: outcome.determining.map((d, i) => ({
        statement: formatDetermining(d),
        ...(roles[i] === undefined ? {} : { role: roles[i] }),
      })),
      latencyUs: Math.round(latencyUs),
    },
  };
}
