/**
 * @jest-environment ./integrations/backstage/test/support/dom-environment.js
 */
/**
 * The rolegate entity card, rendered with Backstage's frontend test
 * utilities (`renderInTestApp`, `TestApiProvider`, the catalog's
 * `EntityProvider`) in a jsdom document, against real peers only: the
 * card's API comes from the plugin's own factory over Backstage's fetch API
 * (`MockFetchApi`: Backstage's `createFetchApi` with its identity
 * middleware, over Node's fetch) carrying a real user token from
 * Backstage's auth backend; it calls the real backend plugin in a real
 * Backstage backend (`startTestBackend`), which calls a real `rolegate
 * serve` whose catalog source reads Backstage's real catalog backend; Check
 * is asked by a real Envoy.
 *
 * The done-when flow of issue 28: alice (engineering) asks for
 * `payments-developer` on the `payments-api` page, bob (payments, the
 * entity's owner) approves it on his card, Envoy lets alice write through
 * the grant, and her card lists the grant.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { discoveryApiRef, fetchApiRef, type AnyApiFactory } from '@backstage/core-plugin-api';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { MockFetchApi, mockApis, renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { EchoUpstream } from '../../../test/harness/echo-upstream.js';
import { EnvoyPeer } from '../../../test/harness/envoy.js';
import { PostgresPeer } from '../../../test/harness/postgres.js';
import { RolegateProcess } from '../../../test/support/rolegate-process.js';
import rolegateBackendPlugin from '../plugins/rolegate-backend/src/index.js';
import {
  EntityRolegateAccessCard,
  rolegateApiRef,
  rolegatePlugin,
} from '../plugins/rolegate/src/index.js';
import { startBackstage, type BackstageBed, type SignedInUser } from './support/backstage.js';
import {
  componentEntity,
  entityRef,
  groupEntity,
  startCatalog,
  type CatalogBed,
} from './support/catalog.js';
import { auditRecord, backstageGroupTrust, type AuditRecord } from './support/rolegate.js';

const ENGINEERING = 'group:default/engineering';
const PAYMENTS = 'group:default/payments';
const ALICE: SignedInUser = {
  userEntityRef: 'user:default/alice',
  ownershipEntityRefs: ['user:default/alice', ENGINEERING],
};
const BOB: SignedInUser = {
  userEntityRef: 'user:default/bob',
  ownershipEntityRefs: ['user:default/bob', PAYMENTS],
};
const PAYMENTS_API = componentEntity('payments-api', {
  owner: PAYMENTS,
  system: 'payments',
  lifecycle: 'production',
});
const ENTITY = entityRef(PAYMENTS_API);
const DEVELOPER = 'payments-developer';
const DEVELOPER_ARN = `arn:rolegate:iam:::role/${DEVELOPER}`;
const TOKEN_ENV = 'ROLEGATE_BACKSTAGE_CATALOG_TOKEN';

const database = new PostgresPeer();
const upstream = new EchoUpstream();
let backstage: BackstageBed;
let catalog: CatalogBed;
let rolegate: RolegateProcess;
let envoy: EnvoyPeer;
let dir: string;
let auditFile: string;

const policy = (...statements: Record<string, unknown>[]) => ({
  Version: '2012-10-17',
  Statement: statements,
});

/** Asking rolegate which roles reach a catalog entity is itself an access action. */
const SEE_REACH = policy({
  Effect: 'Allow',
  Action: 'rolegate:GetReach',
  Resource: 'arn:rolegate:catalog:::entity/*',
});

/**
 * engineering may read payments and ask for `payments-developer`; the
 * payments team (the entity's owner) approves it; `payments-developer`
 * itself is trusted by nobody: only a grant reaches it. Both teams may ask
 * which roles reach a catalog entity (`rolegate:GetReach`).
 */
function rolegateConfig(issuer: string): Record<string, unknown> {
  return {
    server: { shutdownDelaySeconds: 0, drainSeconds: 1 },
    issuers: [{ issuer, audiences: ['backstage'], algorithms: ['ES256'], groupsClaim: 'ent' }],
    roles: [
      {
        name: 'engineer',
        trustPolicy: backstageGroupTrust(issuer, ENGINEERING),
        policies: {
          reach: SEE_REACH,
          read: policy({
            Effect: 'Allow',
            Action: 'payments:Read',
            Resource: 'arn:rolegate:payments:::*',
          }),
          request: policy({
            Effect: 'Allow',
            Action: 'rolegate:RequestAccess',
            Resource: DEVELOPER_ARN,
          }),
        },
      },
      {
        name: 'payments-owner',
        trustPolicy: backstageGroupTrust(issuer, PAYMENTS),
        policies: {
          reach: SEE_REACH,
          approve: policy({
            Effect: 'Allow',
            Action: ['rolegate:ApproveAccessRequest', 'rolegate:ListAccessRequests'],
            Resource: DEVELOPER_ARN,
          }),
        },
      },
      {
        name: DEVELOPER,
        trustPolicy: policy({
          Effect: 'Deny',
          Principal: '*',
          Action: 'sts:AssumeRoleWithWebIdentity',
        }),
        policies: {
          all: policy({
            Effect: 'Allow',
            Action: 'payments:*',
            Resource: 'arn:rolegate:payments:::*',
          }),
        },
      },
    ],
    routes: [
      {
        method: 'GET',
        path: '/payments/{id}',
        action: 'payments:Read',
        resource: 'arn:rolegate:payments:::payment/{id}',
        entity: ENTITY,
      },
      {
        method: 'POST',
        path: '/payments/{id}',
        action: 'payments:Write',
        resource: 'arn:rolegate:payments:::payment/{id}',
        entity: ENTITY,
      },
    ],
    catalog: {
      backstage: {
        baseUrl: catalog.baseUrl,
        tokenEnv: TOKEN_ENV,
        refreshSeconds: 1,
        staleAfterSeconds: 600,
      },
    },
    access: {
      enabled: true,
      store: { file: join(dir, 'access.db') },
      refreshMs: 200,
      // payments-owner is requestable too, but no policy lets engineering ask for it.
      roles: {
        [DEVELOPER]: { maxGrantSeconds: 3600 },
        'payments-owner': { maxGrantSeconds: 3600 },
      },
    },
    audit: { file: auditFile, allowSampleRate: 1 },
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rolegate-backstage-card-'));
  auditFile = join(dir, 'audit.log');
  await Promise.all([database.start(), upstream.start()]);
  catalog = await startCatalog({
    database,
    entities: [PAYMENTS_API, groupEntity('payments'), groupEntity('engineering')],
  });
  backstage = await startBackstage({
    database,
    user: ALICE,
    features: [rolegateBackendPlugin],
    // rolegate needs Backstage's issuer URL first; the real URL follows below.
    config: { rolegate: { accessUrl: 'http://127.0.0.1:1' } },
  });
  rolegate = new RolegateProcess(rolegateConfig(backstage.issuer), 'rolegate', {
    [TOKEN_ENV]: catalog.token,
  });
  await rolegate.start();
  backstage.updateConfig({ rolegate: { accessUrl: `http://127.0.0.1:${rolegate.accessPort}` } });
  envoy = new EnvoyPeer({ rolegatePort: rolegate.grpcPort, upstreamPort: upstream.port });
  await envoy.start();
  await envoy.waitForCluster('rolegate');
}, 240_000);

afterEach(() => cleanup());

afterAll(async () => {
  await envoy?.stop();
  await rolegate?.stop();
  await backstage?.stop();
  await catalog?.stop();
  await Promise.all([upstream.stop(), database.stop()]);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

/**
 * The card on the payments-api page as `user` sees it: the plugin's own
 * API factory, given Backstage's discovery (the test backend's URL) and
 * fetch API (which adds the user's Backstage token).
 */
async function renderCardAs(user: SignedInUser) {
  const token = await backstage.userTokenOf(user);
  const discoveryApi = mockApis.discovery({ baseUrl: backstage.baseUrl });
  const fetchApi = new MockFetchApi({ injectIdentityAuth: { token } });
  const factory = [...rolegatePlugin.getApis()].find(
    (f: AnyApiFactory) => f.api.id === rolegateApiRef.id,
  );
  if (factory === undefined) throw new Error('the plugin registers no rolegate API factory');
  const rolegateApi = factory.factory({ discoveryApi, fetchApi }) as typeof rolegateApiRef.T;
  await renderInTestApp(
    <TestApiProvider
      apis={[
        [discoveryApiRef, discoveryApi],
        [fetchApiRef, fetchApi],
        [rolegateApiRef, rolegateApi],
      ]}
    >
      <EntityProvider entity={PAYMENTS_API}>
        <EntityRolegateAccessCard />
      </EntityProvider>
    </TestApiProvider>,
  );
  // Loaded: the form is there once every part has answered.
  await screen.findByRole('form', { name: 'Request access' }, { timeout: 15_000 });
  return token;
}

/** The card's section titled `title`. */
const section = (title: string) => screen.getByRole('region', { name: title });

/** One request through Envoy with `token` as bearer. */
async function call(method: string, path: string, token: string): Promise<number> {
  const res = await fetch(envoy.url(path), {
    method,
    headers: { authorization: `Bearer ${token}` },
  });
  await res.arrayBuffer();
  return res.status;
}

describe('the rolegate entity card', () => {
  it('lists the roles that reach the entity’s routes', async () => {
    await renderCardAs(ALICE);
    const roles = within(section('Roles that reach this entity')).getByRole('list', {
      name: 'Roles',
    });
    const developer = within(roles)
      .getAllByRole('listitem')
      .find((li) => li.textContent?.startsWith(`${DEVELOPER}:`));
    expect(developer?.textContent).toContain('POST /payments/{id} (allowed)');
    expect(developer?.textContent).toContain('GET /payments/{id} (allowed)');
    expect(roles.textContent).toContain('engineer: GET /payments/{id} (allowed)');
    // The payments-owner role reaches no payments route: it only approves.
    expect(roles.textContent).not.toContain('payments-owner');
  }, 60_000);

  it('request, owner approval, Check through the grant, active grant: all from the card', async () => {
    // alice asks on the entity's page.
    const aliceToken = await renderCardAs(ALICE);
    expect(within(section('Your active grants')).getByText('No active grants.')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Role'), { target: { value: DEVELOPER } });
    fireEvent.change(screen.getByLabelText('Duration (minutes)'), { target: { value: '30' } });
    fireEvent.change(screen.getByLabelText('Reason'), {
      target: { value: 'replay the failed refunds of PAY-7' },
    });
    fireEvent.change(screen.getByLabelText('Ticket (optional)'), { target: { value: 'PAY-7' } });
    fireEvent.click(screen.getByRole('button', { name: 'Request access' }));
    const created = await within(section('Request access')).findByRole('status');
    expect(created.textContent).toMatch(new RegExp(`^Request \\S+ for ${DEVELOPER}: pending$`));
    // Her own request is listed for the entity, without buttons: she does not own it.
    const pendingForAlice = await within(section('Pending requests')).findByRole('list', {
      name: 'Pending requests',
    });
    expect(pendingForAlice.textContent).toContain(`${ALICE.userEntityRef} asks for ${DEVELOPER}`);
    expect(pendingForAlice.textContent).toContain("awaiting an owner's approval");
    expect(screen.queryByRole('button', { name: /^Approve/ })).toBeNull();
    // Not yet: payments-developer is hers only through a grant.
    expect(await call('POST', '/payments/7', aliceToken)).toBe(403);
    cleanup();

    // bob, of the owning group, approves it on his card.
    await renderCardAs(BOB);
    const pending = section('Pending requests');
    expect(within(pending).getByText(/You own this entity/).textContent).toContain(PAYMENTS);
    fireEvent.click(
      within(pending).getByRole('button', {
        name: `Approve ${ALICE.userEntityRef}'s request for ${DEVELOPER}`,
      }),
    );
    const approved = await within(section('Pending requests')).findByRole('status');
    expect(approved.textContent).toMatch(new RegExp(`^Request \\S+ for ${DEVELOPER}: approved$`));
    await within(section('Pending requests')).findByText('No pending requests.');
    cleanup();

    // Check honours the grant (every replica picks it up within refreshMs).
    upstream.clear();
    await waitFor(async () => expect(await call('POST', '/payments/7', aliceToken)).toBe(200), {
      timeout: 10_000,
      interval: 250,
    });
    const record = await auditRecord(
      auditFile,
      (r: AuditRecord) => r['method'] === 'POST' && r['decision'] === 'allow',
    );
    expect(record).toMatchObject({ subject: ALICE.userEntityRef, role: DEVELOPER_ARN });
    expect(typeof record['grant_id']).toBe('string');
    expect(upstream.requestsTo('/payments/7')).toHaveLength(1);

    // alice's card shows the grant.
    await renderCardAs(ALICE);
    const grants = within(section('Your active grants')).getByRole('list', {
      name: 'Active grants',
    });
    expect(grants.textContent).toContain(`${DEVELOPER} for ${ALICE.userEntityRef}`);
  }, 120_000);

  it('lets an owner deny from the card, and shows rolegate’s refusal of a role', async () => {
    await renderCardAs(ALICE);
    fireEvent.change(screen.getByLabelText('Role'), { target: { value: 'payments-owner' } });
    fireEvent.change(screen.getByLabelText('Reason'), { target: { value: 'approve my own' } });
    fireEvent.click(screen.getByRole('button', { name: 'Request access' }));
    // engineering may ask for payments-developer only: rolegate's code, nothing more.
    const refused = await within(section('Request access')).findByRole('alert');
    expect(refused.textContent).toBe('Request refused: ERR_ACCESS_FORBIDDEN (HTTP 403)');

    fireEvent.change(screen.getByLabelText('Role'), { target: { value: DEVELOPER } });
    fireEvent.change(screen.getByLabelText('Reason'), { target: { value: 'rerun the PSP sync' } });
    fireEvent.click(screen.getByRole('button', { name: 'Request access' }));
    await within(section('Request access')).findByRole('status');
    cleanup();

    await renderCardAs(BOB);
    fireEvent.click(
      within(section('Pending requests')).getByRole('button', {
        name: `Deny ${ALICE.userEntityRef}'s request for ${DEVELOPER}`,
      }),
    );
    const denied = await within(section('Pending requests')).findByRole('status');
    expect(denied.textContent).toMatch(new RegExp(`^Request \\S+ for ${DEVELOPER}: denied$`));
    await within(section('Pending requests')).findByText('No pending requests.');
  }, 60_000);
});
