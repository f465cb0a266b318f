/**
 * The credentials step of a Check: an allow on a route that asks for
 * credentials gets temporary AWS credentials for the decided role, as
 * upstream headers. STS failing turns a required step into a deny and an
 * optional one into an allow without headers; the step itself never throws.
 */
import { decodeJwt } from 'jose';
import type { CheckOutcome } from '../decision/outcome.js';
import { errorCodeOf } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import type { CacheShare } from '../cache/share.js';
import type { CacheMetrics } from '../observe/metrics.js';
import { clientConfig } from './client-config.js';
import { stsSdk } from './sdk.js';
import {
  DEFAULT_CREDENTIAL_HEADERS,
  DEFAULT_STS_CACHE_MAX_BYTES,
  DEFAULT_STS_TIMEOUT_MS,
  type AwsConfig,
} from './config.js';
import { isIamRole } from './merge.js';
import {
  createStsBroker,
  stsCalls,
  type StsBroker,
  type UpstreamCredentials,
} from './sts-broker.js';

/** What an allow on a credentials route adds: the outcome (maybe now a deny) and headers. */
export interface CredentialsStep {
  readonly outcome: CheckOutcome;
  readonly headers: Readonly<Record<string, string>>;
}

/** What the credentials step needs; `caches` is optional (default: no cache metrics). */
export interface CredentialsStepOptions {
  readonly logger: Logger;
  /** Clock in epoch ms, for the credential cache (no default: the integration passes its own). */
  readonly now: () => number;
  /** Counts each STS call by API and result. */
  readonly onStsCall: (api: 'AssumeRole' | 'AssumeRoleWithWebIdentity', ok: boolean) => void;
  /** The credential cache's size and eviction metrics (`cache="sts_credentials"`). */
  readonly caches?: CacheMetrics;
  /** This process's part of `aws.sts` cache bounds with `server.workers`. Default: all. */
  readonly cacheShare?: CacheShare;
}

/** Adds upstream credentials to an allow whose route asks for them; `token` is the caller's raw token. */
export type CredentialsStepFn = (
  outcome: CheckOutcome,
  aws: AwsConfig | undefined,
  token: string | undefined,
) => Promise<CredentialsStep>;

/** The `aws.sts` defaults, for a config without an `aws` section. */
const DEFAULT_STS_SETTINGS = {
  durationSeconds: 3600,
  sessionTags: {},
  webIdentity: 'auto' as const,
  timeoutMs: DEFAULT_STS_TIMEOUT_MS,
  cacheEntries: 1000,
  cacheMaxBytes: DEFAULT_STS_CACHE_MAX_BYTES,
};

/** The token only when it is the one the principal was verified from (same iss and sub). */
function tokenOf(outcome: CheckOutcome, token: string | undefined): string | undefined {
  if (token === undefined || outcome.principal?.kind !== 'jwt') return undefined;
  try {
    const claims = decodeJwt(token);
    return claims.iss === outcome.principal.issuer && claims.sub === outcome.principal.subject
      ? token
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One broker per client and `aws.sts` settings: a reload that changes them
 * gets a new broker (and an empty cache); one that does not keeps the
 * cached credentials.
 */
function brokerCache(options: CredentialsStepOptions): (aws: AwsConfig | undefined) => StsBroker {
  let current: { key: string; broker: StsBroker } | undefined;
  return (aws) => {
    const key = JSON.stringify([clientConfig(aws), aws?.sts ?? null]);
    if (current?.key === key) return current.broker;
    const settings = aws?.sts ?? DEFAULT_STS_SETTINGS;
    current = {
      key,
      broker: createStsBroker({
        calls: stsCalls(
          () => stsSdk().then(({ STSClient }) => new STSClient(clientConfig(aws))),
          settings.timeoutMs,
        ),
        settings,
        now: options.now,
        onCall: options.onStsCall,
        ...(options.caches ? { cacheHooks: options.caches.hooks('sts_credentials') } : {}),
        ...(options.cacheShare ? { cacheShare: options.cacheShare } : {}),
      }),
    };
    options.caches?.track('sts_credentials', current.broker.cache);
    return current.broker;
  };
}

function headersOf(creds: UpstreamCredentials, aws: AwsConfig | undefined): Record<string, string> {
  const h = aws?.sts.headers ?? DEFAULT_CREDENTIAL_HEADERS;
  return {
    [h.accessKeyId]: creds.accessKeyId,
    [h.secretAccessKey]: creds.secretAccessKey,
    [h.sessionToken]: creds.sessionToken,
    [h.expiration]: new Date(creds.expiration).toISOString(),
  };
}

/** Nothing talks to STS until the first allow on a credentials route. */
export function createCredentialsStep(options: CredentialsStepOptions): CredentialsStepFn {
  const { logger } = options;
  const brokerFor = brokerCache(options);
  return async (outcome, aws, token) => {
    const mode = outcome.route?.credentials;
    if (!outcome.allowed || mode === undefined || !outcome.principal || !outcome.role) {
      return { outcome, headers: {} };
    }
    try {
      const role = outcome.role;
      const webToken = tokenOf(outcome, token);
      const creds = await brokerFor(aws).credentials({
        roleArn: role.arn,
        principal: outcome.principal,
        ...(webToken === undefined ? {} : { token: webToken }),
        ...(isIamRole(role) ? { webIdentityProviders: role.webIdentityProviders } : {}),
      });
      return { outcome, headers: headersOf(creds, aws) };
    } catch (err) {
      // A RolegateError is a failure the broker recognised as STS's; anything
      // else is a defect, and the deny reason must not blame STS for it.
      const code = errorCodeOf(err) === 'ERR_INTERNAL' ? 'ERR_INTERNAL' : 'ERR_STS_FAILED';
      logger.warn(
        {
          code,
          role: outcome.role.arn,
          decisionId: outcome.decisionId,
          detail: err instanceof Error ? err.message : 'error',
          optional: mode === 'optional',
        },
        mode === 'optional'
          ? 'upstream credentials unavailable; continuing without them (route marks them optional)'
          : 'upstream credentials unavailable; denying',
      );
      if (mode === 'optional') return { outcome, headers: {} };
      return {
        outcome: { ...outcome, allowed: false, status: 403, reason: code },
        headers: {},
      };
    }
  };
}
