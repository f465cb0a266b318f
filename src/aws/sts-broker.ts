/**
 * Temporary AWS credentials for upstreams. For the caller's chosen role:
 * `AssumeRoleWithWebIdentity` with the caller's own token when the role (as
 * read from IAM) trusts the token's issuer as an OIDC provider, otherwise
 * `AssumeRole` as rolegate itself with a session name and source identity
 * from the subject and session tags from claims.
 *
 * Credentials are cached per role and caller until five minutes before
 * they expire, with one STS call in flight per key however many requests
 * wait for it, in a bounded LRU.
 */
import { createHash } from 'node:crypto';
import type { Credentials, STSClient } from '@aws-sdk/client-sts';
import { ExpiringLru, type CacheHooks, type CacheStats } from '../cache/expiring-lru.js';
import { stsSdk } from './sdk.js';
import { shareOfBound, type CacheShare } from '../cache/share.js';
import { DEFAULT_STS_CACHE_MAX_BYTES } from './config.js';
import { RolegateError } from '../errors.js';
import { claimText } from '../identity/claims.js';
import { issuerKeyPrefix, type Principal } from '../identity/principal.js';
import type { AwsStsConfig } from './config.js';

/** One set of temporary credentials. Never log it. */
export interface UpstreamCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** Epoch ms. */
  readonly expiration: number;
}

/** What to assume, for whom. */
export interface CredentialsRequest {
  readonly roleArn: string;
  readonly principal: Principal;
  /** The caller's verified token, for web identity. */
  readonly token?: string;
  /** OIDC providers the role trusts in IAM; absent for roles not read from IAM. */
  readonly webIdentityProviders?: readonly string[];
}

/** The STS calls the broker makes; the real one is {@link stsCalls}. */
export interface StsCalls {
  assumeRole(input: {
    RoleArn: string;
    RoleSessionName: string;
    SourceIdentity: string;
    DurationSeconds: number;
    Tags: { Key: string; Value: string }[];
  }): Promise<Credentials | undefined>;
  assumeRoleWithWebIdentity(input: {
    RoleArn: string;
    RoleSessionName: string;
    WebIdentityToken: string;
    DurationSeconds: number;
  }): Promise<Credentials | undefined>;
}

/**
 * {@link StsCalls} over an SDK client, or a function that makes one at the
 * first call (so the SDK loads only when STS is used; see sdk.ts). Each
 * call, the SDK's retries included, is abandoned after `timeoutMs`
 * (default: none): the SDK sets no timeout of its own, so a hanging STS
 * endpoint would otherwise hold a Check until Envoy gave up on it.
 */
export function stsCalls(
  client: STSClient | (() => Promise<STSClient>),
  timeoutMs?: number,
): StsCalls {
  let made: Promise<STSClient> | undefined;
  const ready = () => (typeof client === 'function' ? (made ??= client()) : client);
  const options = () =>
    timeoutMs === undefined ? {} : { abortSignal: AbortSignal.timeout(timeoutMs) };
  return {
    async assumeRole(input) {
      const { AssumeRoleCommand } = await stsSdk();
      const c = await ready();
      const input_ = input.Tags.length === 0 ? { ...input, Tags: undefined } : input;
      return (await c.send(new AssumeRoleCommand(input_), options())).Credentials;
    },
    async assumeRoleWithWebIdentity(input) {
      const { AssumeRoleWithWebIdentityCommand } = await stsSdk();
      const c = await ready();
      return (await c.send(new AssumeRoleWithWebIdentityCommand(input), options())).Credentials;
    },
  };
}

/** Credentials are reused until this long before they expire. */
export const REFRESH_BEFORE_EXPIRY_MS = 5 * 60 * 1000;

const NAME_CHARS = /[^\w+=,.@-]/g;

/**
 * A `RoleSessionName` / `SourceIdentity` from a subject: characters outside
 * AWS's `[\w+=,.@-]` become `_`, 2 to 64 characters. A longer subject is cut
 * and suffixed with a hash of the whole, so distinct subjects stay distinct.
 */
export function sessionNameFor(subject: string): string {
  let name = subject.replace(NAME_CHARS, '_');
  if (name.length > 64) {
    const hash = createHash('sha256').update(subject).digest('hex').slice(0, 10);
    name = `${name.slice(0, 53)}-${hash}`;
  }
  // `:` is outside the character set, so the reserved `aws:` SourceIdentity prefix cannot occur.
  return name.padEnd(2, '_');
}

const TAG_VALUE_CHARS = /[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu;

/** Session tags from claims: values cleaned to STS's character set, at most 256 characters. */
export function sessionTagsFor(
  principal: Principal,
  mapping: Readonly<Record<string, string>>,
): { Key: string; Value: string }[] {
  const tags: { Key: string; Value: string }[] = [];
  for (const [key, path] of Object.entries(mapping)) {
    // Lists are joined with `:`: STS tag values may not hold commas.
    const value = claimText(principal.claims, path, ':');
    if (value === undefined) continue;
    tags.push({ Key: key, Value: value.replace(TAG_VALUE_CHARS, '_').slice(0, 256) });
  }
  return tags;
}

/** True when one of the role's trusted OIDC providers is the token's issuer. */
export function trustsIssuer(providers: readonly string[], issuer: string): boolean {
  const suffix = `:oidc-provider/${issuerKeyPrefix(issuer)}`;
  return providers.some((p) => p.endsWith(suffix));
}

export interface StsBrokerOptions {
  readonly calls: StsCalls;
  readonly settings: Pick<AwsStsConfig, 'durationSeconds' | 'sessionTags' | 'webIdentity'> & {
    readonly cacheEntries: number;
    /** Default {@link DEFAULT_STS_CACHE_MAX_BYTES} (8 MiB). */
    readonly cacheMaxBytes?: number;
  };
  /** Eviction and oversize counters of the credential cache (metrics). */
  readonly cacheHooks?: Omit<CacheHooks, 'onLookup'>;
  /** This process's part of the cache bounds with `server.workers` (docs/workers.md). Default: all. */
  readonly cacheShare?: CacheShare;
  /** Clock in epoch ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Called once per STS call, for metrics. */
  readonly onCall?: (api: 'AssumeRole' | 'AssumeRoleWithWebIdentity', ok: boolean) => void;
}

export interface StsBroker {
  /** Credentials for the request; rejects with `ERR_STS_FAILED`. */
  credentials(request: CredentialsRequest): Promise<UpstreamCredentials>;
  /** Cached entries (for tests and metrics). */
  size(): number;
  /** The credential cache's entries and estimated bytes (metrics). */
  readonly cache: CacheStats;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** Creates a broker with its own cache. */
export function createStsBroker(options: StsBrokerOptions): StsBroker {
  const now = options.now ?? Date.now;
  const { settings, calls } = options;
  const cache = new ExpiringLru<UpstreamCredentials>({
    maxEntries: shareOfBound(settings.cacheEntries, options.cacheShare),
    maxBytes: shareOfBound(
      settings.cacheMaxBytes ?? DEFAULT_STS_CACHE_MAX_BYTES,
      options.cacheShare,
    ),
    ...options.cacheHooks,
  });
  const inflight = new Map<string, Promise<UpstreamCredentials>>();

  const reuseUntil = (c: UpstreamCredentials) => c.expiration - REFRESH_BEFORE_EXPIRY_MS;

  const call = async (
    request: CredentialsRequest,
    webIdentity: boolean,
    tags: { Key: string; Value: string }[],
  ): Promise<UpstreamCredentials> => {
    const api = webIdentity ? 'AssumeRoleWithWebIdentity' : 'AssumeRole';
    const name = sessionNameFor(request.principal.subject);
    let result: Credentials | undefined;
    try {
      result =
        webIdentity && request.token !== undefined
          ? await calls.assumeRoleWithWebIdentity({
              RoleArn: request.roleArn,
              RoleSessionName: name,
              WebIdentityToken: request.token,
              DurationSeconds: settings.durationSeconds,
            })
          : await calls.assumeRole({
              RoleArn: request.roleArn,
              RoleSessionName: name,
              SourceIdentity: name,
              DurationSeconds: settings.durationSeconds,
              Tags: tags,
            });
    } catch (err) {
      options.onCall?.(api, false);
      // The SDK's message names the error, never the credentials or the token.
      throw new RolegateError(
        'ERR_STS_FAILED',
        `${api} ${request.roleArn}: ${err instanceof Error ? err.name : 'error'}`,
        { cause: err },
      );
    }
    const c = result;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      options.onCall?.(api, false);
      throw new RolegateError('ERR_STS_FAILED', `${api} ${request.roleArn}: incomplete answer`);
    }
    options.onCall?.(api, true);
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: new Date(c.Expiration).getTime(),
    };
  };

  return {
    size: () => cache.size,
    cache,
    async credentials(request) {
      const webIdentity =
        settings.webIdentity === 'auto' &&
        request.token !== undefined &&
        request.principal.kind === 'jwt' &&
        trustsIssuer(request.webIdentityProviders ?? [], request.principal.issuer);
      const tags = webIdentity ? [] : sessionTagsFor(request.principal, settings.sessionTags);
      // Web identity sessions are bound to the token they were minted from;
      // AssumeRole sessions to the subject and the tags they carry.
      const key = [
        request.roleArn,
        request.principal.issuer,
        request.principal.subject,
        webIdentity
          ? `token:${sha256(request.token ?? '')}`
          : `tags:${sha256(JSON.stringify(tags))}`,
      ].join('\u0000');
      const hit = cache.get(key, now());
      if (hit) return hit;
      let pending = inflight.get(key);
      if (!pending) {
        pending = call(request, webIdentity, tags)
          .then((creds) => {
            cache.set(key, creds, reuseUntil(creds));
            return creds;
          })
          .finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      return pending;
    },
  };
}
