/**
 * The identity module's options: `issuers` (JWT/OIDC issuers and their key
 * fetching), `tokens` (size and verified-token cache bounds) and `mtls`.
 * Each default is written once, in the schema (`.default(...)`), and the
 * generated `schema/rolegate.schema.json` shows it to editors.
 */
import { z } from 'zod';
import {
  always,
  bool,
  fields,
  int,
  list,
  problem,
  section,
  stringList,
  stringMap,
  text,
  url,
} from '../options/fields.js';
import { tokenLocationSchema } from '../request/options.js';

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

/** HMAC algorithms: accepted only for an issuer with a configured secret. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;

/**
 * What a claim substituted into a policy may hold by default: the characters
 * IAM allows in names plus `:` (Kubernetes subjects), 1 to 256 of them. No
 * `/` (it would open a path below the one the policy meant), no `*`, `?`,
 * `$`, braces, blanks or controls.
 */
export const DEFAULT_VARIABLE_CLAIM_PATTERN = '^[A-Za-z0-9_+=,.@:-]{1,256}$';

const seconds = () => int(0, 7 * 86_400);

/** `issuers[].keys`: how an issuer's signing keys are fetched and cached. */
export const issuerKeysSchema = section({
  maxAgeSeconds: seconds()
    .default(600)
    .describe('Keys younger than this are used without refetching.'),
  cooldownSeconds: seconds()
    .default(30)
    .describe('Minimum seconds between two fetches (unknown kid, failed refresh).'),
  staleSeconds: seconds()
    .default(3600)
    .describe('After maxAgeSeconds, how long cached keys keep serving while refreshing fails.'),
  maxWaitMs: int(0, 5000)
    .default(250)
    .describe(
      "Longest a Check waits for a key fetch (ms); the fetch goes on in the background. Keep it well below Envoy's ext_authz timeout, so a hanging issuer turns into a 401 (ERR_JWKS_UNAVAILABLE), never an Envoy timeout.",
    ),
  maxDocumentBytes: int(1024, 16_777_216)
    .default(262_144)
    .describe('Largest accepted discovery or JWKS document; a larger one is a failed fetch.'),
  maxKeys: int(1, 10_000)
    .default(100)
    .describe('Most keys accepted in one JWKS document; more is a failed fetch.'),
});

/** `issuers[].keys` options; defaults in {@link issuerKeysSchema}. */
export type IssuerKeysConfig = z.output<typeof issuerKeysSchema>;

/** The `issuers[].keys` defaults, taken from {@link issuerKeysSchema}. */
export const DEFAULT_ISSUER_KEYS: IssuerKeysConfig = Object.freeze(issuerKeysSchema.parse({}));

const requiredClaimsSchema = z
  .union(
    [
      z
        .array(text())
        .transform(
          (names) =>
            Object.fromEntries(names.map((n) => [n, null])) as Record<
              string,
              readonly string[] | null
            >,
        ),
      z.record(
        z.string(),
        stringList()
          .refine((l) => l.length > 0, { error: 'must not be empty' })
          .transform((l): readonly string[] | null => l),
      ),
    ],
    { error: 'must be a list of claim names or a mapping of claim to value(s)' },
  )
  .default({});

const claimPatternsSchema = z
  .record(
    z.string(),
    text()
      .refine((s) => s.startsWith('^') && s.endsWith('$'), {
        error: 'must be anchored: start with ^ and end with $',
      })
      .superRefine((s, ctx) => {
        try {
          new RegExp(s, 'u');
        } catch (err) {
          problem(ctx, [], `is not a valid regular expression: ${(err as Error).message}`);
        }
      }),
    { error: 'must map claim names to patterns' },
  )
  .default({});

const ALLOWED = `use ${DEFAULT_ALGORITHMS.join(', ')} (or HS* with hmacSecretEnv)`;

/** One entry of `issuers`. */
export const issuerSchema = fields({
  issuer: url().describe('Exact iss value.'),
  audiences: stringList()
    .refine((l) => l.length > 0, { error: 'must not be empty' })
    .describe('Accepted aud values (at least one).'),
  jwksUri: url()
    .optional()
    .describe('JWKS URL; when absent (and no jwksFile), found through OpenID discovery.'),
  jwksFile: text()
    .optional()
    .describe('JWKS document file, relative to the config file; read at (re)load, never fetched.'),
  hmacSecretEnv: text()
    .optional()
    .describe('Environment variable holding an HMAC secret; only then may algorithms list HS*.'),
  algorithms: stringList()
    .default([...DEFAULT_ALGORITHMS])
    .describe(
      'Allowed JWS algorithms: RS*, PS*, ES*, EdDSA; HS* only with hmacSecretEnv; never none.',
    ),
  clockToleranceSeconds: int(0, 600)
    .default(30)
    .describe('Leeway for exp, nbf and iat in seconds.'),
  federatedPrincipals: stringList()
    .default([])
    .describe(
      'Extra Principal.Federated names this issuer answers to in trust policies, e.g. an IAM OIDC provider ARN. The issuer URL, with and without https://, always matches.',
    ),
  requiredClaims: requiredClaimsSchema.describe(
    'Claims that must be present; with values, the claim must equal one of them.',
  ),
  groupsClaim: text()
    .optional()
    .describe('Claim path (dots for nesting, e.g. realm_access.roles) exposed as rolegate:groups.'),
  tagClaims: stringMap('must map tag names to claim paths')
    .default({})
    .describe('Principal tag -> claim path, exposed as aws:PrincipalTag/<tag>.'),
  token: tokenLocationSchema,
  keys: issuerKeysSchema,
  claimPatterns: claimPatternsSchema.describe(
    'Claim name -> anchored regular expression its value must match whenever a policy substitutes it as a variable; other claims get ' +
      DEFAULT_VARIABLE_CLAIM_PATTERN +
      '. A value that does not match denies (ERR_CLAIM_VARIABLE_UNSAFE).',
  ),
  maxTokenLifetimeSeconds: int(60, 31_536_000)
    .default(86_400)
    .describe(
      "Longest accepted token lifetime: exp - iat, or exp - now without iat (plus the clock tolerance). The default (24 h, like Envoy jwt_authn's max_lifetime) admits EKS IRSA and Kubernetes projected tokens while refusing a stolen key's week-long tokens.",
    ),
}).superRefine((o, ctx) => {
  // Runs on partly invalid input too: a field that is not a non-empty string counts as absent.
  const given = (v: unknown): v is string => typeof v === 'string' && v !== '';
  if (given(o.jwksUri) && given(o.jwksFile)) {
    problem(ctx, ['jwksFile'], 'give either jwksUri or jwksFile, not both');
  }
  const audiences: unknown = o.audiences;
  if (Array.isArray(audiences) && !audiences.some(given)) {
    problem(ctx, ['audiences'], 'must not be empty');
  }
  const algorithms: unknown = o.algorithms;
  if (!Array.isArray(algorithms)) return;
  algorithms.forEach((alg: unknown, i) => {
    if (!given(alg)) return;
    const hmac = (HMAC_ALGORITHMS as readonly string[]).includes(alg);
    if (hmac && !given(o.hmacSecretEnv)) {
      problem(ctx, ['algorithms', i], `${alg} needs hmacSecretEnv naming the shared secret`);
    } else if (!hmac && !(DEFAULT_ALGORITHMS as readonly string[]).includes(alg)) {
      problem(ctx, ['algorithms', i], `${alg} is not allowed; ${ALLOWED}`);
    }
  });
}, always);

/** One issuer's options; defaults in {@link issuerSchema}. */
export type IssuerConfig = z.output<typeof issuerSchema>;

/** The `issuers` list: each `issuer` at most once. */
export const issuersSchema = list(issuerSchema)
  .superRefine((issuers, ctx) => {
    const seen = new Set<string>();
    if (!Array.isArray(issuers)) return;
    issuers.forEach((v: unknown, i) => {
      const issuer = (v as { issuer?: unknown } | undefined)?.issuer;
      if (typeof issuer !== 'string') return;
      if (seen.has(issuer)) problem(ctx, [i, 'issuer'], `duplicate issuer ${issuer}`);
      seen.add(issuer);
    });
  }, always)
  .default([]);

/** The `tokens` section: token size and the verified-token cache. */
export const tokensSchema = section({
  maxBytes: int(256, 1_048_576).default(16_384).describe('Largest accepted token in bytes.'),
  cacheEntries: int(0, 10_000_000)
    .default(10_000)
    .describe(
      'Verified-token cache entries for the whole rolegate serve; with server.workers N each worker holds its share (the bound / N, the remainder one each to the first workers); 0 disables the cache.',
    ),
  cacheMaxBytes: int(0, 2 ** 40)
    .default(67_108_864)
    .describe(
      'Verified-token cache bound in estimated bytes (JSON length of each principal plus overhead) for the whole rolegate serve, split between server.workers like cacheEntries; least recently used entries are evicted; 0 disables the cache.',
    ),
});

/** `tokens` options; defaults in {@link tokensSchema}. */
export type TokensConfig = z.output<typeof tokensSchema>;

/** Default `tokens.cacheMaxBytes`, taken from {@link tokensSchema}. */
export const DEFAULT_TOKEN_CACHE_MAX_BYTES: number = tokensSchema.parse({}).cacheMaxBytes;

/** The `mtls` section: mTLS peers (SPIFFE IDs) as principals when a request carries no token. */
export const mtlsSchema = section({
  enabled: bool().default(false).describe('Use the peer principal when no token is sent.'),
  trustDomains: stringList()
    .default([])
    .describe('Accepted SPIFFE trust domains (spiffe://<domain>/...); empty = any.'),
});

/** `mtls` options; defaults in {@link mtlsSchema}. */
export type MtlsConfig = z.output<typeof mtlsSchema>;

/** Default `issuers[].maxTokenLifetimeSeconds`, taken from {@link issuerSchema}. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS: number =
  issuerSchema.shape.maxTokenLifetimeSeconds.parse(undefined);
