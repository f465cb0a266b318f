/**
 * The catalog module's options: `catalog.backstage`, where resource
 * ownership comes from (docs/backstage.md, "Catalog ownership"). Each
 * default is written once, on its field.
 */
import type { z } from 'zod';
import { fields, int, text, url } from '../options/fields.js';

/**
 * A base URL the page reader can send the token to: http or https, and no
 * credentials, query or fragment (fetch refuses a URL with credentials with
 * an error that quotes it whole, and a query would ride on every request).
 */
function plainBaseUrl(text: string): boolean {
  if (!URL.canParse(text)) return true; // url() says what is wrong
  const u = new URL(text);
  return (
    (u.protocol === 'http:' || u.protocol === 'https:') &&
    u.username === '' &&
    u.password === '' &&
    u.search === '' &&
    !text.includes('?') &&
    !text.includes('#')
  );
}

/** `catalog.backstage`: Backstage's catalog API as the source of route tags. */
export const backstageCatalogSchema = fields({
  baseUrl: url()
    .refine(plainBaseUrl, {
      error: 'must be an http(s) URL without credentials, query or fragment',
    })
    .describe(
      "Backstage backend's base URL; entities are read from <baseUrl>/api/catalog/entities/by-query.",
    ),
  tokenEnv: text()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' })
    .describe(
      'Name of the environment variable holding the static token Backstage accepts (backend.auth.externalAccess type static); the token is never in the file and never logged.',
    ),
  refreshSeconds: int(1, 86_400)
    .default(60)
    .describe('Seconds between reads of the catalog. Default 60.'),
  staleAfterSeconds: int(1, 604_800)
    .default(600)
    .describe(
      'Routes with an entity are denied (ERR_CATALOG_STALE) once the last good read is older than this. Default 600.',
    ),
  maxEntities: int(1, 1_000_000)
    .default(10_000)
    .describe(
      'Most entities held; a catalog with more fails the read (ERR_CATALOG_TOO_LARGE) and the last good copy stays. Default 10000.',
    ),
  pageSize: int(1, 10_000).default(500).describe('Entities asked for per page. Default 500.'),
});

/** `catalog.backstage` as validated; defaults in {@link backstageCatalogSchema}. */
export type BackstageCatalogConfig = z.output<typeof backstageCatalogSchema>;

/** The `catalog` section: absent, or a source of entity ownership. */
export const catalogSchema = fields({
  backstage: backstageCatalogSchema
    .optional()
    .describe("Backstage's software catalog as the source of owner/system/lifecycle route tags."),
})
  .optional()
  .describe(
    'Where routes with an `entity` get their aws:ResourceTag/owner, system and lifecycle; see docs/backstage.md.',
  );

/** The `catalog` section as validated. */
export type CatalogConfig = z.output<typeof catalogSchema>;
