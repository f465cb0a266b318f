/**
 * The one place a route's catalog tags join its request: a route with a
 * Backstage `entity` gets `aws:ResourceTag/owner`, `system` and `lifecycle`
 * from the catalog's last good read, before any policy reads a tag. No
 * tags to decide with (no read yet, a stale read, an entity the catalog
 * does not hold, no catalog at all) is a refusal with its code: fail closed.
 */
import type { CatalogLookup, CatalogRefusal } from '../catalog/snapshot.js';
import type { RouteMatch } from '../route/table.js';

/** The route with its catalog tags, or why it has none. */
export type CatalogTagged =
  | { readonly ok: true; readonly route: RouteMatch }
  | { readonly ok: false; readonly code: CatalogRefusal; readonly detail: string };

/** `route` as policies read it: its own tags plus, with an entity, the entity's. */
export function withCatalogTags(
  route: RouteMatch,
  catalog: CatalogLookup | undefined,
  nowMs: number,
): CatalogTagged {
  if (route.entity === undefined) return { ok: true, route };
  if (catalog === undefined) {
    return { ok: false, code: 'ERR_CATALOG_UNAVAILABLE', detail: 'no catalog source is running' };
  }
  const answer = catalog.tagsFor(route.entity, nowMs);
  if (!answer.ok) return answer;
  // Config validation keeps owner/system/lifecycle out of a route's own tags when it has an entity.
  return { ok: true, route: { ...route, tags: { ...route.tags, ...answer.tags } } };
}
