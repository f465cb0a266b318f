/**
 * Reading every entity from Backstage's catalog API, page by page
 * (`GET /api/catalog/entities/by-query?limit&cursor&fields`), within
 * bounds: at most `maxEntities` entities, at most `maxBytes` per page,
 * each page within a timeout, and no cursor followed twice. The page
 * reader is a parameter, so the paging rules are tested without a server
 * (the integration test runs it against Backstage's real catalog).
 */
import { RolegateError } from '../errors.js';
import type { CatalogItem } from './snapshot.js';

/** One page of the catalog: its items and the cursor of the next page, if any. */
export interface CatalogPage {
  readonly items: readonly CatalogItem[];
  readonly nextCursor?: string;
  /** The catalog's count of every entity the query matches, when it says. */
  readonly totalItems?: number;
}

/** Reads the page at `cursor` (undefined: the first) of at most `limit` items. */
export type PageReader = (cursor: string | undefined, limit: number) => Promise<CatalogPage>;

/** The bounds of one read. */
export interface ReadBounds {
  readonly pageSize: number;
  readonly maxEntities: number;
}

/** The fields rolegate asks the catalog for: enough for a ref and the three tags. */
export const CATALOG_FIELDS =
  'kind,metadata.namespace,metadata.name,spec.owner,spec.system,spec.lifecycle';

const tooLarge = (bounds: ReadBounds, seen: number) =>
  new RolegateError(
    'ERR_CATALOG_TOO_LARGE',
    `the catalog holds more than catalog.backstage.maxEntities (${bounds.maxEntities}) entities (${seen} so far)`,
  );

/**
 * Every entity, following cursors until the catalog has no next page.
 * Rejects with `ERR_CATALOG_TOO_LARGE` past `maxEntities` (without reading
 * further), `ERR_CATALOG_READ` for a cursor that repeats, and whatever the
 * page reader rejects with.
 */
export async function readAllEntities(
  readPage: PageReader,
  bounds: ReadBounds,
): Promise<CatalogItem[]> {
  const items: CatalogItem[] = [];
  const cursors = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const page = await readPage(cursor, bounds.pageSize);
    if (page.totalItems !== undefined && page.totalItems > bounds.maxEntities) {
      throw tooLarge(bounds, page.totalItems);
    }
    // Checked before the page joins the rest (a page may hold more than was asked for).
    const seen = items.length + page.items.length;
    if (seen > bounds.maxEntities) throw tooLarge(bounds, seen);
    for (const item of page.items) items.push(item);
    if (page.nextCursor === undefined || page.items.length === 0) return items;
    if (cursors.has(page.nextCursor)) {
      throw new RolegateError(
        'ERR_CATALOG_READ',
        `the catalog returned a cursor it returned before, after ${items.length} entities`,
      );
    }
    cursors.add(page.nextCursor);
    cursor = page.nextCursor;
  }
}
