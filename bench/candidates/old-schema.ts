/**
 * The configuration file's schema: one YAML (or JSON) document validated
 * into {@link RolegateConfig}. Validation reports every problem with its
 * JSON path; policy documents are only located here and compiled in
 * `compile.ts`.
 */
import { readAwsConfig, type AwsConfig } from './old-aws.js';
import { routeTemplateProblems } from '../../src/route/table.js';
import { childPath, isRecord, Reader, type ConfigProblem } from './old-reader.js';

/** Asymmetric JWS algorithms accepted by default; `none` and HS* never are. */
export const DEFAULT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

/** Method-override headers some frameworks honour; stripped from allowed requests by default. */
export const DEFAULT_STRIP_INBOUND = [
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
] as const;

/** Where a policy document sits: inline in the config, or in a file next to it. */
export interface PolicyRef {
  /** Policy name used in decisions and diagnostics. */
  readonly name: string;
  /** Inline document, or `undefined` when `file` is set. */
  readonly document?: unknown;
  /** Path relative to the config file. */
  readonly file?: string;
  /** JSON path of the reference inside the config, for diagnostics. */
  readonly path: string;
}

/** Where an issuer's tokens travel. Default: `Authorization: Bearer <token>`. */
export type TokenLocation =
  | { readonly kind: 'bearer' }
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string };

/**
 * What a claim substituted into a policy may hold by default: the characters
 * IAM allows in names plus `:` (Kubernetes subjects), 1 to 256 of them. No
 * `/` (it would open a path below the one the policy meant), no `*`, `?`,
 * `$`, braces, blanks or controls.
 */
export const DEFAULT_VARIABLE_CLAIM_PATTERN = '^[A-Za-z0-9_+=,.@:-]{1,256}$';

/** HMAC algorithms: accepted only for an issuer with a configured secret. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;

export interface IssuerConfig {
  /** Exact `iss` value. */
  readonly issuer: string;
  /** Accepted `aud` values (at least one). */
  readonly audiences: readonly string[];
  /** JWKS URL; when absent (and no `jwksFile`), found through `<issuer>/.well-known/openid-configuration`. */
  readonly jwksUri?: string;
  /** JWKS document file, relative to the config file; read at (re)load, never fetched. */
  readonly jwksFile?: string;
  /** Environment variable holding an HMAC secret; only then may `algorithms` list HS*. */
  readonly hmacSecretEnv?: string;
  /** Allowed algorithms. Default: {@link DEFAULT_ALGORITHMS}. */
  readonly algorithms: readonly string[];
  /** Claims that must be present; with values, the claim must equal one of them. */
  readonly requiredClaims: Readonly<Record<string, readonly string[] | null>>;
  /** Claim path (dots for nesting, e.g. `realm_access.roles`) exposed as `rolegate:groups`. */
  readonly groupsClaim?: string;
  /** Principal tag -> claim path, exposed as `aws:PrincipalTag/<tag>`. */
  readonly tagClaims: Readonly<Record<string, string>>;
  /** Where the token is. Default `Authorization: Bearer`. */
  readonly token: TokenLocation;
  /** How the issuer's signing keys are fetched and cached. */
  readonly keys: IssuerKeysConfig;
  /** Leeway for exp/nbf/iat in seconds. Default 30. */
  readonly clockToleranceSeconds: number;
  /**
   * Claim name (as policies read it: `sub`, `email`, a dotted path, or a
   * principal tag's claim path) -> anchored regular expression the claim's
   * value must match whenever a policy substitutes it as a variable
   * (`${jwt:email}`, `${<issuer>:sub}`, `${aws:PrincipalTag/team}`,
   * `${aws:userid}`). Claims not listed get {@link DEFAULT_VARIABLE_CLAIM_PATTERN}.
   * A value that does not match denies the request (`ERR_CLAIM_VARIABLE_UNSAFE`).
   */
  readonly claimPatterns: Readonly<Record<string, string>>;
  /**
   * Longest accepted token lifetime in seconds: `exp - iat`, or, for a
   * token without `iat`, `exp - now` (plus the clock tolerance). Default
   * 86400 (24 hours), like Envoy jwt_authn's `max_lifetime`: it admits EKS
   * IRSA tokens (24 h) and Kubernetes projected service-account tokens
   * (1 h by default, `expirationSeconds` up to 48 h needs a larger value)
   * while refusing a stolen signing key's week- or year-long tokens.
   * From 60 to 31536000 (one year).
   */
  readonly maxTokenLifetimeSeconds: number;
  /**
   * Extra `Principal.Federated` names this issuer answers to in trust
   * policies, e.g. an IAM OIDC provider ARN. The issuer URL and the issuer
   * without `https://` always match.
   */
  readonly federatedPrincipals: readonly string[];
}

/** An issuer's key cache and key fetches (`issuers[].keys`). */
export interface IssuerKeysConfig {
  /** Keys younger than this are used without refetching. Default 600. */
  readonly maxAgeSeconds: number;
  /** Minimum seconds between two fetches (unknown kid, failed refresh). Default 30. */
  readonly cooldownSeconds: number;
  /** After `maxAgeSeconds`, how long cached keys keep serving while refreshing fails. Default 3600. */
  readonly staleSeconds: number;
  /**
   * Longest a Check waits for a key fetch, in milliseconds; the fetch
   * itself goes on in the background (up to its own 5 s timeout) and later
   * requests use its result. Default 250: well under Envoy's default 1 s
   * ext_authz timeout, so a hanging issuer turns into a 401
   * (`ERR_JWKS_UNAVAILABLE`) for tokens whose key is not cached, never into
   * an Envoy timeout. Keep it below your Envoy `timeout`. From 0 to 5000.
   */
  readonly maxWaitMs: number;
  /**
   * Largest accepted discovery or JWKS document in bytes; a larger one is
   * a failed fetch and the last good keys stay. Default 262144 (256 KiB).
   * From 1024 to 16777216.
   */
  readonly maxDocumentBytes: number;
  /** Most keys accepted in one JWKS document; more is a failed fetch. Default 100. From 1 to 10000. */
  readonly maxKeys: number;
}

/** The documented `issuers[].keys` defaults. */
export const DEFAULT_ISSUER_KEYS: IssuerKeysConfig = {
  maxAgeSeconds: 600,
  cooldownSeconds: 30,
  staleSeconds: 3600,
  maxWaitMs: 250,
  maxDocumentBytes: 262_144,
  maxKeys: 100,
};

/** Default `issuers[].maxTokenLifetimeSeconds`: 24 hours. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 86_400;

/** Default `tokens.cacheMaxBytes`: 64 MiB. */
export const DEFAULT_TOKEN_CACHE_MAX_BYTES = 67_108_864;

export interface RoleConfig {
  readonly name: string;
  /** Default `arn:rolegate:iam:::role/<name>`. */
  readonly arn: string;
  readonly trustPolicy: PolicyRef;
  readonly policies: readonly PolicyRef[];
  readonly permissionsBoundary?: PolicyRef;
}

export interface RouteConfig {
  /** Upper-case HTTP method, or `*` for any. */
  readonly method: string;
  /** Path template: literal segments, `{name}` one segment, `{name+}` the rest. */
  readonly path: string;
  readonly action: string;
  /** Resource template; `{name}` is replaced by the captured segment. */
  readonly resource: string;
  /** `aws:ResourceTag/<key>` values for this route. */
  readonly tags: Readonly<Record<string, string>>;
  /**
   * Temporary AWS credentials for the caller's role, injected for the
   * upstream (see docs/aws.md). `required`: an STS failure denies;
   * `optional`: the request goes on without them. Default: none.
   */
  readonly credentials?: 'required' | 'optional';
  readonly jsonPath: string;
}

export interface ListenConfig {
  readonly host: string;
  readonly port: number;
}

export interface RolegateConfig {
  /**
   * mTLS peers (Envoy's `source.principal`, e.g. a SPIFFE ID) as principals
   * when a request carries no token. Off by default.
   */
  readonly mtls: {
    readonly enabled: boolean;
    /** Accepted SPIFFE trust domains (`spiffe://<domain>/...`); empty = any. */
    readonly trustDomains: readonly string[];
  };
  readonly server: {
    /**
     * gRPC ext_authz listener. Default 127.0.0.1:9001. `ROLEGATE_LISTEN_HOST`
     * replaces the host of both listeners (see `listen-host.ts`).
     */
    readonly grpc: ListenConfig;
    /** Admin HTTP listener (/healthz, /readyz, /metrics). Default 127.0.0.1:9002. */
    readonly admin: ListenConfig;
    /** Seconds to drain in-flight calls on SIGTERM. Default 10. */
    readonly drainSeconds: number;
    /**
     * Seconds between turning health NOT_SERVING and refusing new calls on
     * SIGTERM, while Checks are still answered, so Envoy's health checker
     * moves traffic away before the connection closes. Default 3.
     */
    readonly shutdownDelaySeconds: number;
  };
  readonly issuers: readonly IssuerConfig[];
  readonly roles: readonly RoleConfig[];
  readonly guardrails: readonly PolicyRef[];
  readonly routes: readonly RouteConfig[];
  /**
   * What happens to a request no route matches: `deny` (default) or
   * `default`: action `http:<Method>` on `arn:rolegate:http:::<host><path>`.
   */
  readonly unmatchedRoutes: 'deny' | 'default';
  readonly headers: {
    /** Header that asks for one specific role. Default `x-rolegate-role`. */
    readonly requestedRole: string;
    /** Upstream header name -> claim path (dots for nesting), e.g. `x-user-email: email`. */
    readonly claims: Readonly<Record<string, string>>;
    /**
     * Inbound headers removed before an allowed request reaches the upstream.
     * Default {@link DEFAULT_STRIP_INBOUND}: the method-override headers, since
     * the decision is about the request's real method and an upstream that
     * honours an override would act on another one.
     */
    readonly stripInbound: readonly string[];
  };
  readonly tokens: {
    /** Largest accepted token in bytes. Default 16384. */
    readonly maxBytes: number;
    /** Verified-token cache entries. Default 10000; 0 disables the cache. */
    readonly cacheEntries: number;
    /**
     * Verified-token cache bound in estimated bytes (the JSON length of each
     * verified principal, claims included, plus a fixed overhead; see
     * `src/cache/expiring-lru.ts`). Least recently used entries are evicted
     * to stay under both this and `cacheEntries`; a principal larger than
     * the bound is not cached. Default 67108864 (64 MiB); 0 disables the
     * cache.
     */
    readonly cacheMaxBytes: number;
  };
  readonly audit: {
    /** Fraction of allows that are audited (denies always are). Default 1. */
    readonly allowSampleRate: number;
    /**
     * Append audit records to this file instead of stdout (opened at start;
     * a change takes effect on restart). Default: stdout.
     */
    readonly file?: string;
  };
  /** IAM as a role source and STS credentials for upstreams; see docs/aws.md. */
  readonly aws?: AwsConfig;
}

const TOP_LEVEL = [
  'mtls',
  'server',
  'issuers',
  'roles',
  'guardrails',
  'routes',
  'unmatchedRoutes',
  'headers',
  'tokens',
  'audit',
  'aws',
] as const;

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', '*'] as const;

function readListen(r: Reader, value: unknown, path: string, fallback: ListenConfig): ListenConfig {
  if (value === undefined) return fallback;
  const o = r.object(value, path, ['host', 'port']);
  if (!o) return fallback;
  return {
    host: r.string(o.host, childPath(path, 'host')) ?? fallback.host,
    port: r.integer(o.port, childPath(path, 'port'), 0, 65535) ?? fallback.port,
  };
}

function readPolicyRef(
  r: Reader,
  value: unknown,
  path: string,
  name: string,
): PolicyRef | undefined {
  if (!isRecord(value)) return r.fail(path, 'must be a policy document or {file: path}');
  if ('file' in value) {
    const o = r.object(value, path, ['file']);
    const file = o && r.string(o.file, childPath(path, 'file'), { required: true });
    return file === undefined ? undefined : { name, file, path };
  }
  return { name, document: value, path };
}

/** A map of name -> document (or list of documents, named by index). */
function readPolicyMap(r: Reader, value: unknown, path: string, prefix: string): PolicyRef[] {
  if (value === undefined) return [];
  const out: PolicyRef[] = [];
  if (Array.isArray(value)) {
    value.forEach((doc, i) => {
      const ref = readPolicyRef(r, doc, childPath(path, i), `${prefix}[${i}]`);
      if (ref) out.push(ref);
    });
    return out;
  }
  if (!isRecord(value)) {
    r.fail(path, 'must be a mapping of policy name to policy document');
    return out;
  }
  for (const [name, doc] of Object.entries(value)) {
    const ref = readPolicyRef(r, doc, childPath(path, name), name);
    if (ref) out.push(ref);
  }
  return out;
}

function readTokenLocation(r: Reader, value: unknown, path: string): TokenLocation {
  if (value === undefined) return { kind: 'bearer' };
  const o = r.object(value, path, ['header', 'cookie']);
  const header = o && r.string(o.header, childPath(path, 'header'));
  const cookie = o && r.string(o.cookie, childPath(path, 'cookie'));
  if (header !== undefined && cookie !== undefined) {
    r.fail(path, 'give either header or cookie, not both');
  }
  if (cookie !== undefined) return { kind: 'cookie', name: cookie };
  if (header !== undefined && header.toLowerCase() !== 'authorization') {
    return { kind: 'header', name: header.toLowerCase() };
  }
  return { kind: 'bearer' };
}

function readRequiredClaims(
  r: Reader,
  value: unknown,
  path: string,
): Record<string, readonly string[] | null> {
  const out: Record<string, readonly string[] | null> = {};
  if (value === undefined) return out;
  if (Array.isArray(value)) {
    for (const name of r.stringList(value, path) ?? []) out[name] = null;
    return out;
  }
  if (!isRecord(value)) {
    r.fail(path, 'must be a list of claim names or a mapping of claim to value(s)');
    return out;
  }
  for (const [name, v] of Object.entries(value)) {
    const list = r.stringList(v, childPath(path, name), { required: true });
    if (list) out[name] = list;
  }
  return out;
}

function readSeconds(r: Reader, value: unknown, path: string, fallback: number): number {
  return r.integer(value, path, 0, 7 * 86_400) ?? fallback;
}

function readIssuerKeys(r: Reader, value: unknown, path: string): IssuerKeysConfig {
  const d = DEFAULT_ISSUER_KEYS;
  const o = r.object(value ?? {}, path, Object.keys(d)) ?? {};
  const at = (key: keyof IssuerKeysConfig) => childPath(path, key);
  return {
    maxAgeSeconds: readSeconds(r, o.maxAgeSeconds, at('maxAgeSeconds'), d.maxAgeSeconds),
    cooldownSeconds: readSeconds(r, o.cooldownSeconds, at('cooldownSeconds'), d.cooldownSeconds),
    staleSeconds: readSeconds(r, o.staleSeconds, at('staleSeconds'), d.staleSeconds),
    maxWaitMs: r.integer(o.maxWaitMs, at('maxWaitMs'), 0, 5000) ?? d.maxWaitMs,
    maxDocumentBytes:
      r.integer(o.maxDocumentBytes, at('maxDocumentBytes'), 1024, 16_777_216) ?? d.maxDocumentBytes,
    maxKeys: r.integer(o.maxKeys, at('maxKeys'), 1, 10_000) ?? d.maxKeys,
  };
}

function readIssuer(r: Reader, value: unknown, path: string): IssuerConfig | undefined {
  const o = r.object(value, path, [
    'issuer',
    'audiences',
    'jwksUri',
    'jwksFile',
    'hmacSecretEnv',
    'algorithms',
    'clockToleranceSeconds',
    'federatedPrincipals',
    'requiredClaims',
    'groupsClaim',
    'tagClaims',
    'token',
    'keys',
    'claimPatterns',
    'maxTokenLifetimeSeconds',
  ]);
  if (!o) return undefined;
  const at = (key: string) => childPath(path, key);
  const issuer = r.string(o.issuer, at('issuer'), { required: true });
  const audiences = r.stringList(o.audiences, at('audiences'), { required: true });
  const jwksUri = r.string(o.jwksUri, at('jwksUri'));
  const jwksFile = r.string(o.jwksFile, at('jwksFile'));
  const hmacSecretEnv = r.string(o.hmacSecretEnv, at('hmacSecretEnv'));
  if (jwksUri !== undefined && jwksFile !== undefined) {
    r.fail(at('jwksFile'), 'give either jwksUri or jwksFile, not both');
  }
  for (const [field, url] of [
    ['issuer', issuer],
    ['jwksUri', jwksUri],
  ] as const) {
    if (url !== undefined && !URL.canParse(url)) r.fail(at(field), 'must be a URL');
  }
  const algorithms = r.stringList(o.algorithms, at('algorithms')) ?? [...DEFAULT_ALGORITHMS];
  algorithms.forEach((alg, i) => {
    const hmac = (HMAC_ALGORITHMS as readonly string[]).includes(alg);
    if (hmac && hmacSecretEnv === undefined) {
      r.fail(childPath(at('algorithms'), i), `${alg} needs hmacSecretEnv naming the shared secret`);
    } else if (!hmac && !(DEFAULT_ALGORITHMS as readonly string[]).includes(alg)) {
      r.fail(
        childPath(at('algorithms'), i),
        `${alg} is not allowed; use ${DEFAULT_ALGORITHMS.join(', ')} (or HS* with hmacSecretEnv)`,
      );
    }
  });
  if (audiences?.length === 0) r.fail(at('audiences'), 'must not be empty');
  const tagClaims: Record<string, string> = {};
  if (o.tagClaims !== undefined) {
    if (!isRecord(o.tagClaims)) r.fail(at('tagClaims'), 'must map tag names to claim paths');
    for (const [tag, claim] of Object.entries(isRecord(o.tagClaims) ? o.tagClaims : {})) {
      const c = r.string(claim, childPath(at('tagClaims'), tag), { required: true });
      if (c !== undefined) tagClaims[tag] = c;
    }
  }
  const claimPatterns: Record<string, string> = {};
  if (o.claimPatterns !== undefined) {
    if (!isRecord(o.claimPatterns)) r.fail(at('claimPatterns'), 'must map claim names to patterns');
    for (const [claim, pattern] of Object.entries(
      isRecord(o.claimPatterns) ? o.claimPatterns : {},
    )) {
      const p = childPath(at('claimPatterns'), claim);
      const text = r.string(pattern, p, { required: true });
      if (text === undefined) continue;
      if (!text.startsWith('^') || !text.endsWith('$')) {
        r.fail(p, 'must be anchored: start with ^ and end with $');
      } else {
        try {
          new RegExp(text, 'u');
          claimPatterns[claim] = text;
        } catch (err) {
          r.fail(p, `is not a valid regular expression: ${(err as Error).message}`);
        }
      }
    }
  }
  const keys = readIssuerKeys(r, o.keys, at('keys'));
  const groupsClaim = r.string(o.groupsClaim, at('groupsClaim'));
  const token = readTokenLocation(r, o.token, at('token'));
  const requiredClaims = readRequiredClaims(r, o.requiredClaims, at('requiredClaims'));
  if (issuer === undefined || audiences === undefined) return undefined;
  return {
    issuer,
    audiences,
    ...(jwksUri === undefined ? {} : { jwksUri }),
    ...(jwksFile === undefined ? {} : { jwksFile }),
    ...(hmacSecretEnv === undefined ? {} : { hmacSecretEnv }),
    algorithms,
    clockToleranceSeconds:
      r.integer(o.clockToleranceSeconds, at('clockToleranceSeconds'), 0, 600) ?? 30,
    federatedPrincipals: r.stringList(o.federatedPrincipals, at('federatedPrincipals')) ?? [],
    requiredClaims,
    ...(groupsClaim === undefined ? {} : { groupsClaim }),
    tagClaims,
    claimPatterns,
    token,
    keys,
    maxTokenLifetimeSeconds:
      r.integer(o.maxTokenLifetimeSeconds, at('maxTokenLifetimeSeconds'), 60, 31_536_000) ??
      DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  };
}

function readRole(r: Reader, value: unknown, path: string): RoleConfig | undefined {
  const o = r.object(value, path, [
    'name',
    'arn',
    'trustPolicy',
    'policies',
    'permissionsBoundary',
  ]);
  if (!o) return undefined;
  const name = r.string(o.name, childPath(path, 'name'), { required: true });
  if (name !== undefined && !/^[\w+=,.@-]{1,64}$/.test(name)) {
    r.fail(childPath(path, 'name'), 'must be 1-64 characters of letters, digits and +=,.@_-');
  }
  const arn = r.string(o.arn, childPath(path, 'arn'));
  if (arn !== undefined && !/^arn:[^:]+:iam:[^:]*:[^:]*:role\/.+$/.test(arn)) {
    r.fail(childPath(path, 'arn'), 'must be a role ARN, e.g. arn:aws:iam::123456789012:role/name');
  }
  if (o.trustPolicy === undefined) r.fail(childPath(path, 'trustPolicy'), 'is required');
  const trustPolicy =
    o.trustPolicy === undefined
      ? undefined
      : readPolicyRef(r, o.trustPolicy, childPath(path, 'trustPolicy'), `${name ?? '?'}/trust`);
  const policies = readPolicyMap(r, o.policies, childPath(path, 'policies'), 'policy');
  const boundary =
    o.permissionsBoundary === undefined
      ? undefined
      : readPolicyRef(
          r,
          o.permissionsBoundary,
          childPath(path, 'permissionsBoundary'),
          `${name ?? '?'}/boundary`,
        );
  if (name === undefined || trustPolicy === undefined) return undefined;
  return {
    name,
    arn: arn ?? `arn:rolegate:iam:::role/${name}`,
    trustPolicy,
    policies,
    ...(boundary === undefined ? {} : { permissionsBoundary: boundary }),
  };
}

function readRoute(r: Reader, value: unknown, path: string): RouteConfig | undefined {
  const o = r.object(value, path, ['method', 'path', 'action', 'resource', 'tags', 'credentials']);
  const credentials = r.oneOf(o?.credentials, childPath(path, 'credentials'), [
    'required',
    'optional',
  ]);
  if (!o) return undefined;
  const method = r.oneOf(
    typeof o.method === 'string' ? o.method.toUpperCase() : o.method,
    childPath(path, 'method'),
    HTTP_METHODS,
  );
  const routePath = r.string(o.path, childPath(path, 'path'), { required: true });
  if (routePath !== undefined && !routePath.startsWith('/')) {
    r.fail(childPath(path, 'path'), 'must start with /');
  }
  const action = r.string(o.action, childPath(path, 'action'), { required: true });
  if (action !== undefined && !/^[A-Za-z0-9_-]+:[A-Za-z0-9_*?-]+$/.test(action)) {
    r.fail(childPath(path, 'action'), 'must be of the form service:ActionName');
  }
  const resource = r.string(o.resource, childPath(path, 'resource'), { required: true });
  const tags: Record<string, string> = {};
  if (o.tags !== undefined) {
    const t = r.object(
      o.tags,
      childPath(path, 'tags'),
      Object.keys(isRecord(o.tags) ? o.tags : {}),
    );
    for (const [k, v] of Object.entries(t ?? {})) {
      const s = r.string(v, childPath(childPath(path, 'tags'), k), { required: true });
      if (s !== undefined) tags[k] = s;
    }
  }
  if (routePath === undefined || action === undefined || resource === undefined) return undefined;
  for (const p of routeTemplateProblems({ path: routePath, action, resource })) {
    r.fail(childPath(path, p.field), p.message);
  }
  return {
    method: method ?? '*',
    path: routePath,
    action,
    resource,
    tags,
    ...(credentials === undefined ? {} : { credentials }),
    jsonPath: path,
  };
}

/**
 * Validates a parsed configuration value. Returns the config, or the full
 * list of problems when there is any.
 */
export function validateConfig(
  value: unknown,
): { config: RolegateConfig; problems: [] } | { config?: undefined; problems: ConfigProblem[] } {
  const r = new Reader();
  const root = r.object(value, '$', TOP_LEVEL) ?? {};

  const server =
    r.object(root.server ?? {}, '$.server', [
      'grpc',
      'admin',
      'drainSeconds',
      'shutdownDelaySeconds',
    ]) ?? {};
  const issuers: IssuerConfig[] = [];
  (r.list(root.issuers, '$.issuers') ?? []).forEach((v, i) => {
    const issuer = readIssuer(r, v, `$.issuers[${i}]`);
    if (issuer === undefined) return;
    if (issuers.some((x) => x.issuer === issuer.issuer)) {
      r.fail(`$.issuers[${i}].issuer`, `duplicate issuer ${issuer.issuer}`);
    }
    issuers.push(issuer);
  });
  const roles: RoleConfig[] = [];
  (r.list(root.roles, '$.roles') ?? []).forEach((v, i) => {
    const role = readRole(r, v, `$.roles[${i}]`);
    if (role === undefined) return;
    if (roles.some((x) => x.name === role.name)) {
      r.fail(`$.roles[${i}].name`, `duplicate role name ${role.name}`);
    }
    roles.push(role);
  });
  const routes: RouteConfig[] = [];
  (r.list(root.routes, '$.routes') ?? []).forEach((v, i) => {
    const route = readRoute(r, v, `$.routes[${i}]`);
    if (route) routes.push(route);
  });
  const headers =
    r.object(root.headers ?? {}, '$.headers', ['requestedRole', 'claims', 'stripInbound']) ?? {};
  const stripInbound = r.stringList(headers.stripInbound, '$.headers.stripInbound');
  stripInbound?.forEach((name, i) => {
    if (!/^[a-z0-9-]+$/.test(name)) {
      r.fail(
        `$.headers.stripInbound[${i}]`,
        'header names must be lower-case letters, digits and -',
      );
    }
  });
  const claims: Record<string, string> = {};
  if (headers.claims !== undefined) {
    const c = isRecord(headers.claims)
      ? headers.claims
      : r.fail('$.headers.claims', 'must be a mapping');
    for (const [name, claim] of Object.entries(c ?? {})) {
      const p = childPath('$.headers.claims', name);
      if (!/^[a-z0-9-]+$/.test(name))
        r.fail(p, 'header names must be lower-case letters, digits and -');
      const s = r.string(claim, p, { required: true });
      if (s !== undefined) claims[name] = s;
    }
  }
  const tokens =
    r.object(root.tokens ?? {}, '$.tokens', ['maxBytes', 'cacheEntries', 'cacheMaxBytes']) ?? {};
  const audit = r.object(root.audit ?? {}, '$.audit', ['allowSampleRate', 'file']) ?? {};
  const auditFile = r.string(audit.file, '$.audit.file');
  let allowSampleRate = 1;
  if (audit.allowSampleRate !== undefined) {
    const v = audit.allowSampleRate;
    if (typeof v !== 'number' || v < 0 || v > 1) {
      r.fail('$.audit.allowSampleRate', 'must be a number from 0 to 1');
    } else allowSampleRate = v;
  }

  const aws = readAwsConfig(r, root.aws, '$.aws');
  const mtls = r.object(root.mtls ?? {}, '$.mtls', ['enabled', 'trustDomains']) ?? {};
  const config: RolegateConfig = {
    mtls: {
      enabled: r.boolean(mtls.enabled, '$.mtls.enabled') ?? false,
      trustDomains: r.stringList(mtls.trustDomains, '$.mtls.trustDomains') ?? [],
    },
    server: {
      grpc: readListen(r, server.grpc, '$.server.grpc', { host: '127.0.0.1', port: 9001 }),
      admin: readListen(r, server.admin, '$.server.admin', { host: '127.0.0.1', port: 9002 }),
      drainSeconds: r.integer(server.drainSeconds, '$.server.drainSeconds', 0, 300) ?? 10,
      shutdownDelaySeconds:
        r.integer(server.shutdownDelaySeconds, '$.server.shutdownDelaySeconds', 0, 300) ?? 3,
    },
    issuers,
    roles,
    guardrails: readPolicyMap(r, root.guardrails, '$.guardrails', 'guardrail'),
    routes,
    unmatchedRoutes:
      r.oneOf(root.unmatchedRoutes, '$.unmatchedRoutes', ['deny', 'default']) ?? 'deny',
    headers: {
      requestedRole:
        r.string(headers.requestedRole, '$.headers.requestedRole')?.toLowerCase() ??
        'x-rolegate-role',
      claims,
      stripInbound: stripInbound ?? [...DEFAULT_STRIP_INBOUND],
    },
    tokens: {
      maxBytes: r.integer(tokens.maxBytes, '$.tokens.maxBytes', 256, 1048576) ?? 16384,
      cacheEntries: r.integer(tokens.cacheEntries, '$.tokens.cacheEntries', 0, 10000000) ?? 10000,
      cacheMaxBytes:
        r.integer(tokens.cacheMaxBytes, '$.tokens.cacheMaxBytes', 0, 2 ** 40) ??
        DEFAULT_TOKEN_CACHE_MAX_BYTES,
    },
    audit: { allowSampleRate, ...(auditFile !== undefined ? { file: auditFile } : {}) },
    ...(aws === undefined ? {} : { aws }),
  };
  return r.problems.length === 0 ? { config, problems: [] } : { problems: r.problems };
}
