/**
 * The admin listener's `GET /config` (in the manner of Envoy's
 * `/config_dump` and OPA's `/v1/config`): the active generation's
 * validated config, its hash and history, the roles merged in and each
 * issuer's key set. Redaction is an allow-list: every field shown is named
 * below, so a field added to a section later stays hidden until someone
 * decides it may be shown. Secrets are never resolved (environment
 * variables are not read here at all), resolved secrets and key material
 * are never copied (`hmacSecret`, a `jwksFile`'s keys: only their `kid`),
 * URLs lose their user information and query, policy documents and deny
 * templates are named, not shown, and env-named secrets appear as booleans
 * (`hmac`, `signed`). See docs/observability.md#the-running-config.
 */
import type { FleetStatus } from '../aws/fleet.js';
import { isIamRole } from '../aws/merge.js';
import type { CompiledRole, LoadedConfig } from '../config/compile.js';
import type { PolicyRef, RolegateConfig } from '../config/schema.js';
import type { KeySetState } from './key-sets.js';
import type { CatalogStatus } from '../catalog/source.js';
import type { GenerationStatus, Generations } from './generations.js';

/** A JSON object of the dump. */
type Shown = Readonly<Record<string, unknown>>;

/** What one cluster worker serves, as its primary last heard. */
export interface WorkerGeneration {
  /** The cluster's worker id (a replacement gets a new one). */
  readonly id: number;
  readonly pid: number | undefined;
  /** The generation it serves. */
  readonly hash: string;
}

/** What {@link configDump} shows; everything optional is left out when absent. */
export interface ConfigDumpInput {
  /** `process` (one rolegate) or `cluster-primary` (workers keep their own keys and IAM roles). */
  readonly scope: 'process' | 'cluster-primary';
  /** The file config of the active generation (validated). */
  readonly file: LoadedConfig;
  readonly status: GenerationStatus;
  /** The live roles, IAM roles merged in. Default: the file's roles. */
  readonly roles?: readonly CompiledRole[];
  /** Epoch ms of the last successful IAM sync. */
  readonly lastIamSync?: number | undefined;
  /** The IAM fleet as this process sees it (`aws.iam.fleet`). Default: not shown. */
  readonly fleet?: FleetStatus | undefined;
  /** Each issuer's key set. Default: not shown. */
  readonly keySets?: readonly KeySetState[];
  /** A primary's workers. Default: not shown. */
  readonly workers?: readonly WorkerGeneration[];
  /** The catalog source's state, when this process reads one. Default: not shown. */
  readonly catalog?: CatalogStatus | undefined;
  /** Clock reading (epoch ms) the dump is stamped with. */
  readonly now: number;
}

/** The `/config` document. */
export interface ConfigDump {
  readonly scope: ConfigDumpInput['scope'];
  readonly generatedAt: string;
  readonly generation: Shown;
  readonly config: Shown;
  readonly roles: readonly Shown[];
  readonly iam: Shown;
  readonly keySets?: readonly Shown[];
  readonly workers?: readonly Shown[];
  readonly catalog?: Shown;
}

const iso = (ms: number | undefined): string | undefined =>
  ms === undefined || !Number.isFinite(ms) ? undefined : new Date(ms).toISOString();

/** Only the listed fields of `o`, each as it is (all of them plain, secret-free values). */
function pick<T extends object>(o: T, keys: readonly (keyof T & string)[]): Shown {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * A URL without what may authenticate: user information becomes
 * `redacted@`, a query `?redacted`, and a fragment goes. A URL with none of
 * them is shown exactly as written (an issuer is an exact `iss` value).
 * Not a URL: `redacted`.
 */
export function redactUrl(text: string): string {
  if (!URL.canParse(text)) return 'redacted';
  const url = new URL(text);
  const userinfo = url.username !== '' || url.password !== '';
  if (!userinfo && url.search === '' && url.hash === '' && !text.includes('#')) return text;
  if (userinfo) {
    url.username = 'redacted';
    url.password = '';
  }
  if (url.search !== '') url.search = 'redacted';
  url.hash = '';
  return url.href;
}

/** A policy document by name and file: its text is not shown. */
function policy(ref: PolicyRef): Shown {
  return ref.file === undefined
    ? { name: ref.name, inline: true }
    : { name: ref.name, file: ref.file };
}

function deny(d: NonNullable<RolegateConfig['deny']> | undefined): Shown | undefined {
  if (d === undefined) return undefined;
  return {
    ...pick(d, ['status', 'message']),
    // The template is the operator's text: its format says enough.
    ...(d.body === undefined ? {} : { body: { format: d.body.format } }),
    ...(d.headers === undefined ? {} : { headerNames: Object.keys(d.headers) }),
    ...(d.login === undefined
      ? {}
      : { login: { url: redactUrl(d.login.url), ...pick(d.login, ['param', 'allowedHosts']) } }),
  };
}

function issuer(i: RolegateConfig['issuers'][number]): Shown {
  return {
    issuer: redactUrl(i.issuer),
    ...(i.jwksUri === undefined ? {} : { jwksUri: redactUrl(i.jwksUri) }),
    ...pick(i, ['audiences', 'jwksFile', 'algorithms', 'clockToleranceSeconds']),
    ...pick(i, ['federatedPrincipals', 'requiredClaims', 'groupsClaim', 'tagClaims', 'token']),
    ...pick(i, ['claimPatterns', 'maxTokenLifetimeSeconds']),
    keys: pick(i.keys, [
      'maxAgeSeconds',
      'cooldownSeconds',
      'staleSeconds',
      'maxWaitMs',
      'maxDocumentBytes',
      'maxKeys',
    ]),
    // Whether an HMAC secret is configured; neither its variable's value nor its bytes.
    hmac: i.hmacSecretEnv !== undefined,
  };
}

function server(s: RolegateConfig['server']): Shown {
  const listen = (l: { host: string; port: number }) => pick(l, ['host', 'port']);
  return {
    grpc: listen(s.grpc),
    admin: listen(s.admin),
    http: pick(s.http, [
      'enabled',
      'host',
      'port',
      'trustedProxies',
      'originalMethodHeader',
      'originalUriHeader',
      'originalHostHeader',
      'nginxAuthLocation',
      'envoyPrefix',
      'maxBodyBytes',
      'maxHeaderBytes',
      'maxHeaders',
      'requestTimeoutMs',
      'maxConnections',
      'keepAliveTimeoutMs',
    ]),
    ...pick(s, ['drainSeconds', 'shutdownDelaySeconds', 'workers']),
  };
}

function aws(a: RolegateConfig['aws']): Shown | undefined {
  if (a === undefined) return undefined;
  return {
    ...pick(a, ['region']),
    ...(a.endpoint === undefined ? {} : { endpoint: redactUrl(a.endpoint) }),
    ...(a.iam === undefined
      ? {}
      : {
          iam: pick(a.iam, [
            'pathPrefix',
            'tags',
            'refreshSeconds',
            'jitter',
            'roleArnAsName',
            'requestTimeoutMs',
          ]),
          // urlEnv names where the URL is read from; the URL itself is never read here.
          ...(a.iam.fleet === undefined
            ? {}
            : { fleet: pick(a.iam.fleet, ['urlEnv', 'leaseSeconds', 'replica']) }),
        }),
    sts: {
      ...pick(a.sts, ['durationSeconds', 'sessionTags', 'webIdentity', 'timeoutMs']),
      ...pick(a.sts, ['cacheEntries', 'cacheMaxBytes']),
      headers: pick(a.sts.headers, [
        'accessKeyId',
        'secretAccessKey',
        'sessionToken',
        'expiration',
      ]),
    },
  };
}

function access(a: RolegateConfig['access']): Shown {
  return {
    ...pick(a, ['enabled', 'approvals', 'refreshMs', 'stalenessSeconds', 'csrfRotateSeconds']),
    // urlEnv names where the PostgreSQL URL is read from; the URL itself is never read here.
    store: pick(a.store, ['kind', 'file', 'urlEnv']),
    listen: pick(a.listen, ['host', 'port']),
    origins: a.origins.map(redactUrl),
    webhooks: a.webhooks.map((w) => ({
      url: redactUrl(w.url),
      ...pick(w, ['format', 'events', 'maxAttempts', 'backoffMs', 'timeoutMs']),
      signed: w.secretEnv !== undefined,
    })),
    roles: Object.fromEntries(
      Object.entries(a.roles).map(([name, r]) => [
        name,
        pick(r, ['maxGrantSeconds', 'approvals', 'breakGlass']),
      ]),
    ),
  };
}

/** The validated config, redacted: only the fields named here are shown. */
export function redactConfig(c: RolegateConfig): Shown {
  return {
    server: server(c.server),
    issuers: c.issuers.map(issuer),
    roles: c.roles.map((r) => ({
      name: r.name,
      arn: r.arn,
      trustPolicy: policy(r.trustPolicy),
      policies: r.policies.map(policy),
      ...(r.permissionsBoundary === undefined
        ? {}
        : { permissionsBoundary: policy(r.permissionsBoundary) }),
    })),
    guardrails: c.guardrails.map(policy),
    routes: c.routes.map((r) => ({
      ...pick(r, ['method', 'path', 'action', 'resource', 'tags', 'entity', 'credentials']),
      ...(r.deny === undefined ? {} : { deny: deny(r.deny) }),
    })),
    unmatchedRoutes: c.unmatchedRoutes,
    headers: pick(c.headers, ['requestedRole', 'claims', 'stripInbound']),
    ...(c.deny === undefined ? {} : { deny: deny(c.deny) }),
    tokens: pick(c.tokens, ['maxBytes', 'cacheEntries', 'cacheMaxBytes']),
    mtls: pick(c.mtls, ['enabled', 'trustDomains']),
    audit: pick(c.audit, ['allowSampleRate', 'format', 'file']),
    shadow: pick(c.shadow, ['config']),
    ...(c.aws === undefined ? {} : { aws: aws(c.aws) }),
    access: access(c.access),
    ...(c.catalog?.backstage === undefined
      ? {}
      : {
          catalog: {
            // The token's variable is named; its value is never read here.
            backstage: {
              baseUrl: redactUrl(c.catalog.backstage.baseUrl),
              ...pick(c.catalog.backstage, [
                'tokenEnv',
                'refreshSeconds',
                'staleAfterSeconds',
                'maxEntities',
                'pageSize',
              ]),
            },
          },
        }),
  };
}

function keySet(k: KeySetState): Shown {
  return {
    issuer: redactUrl(k.issuer),
    source: k.source,
    kids: k.kids,
    keysWithoutKid: k.keysWithoutKid,
    lastSuccessAt: iso(k.lastSuccessAt),
    lastFailureAt: iso(k.lastFailureAt),
    nextRefreshAt: iso(k.nextRefreshAt),
    servableUntil: iso(k.servableUntil),
  };
}

/** The `/config` document for `input`. Pure: it reads nothing but its input. */
export function configDump(input: ConfigDumpInput): ConfigDump {
  const { file, status } = input;
  const roles = input.roles ?? file.roles;
  return {
    scope: input.scope,
    generatedAt: iso(input.now) ?? '',
    generation: {
      hash: status.hash,
      appliedAt: iso(status.appliedAt),
      files: file.sources?.files ?? [],
      reloads: {
        succeeded: status.reloadsSucceeded,
        failed: status.reloadsFailed,
        lastFailedAt: iso(status.lastFailedAt),
      },
    },
    config: redactConfig(file.settings),
    roles: roles.map((r) => ({ name: r.name, arn: r.arn, source: isIamRole(r) ? 'iam' : 'file' })),
    iam: {
      configured: file.settings.aws?.iam !== undefined,
      // A primary merges no IAM roles: each worker does (its roles are not in this dump).
      ...(input.roles === undefined
        ? {}
        : { roles: roles.filter(isIamRole).length, lastSyncAt: iso(input.lastIamSync) }),
      ...(input.fleet === undefined ? {} : { fleet: fleetShown(input.fleet, input.now) }),
    },
    ...(input.keySets === undefined ? {} : { keySets: input.keySets.map(keySet) }),
    ...(input.workers === undefined
      ? {}
      : {
          workers: input.workers.map((w) => ({
            ...w,
            current: w.hash === status.hash,
          })),
        }),
    ...(input.catalog === undefined
      ? {}
      : {
          catalog: {
            entities: input.catalog.entities,
            lastSuccessAt: iso(input.catalog.lastSuccessAt),
            lastFailureAt: iso(input.catalog.lastFailureAt),
            ...(input.catalog.lastError === undefined
              ? {}
              : { lastError: input.catalog.lastError }),
          },
        }),
  };
}

/** Who reads IAM for the fleet, and which snapshot this process decides with (its hash and age). */
function fleetShown(f: FleetStatus, now: number): Shown {
  return {
    replica: f.replica,
    reader: f.reader,
    holder: f.holder ?? null,
    listening: f.listening,
    snapshot:
      f.snapshot === undefined
        ? null
        : {
            hash: f.snapshot.hash,
            readBy: f.snapshot.reader,
            publishedAt: iso(f.snapshot.publishedAt),
            ageSeconds: Math.max(0, Math.round((now - f.snapshot.publishedAt) / 100) / 10),
          },
  };
}

/**
 * The /readyz lines for the IAM fleet: who reads IAM and how old this
 * process's snapshot is (readiness itself does not depend on it: the last
 * good set keeps deciding). None without `aws.iam.fleet`.
 */
export function fleetReadiness(f: FleetStatus | undefined, now: number): string[] {
  if (f === undefined) return [];
  const reader = f.reader ? `this replica (${f.replica})` : (f.holder ?? 'none');
  const snapshot =
    f.snapshot === undefined
      ? 'none yet'
      : `${f.snapshot.hash.slice(0, 12)}, read by ${f.snapshot.reader} ${Math.max(0, Math.round((now - f.snapshot.publishedAt) / 1000))} s ago`;
  return [`iam reader: ${reader}`, `iam snapshot: ${snapshot}`];
}

/** The dump of a running process: its active generation, merged roles and key sets. */
export function liveConfigDump(generations: Generations, now: number): ConfigDump {
  return configDump({
    scope: 'process',
    file: generations.fileConfig(),
    status: generations.status(),
    roles: generations.current().compiled.roles,
    lastIamSync: generations.aws.lastIamSync(),
    fleet: generations.aws.fleet(),
    keySets: generations.keySets(),
    catalog: generations.catalog.status(),
    now,
  });
}
