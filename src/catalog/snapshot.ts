/**
 * The catalog as rolegate holds it: one immutable snapshot per successful
 * read (entity ref -> its ownership tags), and the one lookup every route
 * with an `entity` goes through. Pure: the clock arrives as an argument.
 */
import { formatEntityRef, normaliseEntityRef, OWNER_KIND, parseEntityRef } from './entity-ref.js';

/** The tags an entity gives a route: `aws:ResourceTag/owner`, `system`, `lifecycle` (those it has). */
export type EntityTags = Readonly<Partial<Record<'owner' | 'system' | 'lifecycle', string>>>;

/** One successful read of the catalog. */
export interface CatalogSnapshot {
  /** Normalised `kind:namespace/name` -> tags. */
  readonly entities: ReadonlyMap<string, EntityTags>;
  /** Epoch ms the read completed. */
  readonly syncedAt: number;
}

/** Why a route's entity has no tags to decide with; each is a deny (fail closed). */
export type CatalogRefusal =
  'ERR_CATALOG_UNAVAILABLE' | 'ERR_CATALOG_STALE' | 'ERR_CATALOG_ENTITY_UNKNOWN';

/** The answer for one entity. */
export type TagsAnswer =
  | { readonly ok: true; readonly tags: EntityTags }
  | { readonly ok: false; readonly code: CatalogRefusal; readonly detail: string };

/** What Check and the reach endpoint ask of the catalog. */
export interface CatalogLookup {
  /** The tags of `entity` (a normalised ref) as of the last good read, unless that read is too old. */
  tagsFor(entity: string, nowMs: number): TagsAnswer;
}

/** One entity as the catalog API returns it with the fields rolegate asks for. */
export interface CatalogItem {
  readonly kind?: unknown;
  readonly metadata?: { readonly namespace?: unknown; readonly name?: unknown };
  readonly spec?: {
    readonly owner?: unknown;
    readonly system?: unknown;
    readonly lifecycle?: unknown;
  };
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

/**
 * The ref and tags of one item, or undefined for an item that is not an
 * entity rolegate can name (no kind or name). The owner becomes a full
 * ref (default kind `group`, default namespace the entity's own, as
 * Backstage resolves `spec.owner`); system and lifecycle are kept as written.
 */
export function entityEntry(item: CatalogItem): [string, EntityTags] | undefined {
  const kind = item.kind;
  const name = item.metadata?.name;
  const namespace = item.metadata?.namespace;
  if (!nonEmpty(kind) || !nonEmpty(name)) return undefined;
  const parsed = parseEntityRef(`${kind}:${nonEmpty(namespace) ? namespace : 'default'}/${name}`, {
    kind: 'component',
  });
  if (!parsed.ok) return undefined;
  const tags: Record<string, string> = {};
  const spec = item.spec ?? {};
  if (nonEmpty(spec.owner)) {
    // Untrimmed, as Backstage resolves it: ' team-a ' is not team-a there, so not here.
    const owner = normaliseEntityRef(spec.owner, {
      kind: OWNER_KIND,
      namespace: parsed.ref.namespace,
    });
    // An owner Backstage itself could not resolve names no one: no tag, so no owner statement matches.
    if (owner !== undefined) tags['owner'] = owner;
  }
  if (nonEmpty(spec.system)) tags['system'] = spec.system.trim();
  if (nonEmpty(spec.lifecycle)) tags['lifecycle'] = spec.lifecycle.trim();
  return [formatEntityRef(parsed.ref), tags];
}

const sameTags = (a: EntityTags, b: EntityTags) =>
  a.owner === b.owner && a.system === b.system && a.lifecycle === b.lifecycle;

/**
 * A snapshot of `items`, read at `syncedAt`; items without a usable ref are
 * left out and counted, and so is a ref listed twice with different tags
 * (Backstage holds one entity per ref: which copy is right is unknown, so
 * neither decides and its routes deny). A repeat with the same tags counts
 * once.
 */
export function snapshotOf(
  items: readonly CatalogItem[],
  syncedAt: number,
): { snapshot: CatalogSnapshot; skipped: number } {
  const entities = new Map<string, EntityTags>();
  const conflicting = new Set<string>();
  let skipped = 0;
  for (const item of items) {
    const entry = entityEntry(item);
    if (entry === undefined) {
      skipped++;
      continue;
    }
    const [ref, tags] = entry;
    const held = entities.get(ref);
    if (conflicting.has(ref)) skipped++;
    else if (held === undefined) entities.set(ref, tags);
    else if (sameTags(held, tags)) skipped++;
    else {
      // Both copies leave: the one held and this one.
      entities.delete(ref);
      conflicting.add(ref);
      skipped += 2;
    }
  }
  return { snapshot: { entities, syncedAt }, skipped };
}

/**
 * The tags of `entity` from `snapshot` at `nowMs`: refused before the first
 * good read, once that read is older than `staleAfterMs`, and for an entity
 * the catalog does not hold. `detail` is for the operator (never the client).
 */
export function lookupTags(
  snapshot: CatalogSnapshot | undefined,
  entity: string,
  nowMs: number,
  staleAfterMs: number,
): TagsAnswer {
  if (snapshot === undefined) {
    return { ok: false, code: 'ERR_CATALOG_UNAVAILABLE', detail: 'no successful catalog read yet' };
  }
  const age = nowMs - snapshot.syncedAt;
  if (age > staleAfterMs) {
    return {
      ok: false,
      code: 'ERR_CATALOG_STALE',
      detail: `last good catalog read ${Math.round(age / 1000)} s ago, bound ${staleAfterMs / 1000} s`,
    };
  }
  const tags = snapshot.entities.get(entity);
  if (tags === undefined) {
    return {
      ok: false,
      code: 'ERR_CATALOG_ENTITY_UNKNOWN',
      detail: `${entity} is not among the ${snapshot.entities.size} entities of the last read`,
    };
  }
  return { ok: true, tags };
}
