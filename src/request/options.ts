/**
 * The request module's options: where an issuer's token travels
 * (`issuers[].token`) and the `headers` section (requested role, claim
 * headers for the upstream, inbound headers stripped). Each default is
 * written once, in the schema, and also appears in `schema/rolegate.schema.json`.
 */
import { z } from 'zod';
import { always, fields, problem, section, stringList, text } from '../options/fields.js';

/** Method-override headers some frameworks honour; stripped from allowed requests by default. */
export const DEFAULT_STRIP_INBOUND = [
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
] as const;

const HEADER_NAME = /^[a-z0-9-]+$/;
const HEADER_NAME_MESSAGE = 'header names must be lower-case letters, digits and -';

/** Where an issuer's tokens travel. Default: `Authorization: Bearer <token>`. */
export type TokenLocation =
  | { readonly kind: 'bearer' }
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string };

/**
 * `issuers[].token`: `{ header: name }` or `{ cookie: name }`; absent (or
 * `header: authorization`) means `Authorization: Bearer`.
 */
export const tokenLocationSchema = fields({
  header: text().optional().describe('Header holding the bare token (lower-cased).'),
  cookie: text().optional().describe('Cookie holding the token.'),
})
  .superRefine((o, ctx) => {
    if (o.header !== undefined && o.cookie !== undefined) {
      problem(ctx, [], 'give either header or cookie, not both');
    }
  }, always)
  .transform((o): TokenLocation => {
    if (o.cookie !== undefined) return { kind: 'cookie', name: o.cookie };
    if (o.header !== undefined && o.header.toLowerCase() !== 'authorization') {
      return { kind: 'header', name: o.header.toLowerCase() };
    }
    return { kind: 'bearer' };
  })
  .prefault({})
  .describe(
    'Where the token is: { header: name } or { cookie: name }. Default: Authorization: Bearer.',
  );

/** The `headers` section. */
export const headersSchema = section({
  requestedRole: text()
    .transform((s) => s.toLowerCase())
    .default('x-rolegate-role')
    .describe('Header that asks for one specific role.'),
  claims: z
    .record(z.string(), text(), { error: 'must be a mapping' })
    .superRefine((claims, ctx) => {
      for (const name of Object.keys(isObject(claims) ? claims : {})) {
        if (!HEADER_NAME.test(name)) problem(ctx, [name], HEADER_NAME_MESSAGE);
      }
    }, always)
    .default({})
    .describe('Upstream header name -> claim path (dots for nesting), e.g. x-user-email: email.'),
  stripInbound: stringList()
    .superRefine((names, ctx) => {
      (Array.isArray(names) ? names : []).forEach((name: unknown, i) => {
        if (typeof name === 'string' && !HEADER_NAME.test(name)) {
          problem(ctx, [i], HEADER_NAME_MESSAGE);
        }
      });
    }, always)
    .default([...DEFAULT_STRIP_INBOUND])
    .describe(
      'Inbound headers removed before an allowed request reaches the upstream: by default the method-override headers, since the decision is about the real method.',
    ),
});

function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

/** The `headers` options; defaults in {@link headersSchema}. */
export type HeadersConfig = z.output<typeof headersSchema>;
