/**
 * Composition of just-in-time access (`access.enabled`): the store
 * (embedded sqlite by default, PostgreSQL for replicas), the grant cache
 * that decisions read, the access service with rolegate's own policies as
 * its authorizer, the expiry sweep, and the API listener.
 */
import type { IncomingMessage } from 'node:http';
import { resolve as resolvePath } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createCsrfTokens } from '../access/csrf.js';
import { createGrantCache, type GrantCache, type GrantLookup } from '../access/grants.js';
import { auditingEvents, createAccessMetrics, type AccessMetrics } from '../access/observe.js';
import type { AccessConfig } from '../access/options.js';
import { createAccessService, markAudited, type AccessEvents } from '../access/service.js';
import { onCallReader } from '../access/on-call.js';
import { createWebhookSender } from '../access/webhooks.js';
import { checkSessionPolicy } from '../check/session-policy.js';
import { openSqliteStore } from '../access/sqlite-store.js';
import type { AccessStore } from '../access/store.js';
import {
  assumableForCredentials,
  authorizeAccessAction,
  entityArn,
  GET_REACH_ACTION,
} from '../check/access-actions.js';
import { formatEntityRef, parseEntityRef, ROUTE_ENTITY_KIND } from '../catalog/entity-ref.js';
import { entityReach } from '../prove/reach.js';
import { AccessInputError } from '../transport/http/access-input.js';
import { credentialProcess, STS_MIN_SECONDS } from '../aws/credential-process.js';
import { identify, type Generation } from '../check/check.js';
import type { LoadedConfig } from '../config/compile.js';
import { processEnvironment } from '../config/environment.js';
import { errorDocAnchor, RolegateError } from '../errors.js';
import { extractToken } from '../request/credentials.js';
import type { AuthzRequest } from '../request/types.js';
import { startAccessApi, type AccessApiOptions } from '../transport/http/access-api.js';
import type { Principal } from '../identity/principal.js';
import { principalFromClaims } from '../identity/jwt.js';
import { createSignIn, type SignIn } from './signin.js';
import type { SlackUserConfig } from '../access/options.js';

export interface AccessWiringOptions {
  readonly config: AccessConfig;
  /** Directory the sqlite file name is relative to (the config file's). */
  readonly baseDir: string;
  /** The live generation (read per call). */
  readonly generation: () => Generation<LoadedConfig>;
  readonly now: () => number;
  readonly registry: Registry;
  readonly auditLogger: Logger;
  readonly logger: Logger;
  /** Listener port override (tests). */
  readonly port?: number;
}

type ApiOptions = AccessApiOptions<AuthzRequest, Principal>;

export interface AccessRuntime {
  readonly port: number;
  readonly grants: GrantLookup;
  stop(): Promise<void>;
}

/** An access API call as the identity and policy phases read it. */
export function toAuthzRequest(req: IncomingMessage, url: URL): AuthzRequest {
  const query = new Map<string, string[]>();
  for (const [k, v] of url.searchParams) query.set(k, [...(query.get(k) ?? []), v]);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return {
    requestId: headers['x-request-id'] ?? '',
    method: (req.method ?? 'GET').toUpperCase(),
    path: url.pathname,
    query,
    host: headers['host'] ?? '',
    headers,
    ...(req.socket.remoteAddress ? { sourceAddress: req.socket.remoteAddress } : {}),
    secure: false,
    contextExtensions: {},
  };
}

/**
 * Opens the configured store, which applies pending migrations, and closes
 * it: `rolegate migrate`. Resolves to the store kind.
 */
export async function migrateStore(config: AccessConfig, baseDir: string): Promise<string> {
  const store = await openStore(config, baseDir);
  await store.close();
  return config.store.kind;
}

async function openStore(config: AccessConfig, baseDir: string): Promise<AccessStore> {
  if (config.store.kind === 'sqlite') {
    return openSqliteStore(resolvePath(baseDir, config.store.file));
  }
  const url = processEnvironment()[config.store.urlEnv];
  if (!url) throw new RolegateError('ERR_ACCESS_STORE', `${config.store.urlEnv} is not set`);
  const { openPostgresStore } = await import('../access/postgres-store.js');
  return openPostgresStore(url);
}

/** The grant cache decisions read, with its refresh metrics and the one "store unreachable" log line. */
function grantCacheOf(
  store: AccessStore,
  options: AccessWiringOptions,
  metrics: AccessMetrics,
  openRequests: () => number,
): GrantCache {
  const { config, now, logger } = options;
  let staleLogged = false;
  return createGrantCache({
    store,
    now,
    refreshMs: config.refreshMs,
    stalenessMs: config.stalenessSeconds * 1000,
    usageFlushMs: config.usageFlushSeconds * 1000,
    onRefresh(ok, grants) {
      metrics.cacheRefreshes.inc({ result: ok ? 'success' : 'failure' });
      if (!ok && !staleLogged) {
        staleLogged = true;
        logger.error(
          {
            code: 'ERR_ACCESS_STORE',
            help: errorDocAnchor('ERR_ACCESS_STORE'),
            stalenessSeconds: config.stalenessSeconds,
          },
          'access store unreachable; known grants are honoured only within the staleness window',
        );
      }
      if (ok) staleLogged = false;
      const t = now();
      const active = grants.filter((g) => g.expiresAt > t && g.revokedAt === undefined).length;
      metrics.gauges(openRequests(), active);
    },
  });
}

/**
 * `rolegate credentials`: STS credentials for a role the caller may assume
 * now (by trust or by an active grant), for no longer than the grant lasts.
 */
function credentialsFor(
  options: AccessWiringOptions,
  cache: GrantCache,
  events: AccessEvents,
): NonNullable<ApiOptions['credentials']> {
  const { now } = options;
  return async (request, principal, roleName) => {
    const compiled = options.generation().compiled;
    const at = now();
    const refuse = (code: 'ERR_ACCESS_FORBIDDEN' | 'ERR_ACCESS_STATE', message?: string) => {
      events.refused({
        at,
        action: 'rolegate:GetCredentials',
        code,
        actor: principal.subject,
        issuer: principal.issuer,
        role: roleName,
        ...(message === undefined ? {} : { actual: message }),
      });
      return markAudited(new RolegateError(code, message));
    };
    const found = assumableForCredentials(compiled, request, principal, roleName, cache, at);
    if (found === undefined) throw refuse('ERR_ACCESS_FORBIDDEN');
    // STS credentials would be the whole role: the session policy narrowing the grant
    // (docs/access.md) would not travel with them. Fail closed rather than widen the grant.
    if (found.grant?.sessionPolicy !== undefined) {
      throw refuse(
        'ERR_ACCESS_FORBIDDEN',
        'the grant is narrowed by a session policy, which AWS credentials for the role would not carry',
      );
    }
    const stsSeconds = compiled.settings.aws?.sts.durationSeconds ?? 3600;
    const left = found.grant ? Math.floor((found.grant.expiresAt - at) / 1000) : stsSeconds;
    const duration = Math.min(stsSeconds, left);
    if (duration < STS_MIN_SECONDS) {
      throw refuse(
        'ERR_ACCESS_STATE',
        'the grant ends before the shortest STS session (15 minutes)',
      );
    }
    const out = await credentialProcess(
      compiled.settings.aws,
      found.role.arn,
      principal.subject,
      duration,
    );
    options.auditLogger.info(
      {
        access: {
          event: 'credentials',
          at: new Date(at).toISOString(),
          role: found.role.arn,
          subject: principal.subject,
          issuer: principal.issuer,
          duration_seconds: duration,
          expires_at: out.Expiration,
          ...(found.grant ? { grant_id: found.grant.id, request_id: found.grant.requestId } : {}),
        },
      },
      'access',
    );
    return out;
  };
}

/**
 * `GET /v1/access/reach?entity=REF`: authorized by `rolegate:GetReach` on
 * the entity's ARN, then the routes naming the entity and the roles whose
 * policies can allow them, with the entity's catalog tags. A catalog with
 * no tags to give (no read yet, stale) is its code (503): never an answer
 * computed without the tags Check would use.
 */
function reachFor(
  options: AccessWiringOptions,
  events: AccessEvents,
): NonNullable<ApiOptions['reach']> {
  return (request, principal, text) => {
    const parsed = parseEntityRef(text, { kind: ROUTE_ENTITY_KIND });
    if (!parsed.ok) {
      return Promise.reject(
        new AccessInputError('ERR_ACCESS_INVALID', {
          expected: 'entity a Backstage entity ref ([kind:][namespace/]name)',
          actual: `entity ${JSON.stringify(text.slice(0, 80))}: ${parsed.message}`,
        }),
      );
    }
    const entity = formatEntityRef(parsed.ref);
    const at = options.now();
    const generation = options.generation();
    const arn = entityArn(parsed.ref);
    const verdict = authorizeAccessAction(
      generation.compiled,
      request,
      principal,
      GET_REACH_ACTION,
      arn,
      {},
      at,
    );
    if (!verdict.allowed) {
      events.refused({
        at,
        action: GET_REACH_ACTION,
        code: 'ERR_ACCESS_FORBIDDEN',
        actor: principal.subject,
        issuer: principal.issuer,
        expected: `an Allow of ${GET_REACH_ACTION} on ${arn} in the caller's roles (by trust), and no Deny`,
        actual: verdict.explain?.() ?? 'no role allows it',
      });
      return Promise.reject(markAudited(new RolegateError('ERR_ACCESS_FORBIDDEN')));
    }
    const answer = generation.catalog?.tagsFor(entity, at) ?? {
      ok: false as const,
      code: 'ERR_CATALOG_UNAVAILABLE' as const,
      detail: 'no catalog source',
    };
    if (!answer.ok && answer.code !== 'ERR_CATALOG_ENTITY_UNKNOWN') {
      return Promise.reject(new RolegateError(answer.code, answer.detail));
    }
    const tags = answer.ok ? answer.tags : {};
    const routes = generation.compiled.settings.routes;
    // Check denies every route of an entity the catalog does not hold: no role reaches them.
    const reach = entityReach(answer.ok ? generation.compiled.roles : [], routes, entity, tags);
    return Promise.resolve({ entity, tags, routes: reach });
  };
}

/** The access API's view of callers: identity, credential source and rolegate's own policies. */
function callersOf(
  options: AccessWiringOptions,
  signIn: SignIn | undefined,
): Pick<ApiOptions, 'requestOf' | 'authenticate' | 'origins' | 'credentialSource' | 'authorizer'> {
  const { now } = options;
  /** A token where an issuer's tokens travel wins; without one, the sign-in session (if any). */
  const tokenFound = (request: AuthzRequest) =>
    extractToken(request, options.generation().verifier.locations) !== undefined;
  return {
    requestOf: toAuthzRequest,
    authenticate: async (request) =>
      signIn !== undefined && !tokenFound(request) && signIn.hasSessionCookie(request)
        ? signIn.principalOf(request)
        : identify(request, options.generation().verifier),
    origins: () => options.generation().compiled.settings.access.origins,
    credentialSource(request) {
      try {
        const found = extractToken(request, options.generation().verifier.locations);
        // The session cookie is a cookie too: it never carries a state-changing API call.
        if (found === undefined) return signIn?.hasSessionCookie(request) ? 'cookie' : 'header';
        return found.location.kind === 'cookie' ? 'cookie' : 'header';
      } catch {
        return undefined;
      }
    },
    authorizer: (request, principal) => (action, roleArn, context) =>
      authorizeAccessAction(
        options.generation().compiled,
        request,
        principal,
        action,
        roleArn,
        context,
        now(),
      ),
  };
}

/**
 * The identity a Slack user mapped in `access.slack.users` acts as: the
 * principal its issuer's configuration would make of a token with that
 * subject and those groups (groups at the issuer's `groupsClaim`, so
 * `jwt:<claim>` and `rolegate:groups` both see them). The mapping is
 * trusted operator config: no token is involved.
 */
function slackPrincipal(options: AccessWiringOptions, user: SlackUserConfig): Principal {
  const issuer = options.generation().compiled.issuers.find((i) => i.issuer === user.issuer);
  if (issuer === undefined) {
    throw new RolegateError(
      'ERR_ACCESS_SLACK_USER',
      `the mapping names issuer ${user.issuer}, which is not under issuers`,
    );
  }
  const path = (issuer.groupsClaim ?? 'groups').split('.');
  let groups: unknown = [...user.groups];
  for (const key of path.reverse()) groups = { [key]: groups };
  const claims = { ...(groups as Record<string, unknown>), iss: issuer.issuer, sub: user.subject };
  return principalFromClaims(claims, issuer);
}

/** Slack's interactive callback (`access.slack`): its config, secret, replay record and user mapping. */
function slackOf(
  options: AccessWiringOptions,
  store: AccessStore,
): NonNullable<ApiOptions['slack']> {
  return {
    config: () => options.generation().compiled.settings.access.slack,
    secret: (name) => processEnvironment()[name],
    claimNonce: (nonce, until, now) => store.claimNonce(nonce, until, now),
    principalOf: (user) => slackPrincipal(options, user),
  };
}

/**
 * `rolegate:OnCall` for the live `access.onCall` (a reload that changes it
 * gets a new reader; the file is relative to the config file).
 */
function onCallOf(
  options: AccessWiringOptions,
): (subject: string, groups: readonly string[]) => boolean {
  let key = '';
  let reader: (subject: string, groups: readonly string[]) => boolean = () => false;
  return (subject, groups) => {
    const config = options.generation().compiled.settings.access.onCall;
    const next = JSON.stringify(config);
    if (next !== key) {
      key = next;
      reader = onCallReader({
        groups: config.groups,
        ...(config.file === undefined ? {} : { file: resolvePath(options.baseDir, config.file) }),
        onFile(ok, detail) {
          if (ok) options.logger.info({ file: config.file, detail }, 'on-call file read');
          else
            options.logger.warn(
              { file: config.file, detail },
              'on-call file unreadable; nobody is on call by it',
            );
        },
      });
    }
    return reader(subject, groups);
  };
}

/** Opens the store (migrating it), fills the grant cache and starts the API. */
export async function startAccess(options: AccessWiringOptions): Promise<AccessRuntime> {
  const { config, now, logger } = options;
  const store = await openStore(config, options.baseDir);
  const metrics = createAccessMetrics(options.registry);
  let open = 0;
  const cache = grantCacheOf(store, options, metrics, () => open);
  const webhooks = createWebhookSender({
    webhooks: config.webhooks,
    secret: (name) => processEnvironment()[name],
    slackActions: config.slack !== undefined,
    onResult(url, event, ok, attempts) {
      metrics.webhooks.inc({ result: ok ? 'success' : 'failure' });
      if (!ok) logger.warn({ url, event, attempts }, 'access webhook delivery failed');
    },
  });
  const events = auditingEvents(options.auditLogger, metrics, (e) => webhooks.send(e));
  const service = createAccessService({
    store,
    config: () => options.generation().compiled.settings.access,
    roleArn: (name) => options.generation().compiled.roles.find((r) => r.name === name)?.arn,
    now,
    events,
    changed: () => cache.refresh(),
    sessionPolicy: checkSessionPolicy,
    onCall: onCallOf(options),
  });
  await cache.refresh();
  cache.start();
  // Expired grants are swept, and the open-request gauge refreshed, every second.
  const sweep = setInterval(() => {
    service.sweepExpired().catch(() => undefined);
    service.revokeUnused().catch(() => undefined);
    store.listRequests({ status: 'pending' }).then(
      (l) => {
        open = l.length;
      },
      () => undefined,
    );
  }, 1000);
  sweep.unref();

  const signIn =
    config.signIn === undefined
      ? undefined
      : createSignIn({
          generation: options.generation,
          store,
          now,
          auditLogger: options.auditLogger,
        });
  const api = await startAccessApi({
    host: config.listen.host,
    port: options.port ?? config.listen.port,
    service,
    events,
    now,
    ...callersOf(options, signIn),
    ...(signIn === undefined ? {} : { signIn }),
    csrf: createCsrfTokens({ store, now, rotateMs: config.csrfRotateSeconds * 1000 }),
    cacheRefreshedAt: () => cache.lastRefresh(),
    credentials: credentialsFor(options, cache, events),
    reach: reachFor(options, events),
    ...(options.config.slack === undefined ? {} : { slack: slackOf(options, store) }),
  }).catch(async (err: unknown) => {
    cache.stop();
    clearInterval(sweep);
    await store.close();
    throw err;
  });
  return {
    port: api.port,
    grants: cache,
    async stop() {
      cache.stop();
      clearInterval(sweep);
      await cache.flushUses();
      await api.close();
      await Promise.race([webhooks.idle(), new Promise((r) => setTimeout(r, 2000).unref())]);
      await store.close();
    },
  };
}
