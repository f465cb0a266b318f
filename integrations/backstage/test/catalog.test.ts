/**
 * Catalog ownership as resource tags, end to end with real parts: Backstage's
 * real catalog backend (`@backstage/plugin-catalog-backend`, started by
 * `startTestBackend`, entities from a provider module) owns who owns
 * `payments-api`; Backstage's real auth backend signs alice (payments) and
 * bob (finance) in; a real `rolegate serve` reads the catalog with the
 * external-access static token (`catalog.backstage`, refresh 1 s, stale
 * after 6 s); a real Envoy asks it about every request. One owner-based
 * statement decides: the caller's `ent` must hold the entity's owner.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { EchoUpstream } from '../../../test/harness/echo-upstream.js';
import { EnvoyPeer } from '../../../test/harness/envoy.js';
import { PostgresPeer } from '../../../test/harness/postgres.js';
import { RolegateProcess } from '../../../test/support/rolegate-process.js';
import { webIdentityTrust } from '../../../test/support/fixtures.js';
import { startBackstage, type BackstageBed } from './support/backstage.js';
import {
  componentEntity,
  groupEntity,
  startCatalog,
  type CatalogBed,
  type Entity,
} from './support/catalog.js';
import {
  auditRecord,
  backstageRolegateConfig,
  FINANCE_GROUP,
  PAYMENTS_GROUP,
  type AuditRecord,
} from './support/rolegate.js';

const ALICE = {
  userEntityRef: 'user:default/alice',
  ownershipEntityRefs: ['user:default/alice', PAYMENTS_GROUP],
};
const BOB = {
  userEntityRef: 'user:default/bob',
  ownershipEntityRefs: ['user:default/bob', FINANCE_GROUP],
};
const TOKEN_ENV = 'ROLEGATE_TEST_CATALOG_TOKEN';
const STALE_AFTER_SECONDS = 6;

/** The owner written short, as catalog-info.yaml files often do: rolegate normalises it. */
const paymentsApi = (owner: string): Entity =>
  componentEntity('payments-api', { owner, system: 'payments', lifecycle: 'production' });
const SEED = [paymentsApi('payments'), groupEntity('payments'), groupEntity('finance')];

/** The one owner-based statement docs/backstage.md shows. */
const OWNER_STATEMENT = {
  Sid: 'OwnersWriteTheirServices',
  Effect: 'Allow',
  Action: 'payments:*',
  Resource: 'arn:rolegate:payments:::payment/*',
  Condition: { 'ForAnyValue:StringEquals': { 'jwt:ent': '${aws:ResourceTag/owner}' } },
};

const database = new PostgresPeer();
const upstream = new EchoUpstream();
let catalog: CatalogBed;
let backstage: BackstageBed;
let rolegate: RolegateProcess;
let envoy: EnvoyPeer;
let dir: string;
let auditFile: string;
const tokens: Record<string, string> = {};

function rolegateConfig(issuer: string, catalogUrl: string): Record<string, unknown> {
  const aud = { StringEquals: { [`${issuer.replace(/^https?:\/\//, '')}:aud`]: 'backstage' } };
  return backstageRolegateConfig(issuer, auditFile, {
    roles: [
      {
        name: 'payments-developer',
        // Any Backstage user may assume it: the owner statement decides what they may do.
        trustPolicy: webIdentityTrust(issuer, aud),
        policies: {
          owners: { Version: '2012-10-17', Statement: [OWNER_STATEMENT] },
          reach: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: 'rolegate:GetReach',
                Resource: 'arn:rolegate:catalog:::entity/*',
              },
            ],
          },
        },
      },
    ],
    routes: [
      {
        method: 'GET',
        path: '/healthz',
        action: 'payments:Health',
        resource: 'arn:rolegate:payments:::health',
      },
      {
        method: 'GET',
        path: '/payments/{id}',
        action: 'payments:Read',
        resource: 'arn:rolegate:payments:::payment/{id}',
        entity: 'payments-api',
      },
      {
        method: 'POST',
        path: '/payments/{id}',
        action: 'payments:Write',
        resource: 'arn:rolegate:payments:::payment/{id}',
        entity: 'component:default/payments-api',
      },
    ],
    catalog: {
      backstage: {
        baseUrl: catalogUrl,
        tokenEnv: TOKEN_ENV,
        refreshSeconds: 1,
        staleAfterSeconds: STALE_AFTER_SECONDS,
      },
    },
    access: { enabled: true, store: { file: join(dir, 'access.db') } },
    // One process: its admin listener is the one reading the catalog (/readyz, /metrics).
    server: { shutdownDelaySeconds: 0, drainSeconds: 1, workers: 1 },
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rolegate-catalog-'));
  auditFile = join(dir, 'audit.log');
  await Promise.all([database.start(), upstream.start()]);
  catalog = await startCatalog({ database, entities: SEED });
  backstage = await startBackstage({ database, user: ALICE });
  tokens['alice'] = await backstage.userTokenOf(ALICE);
  tokens['bob'] = await backstage.userTokenOf(BOB);
  rolegate = new RolegateProcess(rolegateConfig(backstage.issuer, catalog.baseUrl), 'rolegate', {
    ROLEGATE_LOG_LEVEL: 'warn',
    [TOKEN_ENV]: catalog.token,
  });
  await rolegate.start();
  envoy = new EnvoyPeer({ rolegatePort: rolegate.grpcPort, upstreamPort: upstream.port });
  await envoy.start();
  await envoy.waitForCluster('rolegate');
}, 240_000);

afterAll(async () => {
  await envoy?.stop();
  await rolegate?.stop();
  await backstage?.stop();
  await catalog?.stop();
  await Promise.all([upstream.stop(), database.stop()]);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

let requestNumber = 0;

/** One request through Envoy as `who`; its path is unique so its audit record can be found. */
async function call(method: string, who: string): Promise<{ status: number; path: string }> {
  const path = `/payments/${++requestNumber}`;
  const res = await fetch(envoy.url(path), {
    method,
    headers: { authorization: `Bearer ${tokens[who] ?? ''}` },
  });
  await res.arrayBuffer();
  return { status: res.status, path };
}

/** The decision record of `method path` (the file also holds the access API's own records). */
const recordFor = (method: string, path: string) =>
  auditRecord(
    auditFile,
    (r: AuditRecord | undefined) => r?.['method'] === method && r['path'] === path,
  );

/** Polls `call` until it answers `status` (each answer a real decision), within `timeoutMs`. */
async function untilStatus(method: string, who: string, status: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await call(method, who);
    if (answer.status === status) return answer;
    if (Date.now() > deadline) {
      throw new Error(`${method} as ${who}: still ${answer.status} after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function reach(entity: string, who = 'alice') {
  const res = await fetch(
    `http://127.0.0.1:${rolegate.accessPort}/v1/access/reach?entity=${encodeURIComponent(entity)}`,
    { headers: { authorization: `Bearer ${tokens[who] ?? ''}` } },
  );
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('catalog ownership as resource tags', () => {
  it('allows a member of the owning group and denies a member of another', async () => {
    const allowed = await call('POST', 'alice');
    expect(allowed.status).toBe(200);
    expect(await recordFor('POST', allowed.path)).toMatchObject({
      decision: 'allow',
      subject: ALICE.userEntityRef,
      role: 'arn:rolegate:iam:::role/payments-developer',
    });
    const denied = await call('POST', 'bob');
    expect(denied.status).toBe(403);
    const record = await recordFor('POST', denied.path);
    expect(record).toMatchObject({
      decision: 'deny',
      reason: 'ERR_IMPLICIT_DENY',
      subject: BOB.userEntityRef,
    });
    // Bob may assume the role (any Backstage user may): the owner statement did not hold.
    expect(record['roles_considered']).toEqual(['payments-developer']);
  });

  it('answers the reach contract for the seeded entity', async () => {
    const spec = JSON.parse(
      readFileSync(new URL('../../../docs/access-api.openapi.json', import.meta.url), 'utf8'),
    ) as {
      paths: Record<
        string,
        {
          get: {
            responses: Record<string, { content: { 'application/json': { schema: object } } }>;
          };
        }
      >;
    };
    const schema =
      spec.paths['/v1/access/reach']?.get.responses['200']?.content['application/json'].schema;
    const validate = new Ajv2020({ strict: false }).compile(schema ?? {});
    const { status, body } = await reach('payments-api');
    expect(status).toBe(200);
    expect(validate(body)).toBe(true);
    expect(body).toEqual({
      entity: 'component:default/payments-api',
      tags: { owner: PAYMENTS_GROUP, system: 'payments', lifecycle: 'production' },
      routes: [
        {
          route: '$.routes[1]',
          method: 'GET',
          path: '/payments/{id}',
          action: 'payments:Read',
          resource: 'arn:rolegate:payments:::payment/{id}',
          roles: [{ role: 'payments-developer', reach: 'conditional' }],
        },
        {
          route: '$.routes[2]',
          method: 'POST',
          path: '/payments/{id}',
          action: 'payments:Write',
          resource: 'arn:rolegate:payments:::payment/{id}',
          roles: [{ role: 'payments-developer', reach: 'conditional' }],
        },
      ],
    });
    // A group no route names: its tags (none for a group), no routes.
    expect((await reach('group:default/finance')).body).toEqual({
      entity: 'group:default/finance',
      tags: {},
      routes: [],
    });
    expect((await reach('not a ref')).status).toBe(400);
  });

  it('follows an owner change in the catalog within one refresh', async () => {
    await catalog.setEntities([paymentsApi('group:default/finance'), ...SEED.slice(1)]);
    await catalog.waitFor((es) =>
      es.some(
        (e) => e.metadata.name === 'payments-api' && e.spec?.['owner'] === 'group:default/finance',
      ),
    );
    // Served by the catalog now: rolegate's next read (1 s) carries it, so a few seconds bound it.
    const bobAllowed = await untilStatus('POST', 'bob', 200, 5_000);
    expect(await recordFor('POST', bobAllowed.path)).toMatchObject({
      decision: 'allow',
      subject: BOB.userEntityRef,
    });
    expect((await call('POST', 'alice')).status).toBe(403);
    expect((await reach('payments-api')).body['tags']).toMatchObject({ owner: FINANCE_GROUP });
  }, 30_000);

  it('keeps the last good tags through an outage until staleAfterSeconds, then fails closed', async () => {
    await catalog.stop();
    const stoppedAt = Date.now();
    // Within the bound: the last good copy (owner finance) still decides.
    const during = await call('POST', 'bob');
    expect(during.status).toBe(200);
    expect(Date.now() - stoppedAt).toBeLessThan(STALE_AFTER_SECONDS * 1000);
    const readyz = await (await fetch(`http://127.0.0.1:${rolegate.adminPort}/readyz`)).text();
    expect(readyz).toMatch(/^catalog: 3 entities, read \d+ s ago/m);
    // Past it: every route with an entity denies, for everyone, with the code in the audit record.
    const denied = await untilStatus('POST', 'bob', 403, (STALE_AFTER_SECONDS + 5) * 1000);
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(STALE_AFTER_SECONDS * 1000 - 1000);
    expect(await recordFor('POST', denied.path)).toMatchObject({
      decision: 'deny',
      reason: 'ERR_CATALOG_STALE',
      subject: BOB.userEntityRef,
      route: 'route[2]',
    });
    // A route without an entity is not the catalog's: it still decides as before.
    const health = await fetch(envoy.url('/healthz'), {
      headers: { authorization: `Bearer ${tokens['bob'] ?? ''}` },
    });
    await health.arrayBuffer();
    expect(health.status).toBe(403);
    expect(await recordFor('GET', '/healthz')).toMatchObject({ reason: 'ERR_IMPLICIT_DENY' });
    // The reach endpoint refuses to answer without the tags Check would use.
    expect(await reach('payments-api')).toMatchObject({
      status: 503,
      body: { error: 'ERR_CATALOG_STALE' },
    });
    const metrics = await (await fetch(`http://127.0.0.1:${rolegate.adminPort}/metrics`)).text();
    expect(metrics).toMatch(
      /^rolegate_catalog_sync_failures_total\{code="ERR_CATALOG_READ"\} [1-9]/m,
    );
    expect(metrics).toMatch(/^rolegate_catalog_entities 3$/m);
  }, 40_000);
});
