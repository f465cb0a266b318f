/**
 * The access module's options: the `access` section (just-in-time access
 * requests, approvals and grants). Each default is written once, in the
 * schema. Off by default: without `access.enabled` no store is opened and
 * no grant ever widens a decision.
 */
import { z } from 'zod';
import { bool, fields, int, oneOf, section, text, url } from '../options/fields.js';

/** Per-role just-in-time settings, keyed by role name. */
const roleAccessSchema = fields({
  maxGrantSeconds: int(60, 604_800)
    .default(3600)
    .describe('Longest grant a request for this role may ask for, in seconds. Default 3600.'),
  approvals: int(1, 10)
    .optional()
    .describe(
      'Distinct approvals a request needs (never the requester). Default: access.approvals.',
    ),
  breakGlass: fields({
    maxSeconds: int(60, 86_400)
      .default(900)
      .describe('Longest break-glass grant, in seconds. Default 900.'),
  })
    .optional()
    .describe(
      'Allow self-approval with a mandatory reason and a short maximum; always notified and flagged in the audit. Default: no break-glass.',
    ),
});

/** One webhook (`access.webhooks[]`). */
const webhookSchema = fields({
  url: url().describe('Where lifecycle events are POSTed.'),
  format: oneOf(['json', 'slack'] as const)
    .default('json')
    .describe(
      'json (default): the audit record as JSON; slack: a Slack-compatible {text} message (with approve and deny buttons on requested events when access.slack is set).',
    ),
  secretEnv: text()
    .optional()
    .describe(
      'Environment variable holding the HMAC secret that signs each delivery (x-rolegate-signature). Default: unsigned.',
    ),
  events: z
    .array(oneOf(['requested', 'approved', 'denied', 'revoked', 'expired'] as const))
    .optional()
    .describe('Only these events (break-glass events are always sent). Default: all.'),
  maxAttempts: int(1, 20).default(5).describe('Deliveries tried per event. Default 5.'),
  backoffMs: int(10, 600_000)
    .default(1000)
    .describe('First retry delay in ms, doubled each retry, with jitter. Default 1000.'),
  timeoutMs: int(100, 60_000).default(5000).describe('Per-attempt timeout in ms. Default 5000.'),
});

/** True for an http(s) URL whose host is a loopback name (development without TLS). */
const isLoopbackUrl = (u: URL) => ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);

/** Sign-in for the approvals page: OpenID Connect authorization code with PKCE. */
const signInSchema = fields({
  issuer: url().describe('The OpenID provider people sign in with; must be one of issuers[].'),
  clientId: text().describe(
    'The client id registered with the issuer (its ID tokens name it as aud).',
  ),
  clientSecretEnv: text()
    .optional()
    .describe(
      'Environment variable holding the client secret of a confidential client (never in the file). Default: a public client (PKCE only).',
    ),
  externalUrl: url()
    .refine((s) => /^https?:$/.test(new URL(s).protocol) && new URL(s).pathname === '/', {
      error: 'must be an http(s) origin (scheme://host[:port], no path)',
    })
    .refine((s) => new URL(s).protocol === 'https:' || isLoopbackUrl(new URL(s)), {
      error: 'must be https (plain http only for 127.0.0.1, localhost or [::1])',
    })
    .optional()
    .describe(
      'The origin browsers reach the access listener at; the redirect URI is <externalUrl>/signin/callback (register it with the issuer), and https makes the session cookie Secure and __Host-. Default: the Host the browser used, accepted only on loopback (development: a plain http cookie).',
    ),
  scopes: z
    .array(text())
    .default(['openid'])
    .describe('Scopes asked for (openid always included). Default [openid].'),
  sessionSeconds: int(60, 86_400)
    .default(28_800)
    .describe(
      'Longest a page session lasts, in seconds; never longer than the access token it carries. Default 28800.',
    ),
});

/** One Slack user an approval button may be clicked by (`access.slack.users.<id>`). */
const slackUserSchema = fields({
  issuer: url().describe('The issuer (one of issuers[]) of the identity the Slack user acts as.'),
  subject: text().describe('The subject (sub) the Slack user acts as.'),
  groups: z
    .array(text())
    .default([])
    .describe(
      'The groups the Slack user acts with (rolegate:groups, jwt:<groupsClaim>). Default none.',
    ),
});

/** Slack approvals: the interactive callback and the identities it maps Slack users to. */
const slackSchema = fields({
  signingSecretEnv: text().describe(
    "Environment variable holding the Slack app's signing secret (never in the file); every callback must be signed with it.",
  ),
  toleranceSeconds: int(30, 900)
    .default(300)
    .describe(
      'Replay window: a callback whose timestamp is further from now is refused, and one seen within it is refused as a replay. Default 300.',
    ),
  users: z
    .record(
      z.string().regex(/^[UW][A-Z0-9]{2,31}$/, { error: 'must be a Slack user id (U... or W...)' }),
      slackUserSchema,
    )
    .default({})
    .describe(
      'Slack user id -> the identity (issuer, subject, groups) whose policies decide their clicks. Trusted operator config: whoever is listed acts as that identity. Default none (every click refused).',
    ),
});

/** True when the runtime knows `zone` as an IANA time zone. */
function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The `access` section. */
export const accessSchema = section({
  enabled: bool().default(false).describe('Serve the access API and honour grants. Default false.'),
  store: fields({
    kind: oneOf(['sqlite', 'postgres'] as const)
      .default('sqlite')
      .describe('Embedded file store (node:sqlite) or PostgreSQL for replicas. Default sqlite.'),
    file: text()
      .default('rolegate-access.db')
      .describe(
        'The sqlite file, relative to the config file; created on first start. Default rolegate-access.db.',
      ),
    urlEnv: text()
      .default('ROLEGATE_ACCESS_DATABASE_URL')
      .describe(
        'Environment variable holding the PostgreSQL URL (never in the file). Default ROLEGATE_ACCESS_DATABASE_URL.',
      ),
  })
    .prefault({})
    .describe('Where requests and grants are kept.'),
  listen: fields({
    host: text().default('127.0.0.1'),
    port: int(0, 65_535).default(9004),
  })
    .prefault({})
    .describe('The access API and approvals page listener. Default 127.0.0.1:9004.'),
  approvals: int(1, 10)
    .default(1)
    .describe('Distinct approvals a request needs, unless its role says otherwise. Default 1.'),
  refreshMs: int(50, 60_000)
    .default(500)
    .describe(
      'How often the grant cache is refreshed from the store when no notification arrives, in ms; keep it well under stalenessSeconds. Default 500.',
    ),
  stalenessSeconds: int(1, 3600)
    .default(10)
    .describe(
      'How long known grants are honoured while the store is unreachable; then grant-based access is denied (static roles are unaffected). Default 10.',
    ),
  csrfRotateSeconds: int(60, 604_800)
    .default(43_200)
    .describe(
      'How often the approvals page CSRF key (kept in the store, shared by every worker and replica) rotates, in seconds; a form works until the end of the period after the one it was loaded in. Default 43200.',
    ),
  origins: z
    .array(url())
    .default([])
    .describe(
      'Origins (scheme://host[:port]) the approvals page and API are reached at, for a proxy in front that does not pass the Host header through; a browser call whose Origin matches neither the Host header nor one of these is refused. Default: none (Host only).',
    ),
  signIn: signInSchema
    .optional()
    .describe(
      'Sign-in for the approvals page (/signin, /logout) with a server-side session; see docs/access.md. Default: off (a proxy in front signs people in).',
    ),
  slack: slackSchema
    .optional()
    .describe(
      'Approve and deny buttons in format: slack webhook messages, taken at POST /slack/interactions on the access listener; see docs/access.md. Default: off.',
    ),
  timeZone: text()
    .refine(validTimeZone, { error: 'an IANA time zone such as Europe/Berlin, or UTC' })
    .default('UTC')
    .describe(
      'IANA time zone of rolegate:MinuteOfDay and rolegate:DayOfWeek (business hours in approval rules). Default UTC.',
    ),
  onCall: fields({
    groups: z
      .array(text())
      .default([])
      .describe("A requester in one of these groups (the token's groups claim) is on call."),
    file: text()
      .optional()
      .describe(
        'A JSON file (relative to the config file) holding the subjects on call now: ["alice", ...] or {"subjects": [...]}; re-read when it changes, at most 1 MiB; unreadable = nobody on call.',
      ),
  })
    .prefault({})
    .describe('Who is on call (rolegate:OnCall), for approval rules. Default: nobody.'),
  revokeUnusedAfterSeconds: int(60, 31_536_000)
    .optional()
    .describe(
      'Revoke an active grant no Check used for this long (from its last use, else its start), with an audit record. Default: never.',
    ),
  usageFlushSeconds: int(1, 3600)
    .default(10)
    .describe(
      'How often each process adds the Checks allowed under grants to their use counts in the store (reviews). Default 10.',
    ),
  webhooks: z
    .array(webhookSchema)
    .default([])
    .describe('Notified of every lifecycle event, with retries; see docs/access.md.'),
  roles: z
    .record(z.string(), roleAccessSchema)
    .default({})
    .describe('Role name -> just-in-time settings. Only roles listed here can be requested.'),
});

/** `access` options; defaults in {@link accessSchema}. */
export type AccessConfig = z.output<typeof accessSchema>;

/** One webhook; defaults in the schema. */
export type WebhookConfig = AccessConfig['webhooks'][number];

/** One role's just-in-time settings. */
export type RoleAccessConfig = AccessConfig['roles'][string];

/** `access.slack`; defaults in the schema. */
export type SlackConfig = NonNullable<AccessConfig['slack']>;

/** One Slack user's mapped identity. */
export type SlackUserConfig = SlackConfig['users'][string];

/** `access.signIn`; defaults in the schema. */
export type SignInConfig = NonNullable<AccessConfig['signIn']>;
