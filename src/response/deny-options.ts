/**
 * The response module's options: `deny`, how a deny looks to the client,
 * globally and per route (`routes[].deny`, field by field over the global
 * one). Every field is optional; absent, a deny is rolegate's fixed JSON
 * body with the catalogue status. Templates are checked at load: only the
 * safe fields `{{decision_id}}`, `{{status}}` and `{{message}}` exist, and
 * each is escaped for the body's format. Nothing about the policy, the
 * caller or the token can ever appear.
 */
import { z } from 'zod';
import { always, fields, list, oneOf, problem, stringMap, text } from '../options/fields.js';

/** The placeholders a deny body template may use. */
export const DENY_TEMPLATE_FIELDS = ['decision_id', 'status', 'message'] as const;

const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;

/** The placeholders of `template` that are not {@link DENY_TEMPLATE_FIELDS}. */
export function unknownPlaceholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)]
    .map((m) => m[1] ?? '')
    .filter((name) => !(DENY_TEMPLATE_FIELDS as readonly string[]).includes(name));
}

/** Headers a deny sets itself; `deny.headers` may not name them. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'location',
  'www-authenticate',
  'transfer-encoding',
  'connection',
]);
const HEADER_NAME = /^[a-z0-9-]+$/;
/** Printable ASCII: a header value that cannot split a response. */
const SAFE_VALUE = /^[\x20-\x7e]{0,1024}$/;

const HOST = /^(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*$/;

/** One `deny` block (global or per route). */
export const denySchema = fields({
  status: z
    .union([z.literal(401), z.literal(403), z.literal(404)], {
      error: 'must be one of: 401, 403, 404',
    })
    .optional()
    .describe(
      'Status of every 401- and 403-class deny: 401, 403, or 404 to hide that the resource exists. Default: the catalogue status (400-class denies keep 400).',
    ),
  message: text()
    .refine((m) => SAFE_VALUE.test(m) && m.length <= 200, {
      error: 'printable ASCII, at most 200 characters',
    })
    .optional()
    .describe('User-facing message for {{message}}. Default: the fixed message of the status.'),
  body: fields({
    format: oneOf(['json', 'html']).describe('json (application/json) or html (text/html).'),
    template: text()
      .max(16_384, { error: 'at most 16384 characters' })
      .superRefine((t, ctx) => {
        if (typeof t !== 'string') return;
        for (const name of unknownPlaceholders(t)) {
          problem(
            ctx,
            [],
            `unknown placeholder {{${name}}}: only ${DENY_TEMPLATE_FIELDS.map((f) => `{{${f}}}`).join(', ')}`,
          );
        }
      })
      .describe('The body, with {{decision_id}}, {{status}} and {{message}} only.'),
  })
    .optional()
    .describe("The deny body. Default: rolegate's fixed JSON body."),
  headers: stringMap()
    .superRefine((h, ctx) => {
      for (const [name, value] of Object.entries(h as Record<string, unknown>)) {
        if (!HEADER_NAME.test(name)) problem(ctx, [name], 'lower-case letters, digits and -');
        else if (RESERVED_HEADERS.has(name) || name.startsWith('x-rolegate-')) {
          problem(ctx, [name], 'rolegate sets this header itself');
        } else if (typeof value === 'string' && !SAFE_VALUE.test(value)) {
          problem(ctx, [name], 'printable ASCII, at most 1024 characters');
        }
      }
    }, always)
    .optional()
    .describe('Extra headers on every deny. Default none.'),
  login: fields({
    url: text()
      .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), {
        error: 'must be an absolute http(s) URL',
      })
      .describe('Where a browser without a valid credential is sent (302).'),
    param: text()
      .regex(/^[A-Za-z0-9_.-]+$/, { error: 'letters, digits, _ . -' })
      .default('return_to')
      .describe('Query parameter carrying the original URL. Default return_to.'),
    allowedHosts: list(
      text()
        .transform((h) => h.toLowerCase())
        .refine((h) => HOST.test(h), { error: 'a host name, or *.domain' }),
    )
      .min(1, { error: 'list at least one host' })
      .describe(
        'Hosts whose URLs may be passed as the return address (*.example.com: any subdomain). Any other host gets the login URL without one.',
      ),
  })
    .optional()
    .describe(
      'For a 401 deny of a browser request (Accept: text/html): a 302 to this login URL instead. Default none.',
    ),
}).superRefine((o, ctx) => {
  if (o.login !== undefined && o.status === 404) {
    problem(ctx, ['login'], 'a login redirect and status 404 exclude each other');
  }
}, always);

/** One `deny` block; defaults in {@link denySchema}. */
export type DenyOptions = z.output<typeof denySchema>;
