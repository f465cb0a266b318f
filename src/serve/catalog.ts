/**
 * Composition of the Backstage catalog source (`catalog.backstage`): the
 * page reader with the static token from the environment, the source that
 * keeps the last good copy, the refresh timer, its metrics, log lines,
 * `/readyz` lines and `/config` section. A reload that changes the section
 * starts a new source (the old copy is not carried over: another catalog
 * is another truth); one that removes it stops reading.
 *
 * With `server.workers` > 1, each worker composes its own (docs/workers.md):
 * every worker reads the catalog on its own timer and decides with its own
 * copy, so no copy is ever handed between processes; the cluster's
 * /metrics aggregates the workers' catalog series by their minimum (the
 * oldest copy and the smallest count), which is what a staleness alert
 * needs. The primary reads nothing and its /config shows the settings only.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { backstagePageReader } from '../catalog/backstage-api.js';
import type { BackstageCatalogConfig } from '../catalog/options.js';
import type { CatalogLookup, TagsAnswer } from '../catalog/snapshot.js';
import { createCatalogSource, type CatalogSource, type CatalogStatus } from '../catalog/source.js';
import { errorDocAnchor } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import { settledWithin } from '../settled-within.js';

/** Longest start-up wait for the first catalog read before serving (routes with an entity deny until it lands). */
export const STARTUP_CATALOG_WAIT_MS = 5_000;

/** What {@link createCatalogRuntime} needs. */
export interface CatalogRuntimeOptions {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly now: () => number;
  /** Reads one environment variable (the static token's). */
  readonly env: (name: string) => string | undefined;
}

/** The catalog as the rest of the process sees it. */
export interface CatalogRuntime {
  /** Stable across reconfigurations: reads the current source. */
  readonly lookup: CatalogLookup;
  /** Follows `config` (undefined: no catalog); resolves after the first read or a bounded wait. */
  configure(config: BackstageCatalogConfig | undefined): Promise<void>;
  /** Reads the catalog now; false without a catalog or on failure. */
  syncNow(): Promise<boolean>;
  /** The current source's state and settings, undefined without a catalog. */
  status(): (CatalogStatus & { readonly config: BackstageCatalogConfig }) | undefined;
  stop(): void;
}

/** The catalog metrics, registered on first use. */
interface CatalogMetrics {
  readonly entities: Gauge;
  readonly lastSync: Gauge;
  readonly failures: Counter<'code'>;
}

function catalogMetrics(registry: Registry): CatalogMetrics {
  return {
    entities: new Gauge({
      name: 'rolegate_catalog_entities',
      help: 'Entities held from the Backstage catalog (the last good read).',
      registers: [registry],
      aggregator: 'min',
    }),
    lastSync: new Gauge({
      name: 'rolegate_catalog_last_sync_success_timestamp_seconds',
      help: 'Time of the last successful read of the Backstage catalog (epoch seconds); routes with an entity deny once it is older than catalog.backstage.staleAfterSeconds.',
      registers: [registry],
      aggregator: 'min',
    }),
    failures: new Counter({
      name: 'rolegate_catalog_sync_failures_total',
      help: 'Failed reads of the Backstage catalog, by error code.',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
  };
}

const NO_CATALOG: TagsAnswer = {
  ok: false,
  code: 'ERR_CATALOG_UNAVAILABLE',
  detail: 'catalog.backstage is not configured',
};

/** The catalog runtime; reads nothing until `configure` is given a section. */
export function createCatalogRuntime(options: CatalogRuntimeOptions): CatalogRuntime {
  const { logger, now } = options;
  let metrics: CatalogMetrics | undefined;
  let current: { source: CatalogSource; config: BackstageCatalogConfig; key: string } | undefined;
  let timer: NodeJS.Timeout | undefined;
  // One "still failing" line per outage, not one per refresh.
  let failing = false;

  const sync = async (): Promise<boolean> => {
    const running = current;
    if (running === undefined) return false;
    const result = await running.source.sync();
    if (current !== running) return result.ok;
    const m = (metrics ??= catalogMetrics(options.registry));
    if (result.ok) {
      m.entities.set(result.entities);
      // The source's clock: a read counts from its start (its first page is that old).
      m.lastSync.set((running.source.status().lastSuccessAt ?? now()) / 1000);
      if (failing) logger.info({ entities: result.entities }, 'catalog read again');
      failing = false;
      return true;
    }
    m.failures.inc({ code: result.code });
    if (!failing) {
      logger.error(
        {
          code: result.code,
          help: errorDocAnchor(result.code),
          error: result.message,
          baseUrl: running.config.baseUrl,
          staleAfterSeconds: running.config.staleAfterSeconds,
        },
        'catalog read failed; the last good copy decides until staleAfterSeconds, then routes with an entity deny',
      );
    }
    failing = true;
    return false;
  };

  return {
    lookup: {
      tagsFor: (entity, nowMs) => current?.source.tagsFor(entity, nowMs) ?? NO_CATALOG,
    },
    async configure(config) {
      const key = JSON.stringify(config ?? null);
      if (key === (current?.key ?? 'null')) return;
      clearInterval(timer);
      timer = undefined;
      failing = false;
      if (config === undefined) {
        current = undefined;
        return;
      }
      const source = createCatalogSource({
        readPage: backstagePageReader({
          baseUrl: config.baseUrl,
          token: options.env(config.tokenEnv),
          tokenEnv: config.tokenEnv,
        }),
        pageSize: config.pageSize,
        maxEntities: config.maxEntities,
        staleAfterSeconds: config.staleAfterSeconds,
        now,
      });
      current = { source, config, key };
      metrics ??= catalogMetrics(options.registry);
      timer = setInterval(() => void sync(), config.refreshSeconds * 1000);
      timer.unref();
      await settledWithin(sync(), STARTUP_CATALOG_WAIT_MS);
    },
    syncNow: sync,
    status: () => current && { ...current.source.status(), config: current.config },
    stop() {
      clearInterval(timer);
      timer = undefined;
      current = undefined;
    },
  };
}

/** The /readyz line of the catalog (readiness itself does not depend on it: entity routes fail closed). */
export function catalogReadiness(runtime: CatalogRuntime, nowMs: number): string[] {
  const s = runtime.status();
  if (s === undefined) return [];
  if (s.lastSuccessAt === undefined) {
    return [`catalog: no successful read yet${s.lastError ? ` (${s.lastError})` : ''}`];
  }
  const age = Math.max(0, Math.round((nowMs - s.lastSuccessAt) / 1000));
  const stale = age > s.config.staleAfterSeconds ? ', STALE: routes with an entity deny' : '';
  const error = s.lastError === undefined ? '' : `, last read failed (${s.lastError})`;
  return [`catalog: ${s.entities} entities, read ${age} s ago${error}${stale}`];
}
