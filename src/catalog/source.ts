/**
 * The catalog source: one read of the whole catalog per `sync()`, the last
 * good snapshot kept when a read fails, and the lookup Check reads from
 * memory (never waiting on the catalog). The timer that calls `sync()`
 * lives in the composition (serve/catalog.ts), not here.
 */
import { errorCodeOf, type ErrorCode } from '../errors.js';
import { readAllEntities, type PageReader } from './read.js';
import {
  lookupTags,
  snapshotOf,
  type CatalogLookup,
  type CatalogSnapshot,
  type TagsAnswer,
} from './snapshot.js';

/** The outcome of one sync. */
export type SyncResult =
  | { readonly ok: true; readonly entities: number; readonly skipped: number }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

/** What the source reports (times in epoch ms). */
export interface CatalogStatus {
  /** Entities in the last good snapshot (0 before one). */
  readonly entities: number;
  readonly lastSuccessAt?: number;
  readonly lastFailureAt?: number;
  /** The code of the last failed read, cleared by a success. */
  readonly lastError?: ErrorCode;
}

/** What {@link createCatalogSource} needs. */
export interface CatalogSourceOptions {
  readonly readPage: PageReader;
  readonly pageSize: number;
  readonly maxEntities: number;
  readonly staleAfterSeconds: number;
  readonly now: () => number;
}

/** The live catalog. */
export interface CatalogSource extends CatalogLookup {
  /** Reads the catalog once; resolves (never rejects) with what happened. */
  sync(): Promise<SyncResult>;
  status(): CatalogStatus;
  /** The last good snapshot, if any. */
  snapshot(): CatalogSnapshot | undefined;
}

/** A source with no snapshot until its first successful `sync()`. */
export function createCatalogSource(options: CatalogSourceOptions): CatalogSource {
  let snapshot: CatalogSnapshot | undefined;
  let status: CatalogStatus = { entities: 0 };
  let running: Promise<SyncResult> | undefined;
  const once = async (): Promise<SyncResult> => {
    // The copy is as old as its first page: staleness counts from the read's start.
    const startedAt = options.now();
    try {
      const items = await readAllEntities(options.readPage, options);
      const read = snapshotOf(items, startedAt);
      snapshot = read.snapshot;
      status = { entities: snapshot.entities.size, lastSuccessAt: snapshot.syncedAt };
      return { ok: true, entities: snapshot.entities.size, skipped: read.skipped };
    } catch (err) {
      const code = errorCodeOf(err);
      status = {
        entities: snapshot?.entities.size ?? 0,
        ...(snapshot === undefined ? {} : { lastSuccessAt: snapshot.syncedAt }),
        lastFailureAt: options.now(),
        lastError: code,
      };
      return { ok: false, code, message: err instanceof Error ? err.message : String(err) };
    }
  };
  return {
    // One read at a time: a slow catalog never piles reads up behind the timer.
    sync: () => (running ??= once().finally(() => (running = undefined))),
    status: () => status,
    snapshot: () => snapshot,
    tagsFor: (entity, nowMs): TagsAnswer =>
      lookupTags(snapshot, entity, nowMs, options.staleAfterSeconds * 1000),
  };
}
