/**
 * The `aws` configuration section: where rolegate's own AWS clients point,
 * which IAM roles to load, and how upstream credentials are minted. Each
 * default is written once, in the schema. rolegate's own AWS credentials
 * are deliberately NOT configurable here: they always come from the SDK's
 * default provider chain.
 */
import { z } from 'zod';
import {
  always,
  bool,
  fields,
  fraction,
  int,
  oneOf,
  problem,
  section,
  stringMap,
  text,
  url,
} from '../options/fields.js';

const HEADER_NAME = /^[a-z0-9-]+$/;

const headerName = (fallback: string) =>
  text()
    .transform((s) => s.toLowerCase())
    .refine((s) => HEADER_NAME.test(s), { error: 'header names must be letters, digits and -' })
    .default(fallback);

/** Header names that carry upstream credentials: all under the owned `x-rolegate-` prefix by default. */
export const credentialHeadersSchema = fields({
  accessKeyId: headerName('x-rolegate-aws-access-key-id'),
  secretAccessKey: headerName('x-rolegate-aws-secret-access-key'),
  sessionToken: headerName('x-rolegate-aws-session-token'),
  expiration: headerName('x-rolegate-aws-expiration').describe('Expiration as ISO 8601.'),
})
  .superRefine((h, ctx) => {
    const names = Object.values(h).filter((v) => typeof v === 'string');
    if (names.length === 4 && new Set(names).size !== 4)
      problem(ctx, [], 'header names must differ');
  }, always)
  .prefault({} as never);

/** Header names that carry upstream credentials; defaults in {@link credentialHeadersSchema}. */
export type AwsCredentialHeaders = z.output<typeof credentialHeadersSchema>;

/** Default credential header names, taken from {@link credentialHeadersSchema}. */
export const DEFAULT_CREDENTIAL_HEADERS: AwsCredentialHeaders = Object.freeze(
  credentialHeadersSchema.parse({}),
);

/** `aws.iam.fleet`: replicas share one IAM reader through PostgreSQL. */
const awsIamFleetSchema = fields({
  urlEnv: text()
    .default('ROLEGATE_ACCESS_DATABASE_URL')
    .describe(
      'Environment variable holding the PostgreSQL URL (never in the file); the same database as the access store by default. Default ROLEGATE_ACCESS_DATABASE_URL.',
    ),
  leaseSeconds: int(2, 600)
    .default(15)
    .describe(
      'How long the reader holds its lease without renewing it (renewed every third of it): when the reader dies, another replica reads IAM within leaseSeconds * 4/3. Default 15.',
    ),
  replica: text()
    .optional()
    .describe(
      'This replica in metrics, logs and GET /config (the lease holder). Default: <hostname>/<pid>.',
    ),
});

/** `aws.iam.fleet` options; defaults in the schema. */
export type AwsIamFleetConfig = z.output<typeof awsIamFleetSchema>;

/** `aws.iam`: which IAM roles rolegate loads, and how often. */
export const awsIamSchema = fields({
  pathPrefix: text()
    .refine((p) => p.startsWith('/') && p.endsWith('/'), { error: 'must start and end with /' })
    .default('/')
    .describe('ListRoles PathPrefix; / is every role.'),
  tags: stringMap()
    .default({})
    .describe('Only roles carrying every one of these tags (exact values); empty = no filter.'),
  refreshSeconds: int(1, 86_400).default(300).describe('Seconds between syncs.'),
  jitter: fraction()
    .default(0.1)
    .describe('Each wait is stretched by up to this fraction at random.'),
  roleArnAsName: bool().default(false).describe('Name IAM roles by ARN instead of RoleName.'),
  requestTimeoutMs: int(100, 300_000)
    .default(10_000)
    .describe(
      'Timeout of each IAM API request of a sync (ms); a request past it fails the sync (retried with backoff, reported by rolegate_iam_syncs_total and ERR_IAM_SYNC), so a hanging IAM endpoint never stalls syncs silently.',
    ),
  fleet: awsIamFleetSchema
    .optional()
    .describe(
      'Replicas elect one IAM reader through PostgreSQL and share its snapshot (LISTEN/NOTIFY); each still compiles it. Absent: every replica reads IAM itself. See docs/fleet.md.',
    ),
});

/** `aws.iam` options; defaults in {@link awsIamSchema}. */
export type AwsIamConfig = z.output<typeof awsIamSchema>;

const STS_TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;

/** `aws.sts`: how upstream credentials are minted with STS. */
export const awsStsSchema = section({
  durationSeconds: int(900, 43_200).default(3600).describe('DurationSeconds of each session.'),
  headers: credentialHeadersSchema,
  sessionTags: stringMap()
    .superRefine((tags, ctx) => {
      const keys = Object.keys(tags);
      // STS rejects other keys; catching it here beats a deny at request time.
      for (const key of keys) {
        if (!STS_TAG_KEY.test(key)) problem(ctx, [key], 'is not a valid STS tag key');
      }
      if (keys.length > 50) problem(ctx, [], 'STS accepts at most 50 session tags');
    }, always)
    .default({})
    .describe('AssumeRole session tag key -> claim path (dots for nesting).'),
  webIdentity: oneOf(['auto', 'never'])
    .default('auto')
    .describe(
      "auto: AssumeRoleWithWebIdentity with the caller's token when the IAM role trusts the token's issuer; never: always AssumeRole.",
    ),
  timeoutMs: int(50, 30_000)
    .default(500)
    .describe(
      "Longest a Check waits for STS (ms, SDK retries included); past it a credentials route is denied with ERR_STS_FAILED (an optional one goes on without credentials). Keep it well below Envoy's ext_authz timeout.",
    ),
  cacheEntries: int(1, 1_000_000)
    .default(1000)
    .describe(
      'Cached credential sets (per role and subject) for the whole rolegate serve; with server.workers N each worker holds its share (the bound / N).',
    ),
  cacheMaxBytes: int(65_536, 2 ** 34)
    .default(8_388_608)
    .describe(
      'Credential cache bound in estimated bytes (a set is about 1-2 KB) for the whole rolegate serve, split between server.workers like cacheEntries.',
    ),
});

/** `aws.sts` options; defaults in {@link awsStsSchema}. */
export type AwsStsConfig = z.output<typeof awsStsSchema>;

/** Default `aws.sts.cacheMaxBytes`, taken from {@link awsStsSchema}. */
export const DEFAULT_STS_CACHE_MAX_BYTES: number = awsStsSchema.parse({}).cacheMaxBytes;

/** Default `aws.sts.timeoutMs`, taken from {@link awsStsSchema}. */
export const DEFAULT_STS_TIMEOUT_MS: number = awsStsSchema.parse({}).timeoutMs;

const OWN_CREDENTIALS =
  "rolegate's own AWS credentials come from the SDK default provider chain (environment, web identity, container, instance), never from the config";

/** The `aws` section: IAM as a role source and STS credentials for upstreams; see docs/aws.md. */
export const awsSchema = fields({
  region: text()
    .optional()
    .describe("Region for the SDK clients. Default: the SDK's (AWS_REGION, profile)."),
  endpoint: url().optional().describe("Endpoint override for IAM and STS. Default: the SDK's."),
  iam: awsIamSchema.optional().describe('Load roles from IAM; absent = file roles only.'),
  sts: awsStsSchema,
  // A tempting mistake; keys in a config file are exactly what this design avoids.
  credentials: z.never({ error: OWN_CREDENTIALS }).optional().describe(OWN_CREDENTIALS),
}).transform(({ credentials: _never, ...aws }) => aws);

/** The `aws` options; defaults in {@link awsSchema}. */
export type AwsConfig = z.output<typeof awsSchema>;

/** Every header name that carries credentials and so must never arrive from a client. */
export function credentialHeaderNames(aws: AwsConfig | undefined): readonly string[] {
  // Asked on every Check: computed once per configuration's `aws` section (never mutated).
  if (aws === undefined) return (defaultNames ??= headerNames(undefined));
  let names = namesByConfig.get(aws);
  if (names === undefined) namesByConfig.set(aws, (names = headerNames(aws)));
  return names;
}

let defaultNames: readonly string[] | undefined;
const namesByConfig = new WeakMap<AwsConfig, readonly string[]>();

function headerNames(aws: AwsConfig | undefined): readonly string[] {
  const names = new Set(Object.values(DEFAULT_CREDENTIAL_HEADERS));
  for (const n of Object.values(aws?.sts.headers ?? {})) names.add(n);
  return Object.freeze([...names]);
}
