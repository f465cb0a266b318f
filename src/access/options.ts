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
      'json (default): the audit record as JSON; slack: a Slack-compatible {text} message.',
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
