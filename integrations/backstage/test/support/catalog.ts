/**
 * A real Backstage software catalog for the integration tests, started with
 * Backstage's own test utilities (`startTestBackend`): the real catalog
 * plugin (`@backstage/plugin-catalog-backend`: processing engine,
 * stitching, REST API), the real auth and HTTP auth services of
 * `@backstage/backend-defaults` (so the external-access static token is
 * checked the way a production backend checks it) and a real PostgreSQL
 * behind Backstage's database service (see `backstage.ts` for why not
 * SQLite).
 *
 * The entities come from a small entity provider module registered through
 * the catalog's `catalogProcessingExtensionPoint`: `setEntities` applies a
 * full mutation, as a real provider does after reading its source, and the
 * catalog processes and stitches it on its own schedule (processing
 * interval 1 s here). `waitFor` polls the REST API until the catalog serves
 * what a test expects, so a test never races the processing loop.
 *
 * Stopping the backend is a catalog outage: the port stops answering.
 */
import type { BackendFeature } from '@backstage/backend-plugin-api';
import { createBackendModule } from '@backstage/backend-plugin-api';
import { mockServices } from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import type { EntityProviderConnection } from '@backstage/plugin-catalog-node';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import type { JsonObject } from '@backstage/types';
// CommonJS package: its default export is the `default` of module.exports.
import catalogBackend from '@backstage/plugin-catalog-backend';
import { randomBytes } from 'node:crypto';
import type { PostgresPeer } from '../../../../test/harness/postgres.js';
import { startBedBackend } from './backstage.js';

export type { Entity } from '@backstage/catalog-model';

/** The subject Backstage records for calls made with the bed's static token. */
export const CATALOG_READER_SUBJECT = 'rolegate-catalog-reader';

/** Where the seeded entities say they come from (Backstage requires both location annotations). */
const SEED_LOCATION = 'rolegate-test:seed';

/** What the entity builders accept besides the name. */
export interface ComponentFields {
  readonly owner: string;
  readonly system?: string;
  readonly lifecycle?: string;
  readonly namespace?: string;
  /** Component type; default `service`. */
  readonly type?: string;
}

/** A `Component` entity as a catalog-info.yaml would declare it. */
export function componentEntity(name: string, fields: ComponentFields): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name,
      namespace: fields.namespace ?? 'default',
      annotations: {
        'backstage.io/managed-by-location': SEED_LOCATION,
        'backstage.io/managed-by-origin-location': SEED_LOCATION,
      },
    },
    spec: {
      type: fields.type ?? 'service',
      owner: fields.owner,
      lifecycle: fields.lifecycle ?? 'production',
      ...(fields.system === undefined ? {} : { system: fields.system }),
    },
  };
}

/** A `Group` entity (no members: ownership is by ref, the tokens carry `ent`). */
export function groupEntity(name: string, namespace = 'default'): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Group',
    metadata: {
      name,
      namespace,
      annotations: {
        'backstage.io/managed-by-location': SEED_LOCATION,
        'backstage.io/managed-by-origin-location': SEED_LOCATION,
      },
    },
    spec: { type: 'team', children: [] },
  };
}

/** `kind:namespace/name` of an entity, lower-cased as the catalog compares refs. */
export function entityRef(entity: Entity): string {
  const namespace = entity.metadata.namespace ?? 'default';
  return `${entity.kind}:${namespace}/${entity.metadata.name}`.toLowerCase();
}

/** A running catalog and what the tests ask of it. */
export interface CatalogBed {
  /** The backend's base URL, `http://localhost:PORT` (the catalog API is under `/api/catalog`). */
  readonly baseUrl: string;
  /** The external-access static token the backend accepts (give it to rolegate through `tokenEnv`). */
  readonly token: string;
  /** Replaces every entity the provider owns (a full mutation); the catalog processes it within seconds. */
  setEntities(entities: readonly Entity[]): Promise<void>;
  /** Polls `GET /api/catalog/entities` until `predicate` holds for what it serves; throws after `timeoutMs`. */
  waitFor(predicate: (entities: Entity[]) => boolean, timeoutMs?: number): Promise<Entity[]>;
  /** Stops the backend: the port stops answering (a catalog outage). */
  stop(): Promise<void>;
}

/** Options of {@link startCatalog}. */
export interface CatalogBedOptions {
  readonly database: PostgresPeer;
  /** The entities the provider applies at start. */
  readonly entities: readonly Entity[];
  /** The static token; default a fresh random one. */
  readonly token?: string;
  /** More app-config, merged over the bed's own at the top level. */
  readonly config?: JsonObject;
  /** More plugins or modules to run in the same backend. */
  readonly features?: readonly BackendFeature[];
}

/** The provider's side of the bed: the connection the catalog hands it, and the entities it applies. */
class SeedProvider {
  private connection: EntityProviderConnection | undefined;
  private entities: readonly Entity[];

  constructor(entities: readonly Entity[]) {
    this.entities = entities;
  }

  getProviderName(): string {
    return 'rolegate-test-seed';
  }

  async connect(connection: EntityProviderConnection): Promise<void> {
    this.connection = connection;
    await this.apply();
  }

  async replace(entities: readonly Entity[]): Promise<void> {
    this.entities = entities;
    if (this.connection === undefined) throw new Error('catalog bed: provider not connected yet');
    await this.apply();
  }

  private async apply(): Promise<void> {
    await this.connection?.applyMutation({
      type: 'full',
      entities: this.entities.map((entity) => ({ entity, locationKey: SEED_LOCATION })),
    });
  }
}

/** The module that registers `provider` with the catalog, as any entity provider module does. */
function seedModule(provider: SeedProvider): BackendFeature {
  return createBackendModule({
    pluginId: 'catalog',
    moduleId: 'rolegate-test-seed',
    register(env) {
      env.registerInit({
        deps: { catalog: catalogProcessingExtensionPoint },
        async init({ catalog }) {
          catalog.addEntityProvider(provider);
        },
      });
    },
  });
}

/** The app-config of the bed: PostgreSQL, a 1 s processing interval, the static token. */
function bedConfig(options: CatalogBedOptions, token: string): JsonObject {
  const db = new URL(options.database.url());
  return {
    backend: {
      database: {
        client: 'pg',
        connection: { host: db.hostname, port: Number(db.port), user: db.username },
        prefix: `bc_${randomBytes(4).toString('hex')}_`,
      },
      auth: {
        externalAccess: [
          {
            type: 'static',
            options: { token, subject: CATALOG_READER_SUBJECT },
            // The token opens the catalog and nothing else, as docs/backstage.md advises.
            accessRestrictions: [{ plugin: 'catalog' }],
          },
        ],
      },
    },
    catalog: { processingInterval: { seconds: 1 } },
    ...options.config,
  };
}

/** Starts the catalog on a free port, seeded with `options.entities`, and waits until it serves them. */
export async function startCatalog(options: CatalogBedOptions): Promise<CatalogBed> {
  const token = options.token ?? `rgcat-${randomBytes(18).toString('base64url')}`;
  const provider = new SeedProvider(options.entities);
  const rootConfig = mockServices.rootConfig({ data: bedConfig(options, token) });
  const { backend, baseUrl } = await startBedBackend(rootConfig, [
    catalogBackend.default,
    seedModule(provider),
    ...(options.features ?? []),
  ]);
  let stopped = false;
  const bed: CatalogBed = {
    baseUrl,
    token,
    setEntities: (entities) => provider.replace(entities),
    waitFor: (predicate, timeoutMs = 30_000) => pollCatalog(baseUrl, token, predicate, timeoutMs),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await backend.stop();
    },
  };
  const expected = new Set(options.entities.map(entityRef));
  await bed.waitFor(
    (served) => [...expected].every((ref) => served.some((e) => entityRef(e) === ref)),
    60_000,
  );
  return bed;
}

/** `GET /api/catalog/entities` with `token` until `predicate` holds. */
async function pollCatalog(
  baseUrl: string,
  token: string,
  predicate: (entities: Entity[]) => boolean,
  timeoutMs: number,
): Promise<Entity[]> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const res = await fetch(`${baseUrl}/api/catalog/entities`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const text = await res.text();
    if (res.ok) {
      const entities = JSON.parse(text) as Entity[];
      if (predicate(entities)) return entities;
      last = entities.map((e) => `${entityRef(e)} ${JSON.stringify(e.spec ?? {})}`).join('\n');
    } else {
      last = `${res.status} ${text}`;
    }
    if (Date.now() > deadline) {
      throw new Error(`catalog bed: not served within ${timeoutMs} ms; last answer:\n${last}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
