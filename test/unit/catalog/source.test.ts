/**
 * The catalog source with our own page reader (the real Backstage catalog is
 * in integrations/backstage/test/catalog.test.ts): paging, the entity
 * bound, the last good copy through failures, staleness, on a frozen clock.
 */
import { describe, expect, it } from '@jest/globals';
import { RolegateError } from '../../../src/errors.js';
import { readAllEntities, type CatalogPage, type PageReader } from '../../../src/catalog/read.js';
import { createCatalogSource } from '../../../src/catalog/source.js';
import {
  entityEntry,
  lookupTags,
  snapshotOf,
  type CatalogItem,
} from '../../../src/catalog/snapshot.js';

const component = (name: string, owner = 'payments', namespace = 'default'): CatalogItem => ({
  kind: 'Component',
  metadata: { namespace, name },
  spec: { owner, system: 'payments', lifecycle: 'production' },
});

/** A catalog of `items` served in pages; records every (cursor, limit) asked for. */
function pagedReader(items: readonly CatalogItem[]) {
  const asked: [string | undefined, number][] = [];
  const read: PageReader = (cursor, limit) => {
    asked.push([cursor, limit]);
    const from = cursor === undefined ? 0 : Number(cursor.slice(1));
    const page: CatalogPage = {
      items: items.slice(from, from + limit),
      ...(from + limit < items.length ? { nextCursor: `c${from + limit}` } : {}),
    };
    return Promise.resolve(page);
  };
  return { read, asked };
}

const many = (n: number) => Array.from({ length: n }, (_, i) => component(`svc-${i}`));

describe('readAllEntities', () => {
  it('follows cursors until the last page, asking pageSize at a time', async () => {
    const { read, asked } = pagedReader(many(5));
    const items = await readAllEntities(read, { pageSize: 2, maxEntities: 10 });
    expect(items).toHaveLength(5);
    expect(asked).toEqual([
      [undefined, 2],
      ['c2', 2],
      ['c4', 2],
    ]);
  });

  it('refuses a catalog over maxEntities without reading further (ERR_CATALOG_TOO_LARGE)', async () => {
    const { read, asked } = pagedReader(many(7));
    await expect(readAllEntities(read, { pageSize: 2, maxEntities: 3 })).rejects.toMatchObject({
      code: 'ERR_CATALOG_TOO_LARGE',
    });
    expect(asked).toHaveLength(2);
  });

  it('refuses at once when the catalog counts more than maxEntities', async () => {
    const read: PageReader = () =>
      Promise.resolve({ items: many(1), totalItems: 50, nextCursor: 'x' });
    await expect(readAllEntities(read, { pageSize: 1, maxEntities: 10 })).rejects.toMatchObject({
      code: 'ERR_CATALOG_TOO_LARGE',
    });
  });

  it('refuses a page past maxEntities before holding it (a 16 MiB page can carry millions)', async () => {
    // More than one call's arguments can spread: a page this long was a RangeError (ERR_INTERNAL).
    const huge = new Array<CatalogItem>(2_000_000).fill(component('same'));
    const read: PageReader = () => Promise.resolve({ items: huge });
    await expect(readAllEntities(read, { pageSize: 500, maxEntities: 10 })).rejects.toMatchObject({
      code: 'ERR_CATALOG_TOO_LARGE',
    });
  });

  it('refuses a cursor it has followed before (ERR_CATALOG_READ)', async () => {
    const read: PageReader = () => Promise.resolve({ items: many(1), nextCursor: 'same' });
    await expect(readAllEntities(read, { pageSize: 1, maxEntities: 10 })).rejects.toMatchObject({
      code: 'ERR_CATALOG_READ',
    });
  });
});

describe('entityEntry', () => {
  it('normalises the ref and the owner (default kind group, the entity’s namespace)', () => {
    expect(entityEntry(component('Payments-API', 'Payments', 'EU'))).toEqual([
      'component:eu/payments-api',
      { owner: 'group:eu/payments', system: 'payments', lifecycle: 'production' },
    ]);
    expect(entityEntry({ kind: 'Group', metadata: { name: 'payments' } })).toEqual([
      'group:default/payments',
      {},
    ]);
  });

  it('leaves out an item with no kind or name, and an owner that is not a ref', () => {
    expect(entityEntry({ metadata: { name: 'x' } })).toBeUndefined();
    expect(entityEntry({ kind: 'Component', metadata: {} })).toBeUndefined();
    expect(entityEntry(component('x', 'not a ref'))?.[1]).not.toHaveProperty('owner');
    // Backstage does not trim spec.owner: ' payments ' names a group no one is in.
    expect(entityEntry(component('x', ' payments '))?.[1]).not.toHaveProperty('owner');
  });
});

describe('snapshotOf', () => {
  it('holds no tags for a ref the catalog lists twice with different tags (never the last one read)', () => {
    // Backstage holds one entity per ref (compared without case); two answers are no answer.
    const { snapshot, skipped } = snapshotOf(
      [
        component('payments-api', 'payments'),
        component('ledger'),
        component('Payments-API', 'intruders'),
        component('ledger'),
      ],
      0,
    );
    expect(snapshot.entities.has('component:default/payments-api')).toBe(false);
    expect(snapshot.entities.get('component:default/ledger')).toEqual({
      owner: 'group:default/payments',
      system: 'payments',
      lifecycle: 'production',
    });
    expect(skipped).toBe(3);
  });
});

describe('the catalog source', () => {
  const STALE_AFTER_S = 600;

  /** A source on a frozen clock whose reader the test switches between a catalog and a failure. */
  function fixture() {
    const clock = { ms: 1_000_000 };
    let behaviour: { items: CatalogItem[] } | { fail: RolegateError } = {
      items: [component('payments-api')],
    };
    const source = createCatalogSource({
      readPage: () =>
        'fail' in behaviour
          ? Promise.reject(behaviour.fail)
          : Promise.resolve({ items: behaviour.items }),
      pageSize: 500,
      maxEntities: 100,
      staleAfterSeconds: STALE_AFTER_S,
      now: () => clock.ms,
    });
    return {
      clock,
      source,
      serve: (items: CatalogItem[]) => (behaviour = { items }),
      fail: (code: 'ERR_CATALOG_READ' | 'ERR_CATALOG_TOO_LARGE') =>
        (behaviour = { fail: new RolegateError(code, 'catalog answered 502') }),
    };
  }
  const REF = 'component:default/payments-api';

  it('is unavailable before its first good read, even after a failed one', async () => {
    const f = fixture();
    expect(f.source.tagsFor(REF, f.clock.ms)).toMatchObject({
      ok: false,
      code: 'ERR_CATALOG_UNAVAILABLE',
    });
    f.fail('ERR_CATALOG_READ');
    expect(await f.source.sync()).toMatchObject({ ok: false, code: 'ERR_CATALOG_READ' });
    expect(f.source.tagsFor(REF, f.clock.ms)).toMatchObject({
      ok: false,
      code: 'ERR_CATALOG_UNAVAILABLE',
    });
    expect(f.source.status()).toEqual({
      entities: 0,
      lastFailureAt: f.clock.ms,
      lastError: 'ERR_CATALOG_READ',
    });
  });

  it('serves the last good copy through failures until staleAfterSeconds, then refuses', async () => {
    const f = fixture();
    expect(await f.source.sync()).toEqual({ ok: true, entities: 1, skipped: 0 });
    const syncedAt = f.clock.ms;
    f.fail('ERR_CATALOG_TOO_LARGE');
    f.clock.ms += 300_000;
    expect(await f.source.sync()).toMatchObject({ ok: false, code: 'ERR_CATALOG_TOO_LARGE' });
    expect(f.source.tagsFor(REF, f.clock.ms)).toEqual({
      ok: true,
      tags: { owner: 'group:default/payments', system: 'payments', lifecycle: 'production' },
    });
    expect(f.source.status()).toMatchObject({
      entities: 1,
      lastSuccessAt: syncedAt,
      lastError: 'ERR_CATALOG_TOO_LARGE',
    });
    // Exactly at the bound: still served; one millisecond past it: stale.
    expect(f.source.tagsFor(REF, syncedAt + STALE_AFTER_S * 1000).ok).toBe(true);
    expect(f.source.tagsFor(REF, syncedAt + STALE_AFTER_S * 1000 + 1)).toMatchObject({
      ok: false,
      code: 'ERR_CATALOG_STALE',
    });
  });

  it('takes a changed owner from the next good read, and refuses an entity it does not hold', async () => {
    const f = fixture();
    await f.source.sync();
    f.serve([component('payments-api', 'group:default/finance')]);
    f.clock.ms += 1000;
    await f.source.sync();
    expect(f.source.tagsFor(REF, f.clock.ms)).toMatchObject({
      ok: true,
      tags: { owner: 'group:default/finance' },
    });
    expect(f.source.tagsFor('component:default/ledger', f.clock.ms)).toMatchObject({
      ok: false,
      code: 'ERR_CATALOG_ENTITY_UNKNOWN',
    });
  });

  it('counts the staleness of a read from its start: its first page is that old', async () => {
    const clock = { ms: 1_000_000 };
    const started = clock.ms;
    const source = createCatalogSource({
      readPage: (cursor) => {
        clock.ms += 200_000; // a slow catalog: each page takes 200 s
        return Promise.resolve(
          cursor === undefined
            ? { items: [component('payments-api')], nextCursor: 'next' }
            : { items: [component('ledger')] },
        );
      },
      pageSize: 1,
      maxEntities: 10,
      staleAfterSeconds: STALE_AFTER_S,
      now: () => clock.ms,
    });
    expect(await source.sync()).toMatchObject({ ok: true, entities: 2 });
    expect(source.status().lastSuccessAt).toBe(started);
    expect(source.tagsFor(REF, started + STALE_AFTER_S * 1000).ok).toBe(true);
    expect(source.tagsFor(REF, started + STALE_AFTER_S * 1000 + 1)).toMatchObject({
      ok: false,
      code: 'ERR_CATALOG_STALE',
    });
  });

  it('runs one read at a time', async () => {
    const f = fixture();
    const [a, b] = [f.source.sync(), f.source.sync()];
    expect(a).toBe(b);
    await a;
  });
});

describe('lookupTags', () => {
  it('says why, for the operator', () => {
    expect(lookupTags(undefined, 'component:default/x', 0, 1000)).toEqual({
      ok: false,
      code: 'ERR_CATALOG_UNAVAILABLE',
      detail: 'no successful catalog read yet',
    });
    const snapshot = { entities: new Map(), syncedAt: 0 };
    expect(lookupTags(snapshot, 'component:default/x', 5000, 1000)).toEqual({
      ok: false,
      code: 'ERR_CATALOG_STALE',
      detail: 'last good catalog read 5 s ago, bound 1 s',
    });
  });
});
