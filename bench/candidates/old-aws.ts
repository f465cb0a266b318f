/**
 * The `aws` section of the configuration file: where rolegate's own AWS
 * clients point, which IAM roles to load, and how upstream credentials are
 * minted. Read with the config's {@link Reader} so problems carry JSON paths.
 * rolegate's own AWS credentials are deliberately NOT configurable here:
 * they always come from the SDK's default provider chain.
 */
import { childPath, isRecord, type Reader } from './old-reader.js';

/** Header names that carry upstream credentials. */
export interface AwsCredentialHeaders {
  /** Default `x-rolegate-aws-access-key-id`. */
  readonly accessKeyId: string;
  /** Default `x-rolegate-aws-secret-access-key`. */
  readonly secretAccessKey: string;
  /** Default `x-rolegate-aws-session-token`. */
  readonly sessionToken: string;
  /** Expiration as ISO 8601. Default `x-rolegate-aws-expiration`. */
  readonly expiration: string;
}

/** Default credential header names: all under the owned `x-rolegate-` prefix. */
export const DEFAULT_CREDENTIAL_HEADERS: AwsCredentialHeaders = {
  accessKeyId: 'x-rolegate-aws-access-key-id',
  secretAccessKey: 'x-rolegate-aws-secret-access-key',
  sessionToken: 'x-rolegate-aws-session-token',
  expiration: 'x-rolegate-aws-expiration',
};

/** Which IAM roles rolegate loads, and how often. */
export interface AwsIamConfig {
  /** `ListRoles` `PathPrefix`. Default `/` (every role). */
  readonly pathPrefix: string;
  /** Only roles carrying every one of these tags (exact values). Default: no filter. */
  readonly tags: Readonly<Record<string, string>>;
  /** Seconds between syncs. Default 300. */
  readonly refreshSeconds: number;
  /** Each wait is stretched by up to this fraction at random. Default 0.1. */
  readonly jitter: number;
  /** Name IAM roles by ARN instead of `RoleName`. Default false. */
  readonly roleArnAsName: boolean;
}

/** How upstream credentials are minted with STS. */
export interface AwsStsConfig {
  /** `DurationSeconds` of each session, 900-43200. Default 3600. */
  readonly durationSeconds: number;
  /** Header names; defaults in {@link DEFAULT_CREDENTIAL_HEADERS}. */
  readonly headers: AwsCredentialHeaders;
  /** `AssumeRole` session tag key -> claim path (dots for nesting). Default none. */
  readonly sessionTags: Readonly<Record<string, string>>;
  /**
   * `auto` (default): `AssumeRoleWithWebIdentity` with the caller's token
   * when the IAM role trusts the token's issuer; `never`: always `AssumeRole`.
   */
  readonly webIdentity: 'auto' | 'never';
  /** Cached credential sets (per role and subject). Default 1000. */
  readonly cacheEntries: number;
  /**
   * Credential cache bound in estimated bytes (JSON length of each set plus
   * a fixed overhead; a set is about 1-2 KB). Default 8388608 (8 MiB).
   */
  readonly cacheMaxBytes: number;
}

/** Default `aws.sts.cacheMaxBytes`: 8 MiB. */
export const DEFAULT_STS_CACHE_MAX_BYTES = 8_388_608;

/** The `aws` configuration section. */
export interface AwsConfig {
  /** Region for the SDK clients. Default: the SDK's (AWS_REGION, profile). */
  readonly region?: string;
  /** Endpoint override for IAM and STS (moto in tests). Default: the SDK's. */
  readonly endpoint?: string;
  /** Load roles from IAM; absent = file roles only. */
  readonly iam?: AwsIamConfig;
  readonly sts: AwsStsConfig;
}

const HEADER_NAME = /^[a-z0-9-]+$/;

function readHeaders(r: Reader, value: unknown, path: string): AwsCredentialHeaders {
  if (value === undefined) return DEFAULT_CREDENTIAL_HEADERS;
  const o = r.object(value, path, Object.keys(DEFAULT_CREDENTIAL_HEADERS)) ?? {};
  const name = (key: keyof AwsCredentialHeaders): string => {
    const p = childPath(path, key);
    const v = r.string(o[key], p)?.toLowerCase();
    if (v !== undefined && !HEADER_NAME.test(v)) {
      r.fail(p, 'header names must be letters, digits and -');
    }
    return v ?? DEFAULT_CREDENTIAL_HEADERS[key];
  };
  const headers: AwsCredentialHeaders = {
    accessKeyId: name('accessKeyId'),
    secretAccessKey: name('secretAccessKey'),
    sessionToken: name('sessionToken'),
    expiration: name('expiration'),
  };
  if (new Set(Object.values(headers)).size !== 4) r.fail(path, 'header names must differ');
  return headers;
}

function readStringMap(r: Reader, value: unknown, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === undefined) return out;
  if (!isRecord(value)) {
    r.fail(path, 'must be a mapping');
    return out;
  }
  for (const [k, v] of Object.entries(value)) {
    const s = r.string(v, childPath(path, k), { required: true });
    if (s !== undefined) out[k] = s;
  }
  return out;
}

function readIam(r: Reader, value: unknown, path: string): AwsIamConfig | undefined {
  const o = r.object(value, path, [
    'pathPrefix',
    'tags',
    'refreshSeconds',
    'jitter',
    'roleArnAsName',
  ]);
  if (!o) return undefined;
  const pathPrefix = r.string(o.pathPrefix, childPath(path, 'pathPrefix')) ?? '/';
  if (!pathPrefix.startsWith('/') || !pathPrefix.endsWith('/')) {
    r.fail(childPath(path, 'pathPrefix'), 'must start and end with /');
  }
  let jitter = 0.1;
  if (o.jitter !== undefined) {
    if (typeof o.jitter !== 'number' || o.jitter < 0 || o.jitter > 1) {
      r.fail(childPath(path, 'jitter'), 'must be a number from 0 to 1');
    } else jitter = o.jitter;
  }
  return {
    pathPrefix,
    tags: readStringMap(r, o.tags, childPath(path, 'tags')),
    refreshSeconds:
      r.integer(o.refreshSeconds, childPath(path, 'refreshSeconds'), 1, 86_400) ?? 300,
    jitter,
    roleArnAsName: r.boolean(o.roleArnAsName, childPath(path, 'roleArnAsName')) ?? false,
  };
}

function readSts(r: Reader, value: unknown, path: string): AwsStsConfig {
  const o =
    r.object(value ?? {}, path, [
      'durationSeconds',
      'headers',
      'sessionTags',
      'webIdentity',
      'cacheEntries',
      'cacheMaxBytes',
    ]) ?? {};
  const sessionTags = readStringMap(r, o.sessionTags, childPath(path, 'sessionTags'));
  for (const key of Object.keys(sessionTags)) {
    // STS rejects other keys; catching it here beats a deny at request time.
    if (!/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u.test(key)) {
      r.fail(childPath(childPath(path, 'sessionTags'), key), 'is not a valid STS tag key');
    }
  }
  if (Object.keys(sessionTags).length > 50) {
    r.fail(childPath(path, 'sessionTags'), 'STS accepts at most 50 session tags');
  }
  return {
    durationSeconds:
      r.integer(o.durationSeconds, childPath(path, 'durationSeconds'), 900, 43_200) ?? 3600,
    headers: readHeaders(r, o.headers, childPath(path, 'headers')),
    sessionTags,
    webIdentity:
      r.oneOf(o.webIdentity, childPath(path, 'webIdentity'), ['auto', 'never']) ?? 'auto',
    cacheEntries: r.integer(o.cacheEntries, childPath(path, 'cacheEntries'), 1, 1_000_000) ?? 1000,
    cacheMaxBytes:
      r.integer(o.cacheMaxBytes, childPath(path, 'cacheMaxBytes'), 65_536, 2 ** 34) ??
      DEFAULT_STS_CACHE_MAX_BYTES,
  };
}

/** Reads the `aws` section; `undefined` when the config has none. */
export function readAwsConfig(r: Reader, value: unknown, path: string): AwsConfig | undefined {
  if (value === undefined) return undefined;
  const o = r.object(value, path, ['region', 'endpoint', 'iam', 'sts', 'credentials']);
  if (!o) return undefined;
  if (o.credentials !== undefined) {
    // A tempting mistake; keys in a config file are exactly what this design avoids.
    r.fail(
      childPath(path, 'credentials'),
      "rolegate's own AWS credentials come from the SDK default provider chain (environment, web identity, container, instance), never from the config",
    );
  }
  const region = r.string(o.region, childPath(path, 'region'));
  const endpoint = r.string(o.endpoint, childPath(path, 'endpoint'));
  if (endpoint !== undefined && !URL.canParse(endpoint)) {
    r.fail(childPath(path, 'endpoint'), 'must be a URL');
  }
  const iam = o.iam === undefined ? undefined : readIam(r, o.iam, childPath(path, 'iam'));
  return {
    ...(region === undefined ? {} : { region }),
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(iam === undefined ? {} : { iam }),
    sts: readSts(r, o.sts, childPath(path, 'sts')),
  };
}

/** Every header name that carries credentials and so must never arrive from a client. */
export function credentialHeaderNames(aws: AwsConfig | undefined): readonly string[] {
  const names = new Set(Object.values(DEFAULT_CREDENTIAL_HEADERS));
  for (const n of Object.values(aws?.sts.headers ?? {})) names.add(n);
  return [...names];
}
