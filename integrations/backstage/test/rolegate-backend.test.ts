/**
 * The rolegate backend plugin in a real Backstage backend
 * (`startTestBackend`, real auth and HTTP auth services) against a real
 * `rolegate serve` with the access API on. Every call carries the viewer's
 * own Backstage user token, which the plugin passes to rolegate: rolegate's
 * records name the Backstage user, never the plugin.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PostgresPeer } from '../../../test/harness/postgres.js';
import { RolegateProcess } from '../../../test/support/rolegate-process.js';
import rolegatePlugin from '../plugins/rolegate-backend/src/index.js';
import { startBackstage, type BackstageBed } from './support/backstage.js';
import {
  backstageGroupTrust,
  backstageRolegateConfig,
  PAYMENTS_GROUP,
} from './support/rolegate.js';

const ALICE = 'user:default/alice';
/** A lead of the payments team: approves payments-admin requests. */
const BOB = {
  userEntityRef: 'user:default/bob',
  ownershipEntityRefs: ['user:default/bob', 'group:default/payments-leads'],
};
const ADMIN_ROLE = 'payments-admin';
/** Requestable, but not by the payments group. */
const LEDGER_ROLE = 'ledger-admin';
const database = new PostgresPeer();
let backstage: BackstageBed;
let rolegate: RolegateProcess;
let dir: string;

/** Trusted by nobody: reached only through a grant. */
function grantOnlyRole(name: string, resource: string): Record<string, unknown> {
  return {
    name,
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: '*', Action: 'sts:AssumeRoleWithWebIdentity' }],
    },
    policies: {
      all: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: '*', Resource: resource }],
      },
    },
  };
}

/** payments-engineer may ask for payments-admin (break-glass too), not for ledger-admin. */
function accessConfig(issuer: string): Record<string, unknown> {
  const base = backstageRolegateConfig(issuer, join(dir, 'audit.log'));
  const [engineer] = base['roles'] as Record<string, unknown>[];
  return {
    ...base,
    roles: [
      {
        ...engineer,
        policies: {
          ...(engineer?.['policies'] as Record<string, unknown>),
          request: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'RequestPaymentsAdmin',
                Effect: 'Allow',
                Action: 'rolegate:RequestAccess',
                Resource: `arn:rolegate:iam:::role/${ADMIN_ROLE}`,
              },
            ],
          },
        },
      },
      {
        name: 'payments-lead',
        trustPolicy: backstageGroupTrust(issuer, 'group:default/payments-leads'),
        policies: {
          approve: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: ['rolegate:ApproveAccessRequest', 'rolegate:ListAccessRequests'],
                Resource: `arn:rolegate:iam:::role/${ADMIN_ROLE}`,
              },
            ],
          },
        },
      },
      grantOnlyRole(ADMIN_ROLE, 'arn:rolegate:payments:::*'),
      grantOnlyRole(LEDGER_ROLE, 'arn:rolegate:ledger:::*'),
    ],
    access: {
      enabled: true,
      store: { file: join(dir, 'access.db') },
      refreshMs: 200,
      roles: {
        [ADMIN_ROLE]: { maxGrantSeconds: 3600, breakGlass: { maxSeconds: 900 } },
        [LEDGER_ROLE]: { maxGrantSeconds: 3600 },
      },
    },
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rolegate-backstage-plugin-'));
  await database.start();
  backstage = await startBackstage({
    database,
    user: { userEntityRef: ALICE, ownershipEntityRefs: [ALICE, PAYMENTS_GROUP] },
    features: [rolegatePlugin],
    // rolegate needs Backstage's issuer URL first; the real URL follows below.
    config: { rolegate: { accessUrl: 'http://127.0.0.1:1' } },
  });
  rolegate = new RolegateProcess(accessConfig(backstage.issuer), 'rolegate');
  await rolegate.start();
  backstage.updateConfig({ rolegate: { accessUrl: `http://127.0.0.1:${rolegate.accessPort}` } });
}, 180_000);

afterAll(async () => {
  await rolegate?.stop();
  await backstage?.stop();
  await database.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** A call to the plugin's routes with `token` as bearer. */
async function plugin(path: string, token: string, body?: unknown) {
  const res = await fetch(`${backstage.baseUrl}/api/rolegate${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Approves request `id` on rolegate's own API with `token` (break-glass: the requester may). */
async function approve(id: string, token: string) {
  const res = await fetch(
    `http://127.0.0.1:${rolegate.accessPort}/v1/access/requests/${id}/approve`,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    },
  );
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('the rolegate backend plugin', () => {
  it('creates an access request in the viewer’s name', async () => {
    const token = await backstage.userToken();
    const created = await plugin('/requests', token, {
      role: ADMIN_ROLE,
      durationSeconds: 1800,
      reason: 'rotate the PSP webhook secret (PAY-12)',
      ticket: 'PAY-12',
    });
    expect(created.status).toBe(201);
    const listed = await plugin('/requests?status=pending', token);
    expect(listed.status).toBe(200);
    expect(listed.body['requests']).toEqual([
      expect.objectContaining({
        role: ADMIN_ROLE,
        requester: ALICE,
        issuer: backstage.issuer,
        durationSeconds: 1800,
        ticket: 'PAY-12',
        status: 'pending',
      }),
    ]);
  });

  it('lists the viewer’s active grants', async () => {
    const token = await backstage.userToken();
    expect((await plugin('/grants', token)).body).toEqual({ grants: [] });
    const created = await plugin('/requests', token, {
      role: ADMIN_ROLE,
      durationSeconds: 600,
      reason: 'payments are failing in production, PAY-13',
      breakGlass: true,
    });
    expect(created.status).toBe(201);
    const id = String(created.body['id']);
    expect((await approve(id, token)).status).toBe(200);
    const grants = await plugin('/grants', token);
    expect(grants.status).toBe(200);
    expect(grants.body['grants']).toEqual([
      expect.objectContaining({ role: ADMIN_ROLE, subject: ALICE, breakGlass: true }),
    ]);
  });

  it('passes rolegate’s refusal on: a role the viewer may not request', async () => {
    const token = await backstage.userToken();
    const refused = await plugin('/requests', token, {
      role: LEDGER_ROLE,
      durationSeconds: 600,
      reason: 'more of what I have',
    });
    expect(refused.status).toBe(403);
    expect(refused.body['error']).toBe('ERR_ACCESS_FORBIDDEN');
  });

  it('refuses a call without a user behind it: no token, or a plugin’s service token', async () => {
    const anonymous = await fetch(`${backstage.baseUrl}/api/rolegate/grants`);
    await anonymous.arrayBuffer();
    expect(anonymous.status).toBe(401);
    const service = await plugin('/grants', await backstage.pluginToken('rolegate'));
    expect(service.status).toBe(403);
  });

  it('checks the form’s types before asking rolegate', async () => {
    const token = await backstage.userToken();
    const bad = await plugin('/requests', token, {
      role: ADMIN_ROLE,
      durationSeconds: '600',
      reason: 'x',
    });
    expect(bad.status).toBe(400);
  });
});

describe('approvals through the plugin', () => {
  const alice = { userEntityRef: ALICE, ownershipEntityRefs: [ALICE, PAYMENTS_GROUP] };
  const ask = async (token: string, reason: string) => {
    const created = await plugin('/requests', token, {
      role: ADMIN_ROLE,
      durationSeconds: 900,
      reason,
    });
    expect(created.status).toBe(201);
    return String(created.body['id']);
  };

  it('refuses the requester’s own approval, as rolegate does', async () => {
    const token = await backstage.userTokenOf(alice);
    const id = await ask(token, 'reconcile the October payouts');
    const refused = await plugin(`/requests/${id}/approve`, token, {});
    expect(refused.status).toBe(403);
    expect(refused.body['error']).toBe('ERR_ACCESS_SELF_APPROVAL');
  });

  it('approves with the approver’s own token: the grant is the requester’s', async () => {
    const id = await ask(await backstage.userTokenOf(alice), 'refund the double charges of PAY-20');
    const bob = await backstage.userTokenOf(BOB);
    const approved = await plugin(`/requests/${id}/approve`, bob, { comment: 'ok, PAY-20' });
    expect(approved.status).toBe(200);
    expect(approved.body['request']).toMatchObject({
      id,
      status: 'approved',
      approvals: [expect.objectContaining({ approver: BOB.userEntityRef, comment: 'ok, PAY-20' })],
    });
    const grants = await plugin('/grants', await backstage.userTokenOf(alice));
    expect(grants.body['grants']).toContainEqual(
      expect.objectContaining({ requestId: id, subject: ALICE, role: ADMIN_ROLE }),
    );
  });

  it('denies, and refuses a second decision with rolegate’s state error', async () => {
    const id = await ask(await backstage.userTokenOf(alice), 'look at the ledger export job');
    const bob = await backstage.userTokenOf(BOB);
    const denied = await plugin(`/requests/${id}/deny`, bob, { comment: 'use the read role' });
    expect(denied.status).toBe(200);
    expect(denied.body['request']).toMatchObject({
      status: 'denied',
      deniedBy: BOB.userEntityRef,
      denyComment: 'use the read role',
    });
    const again = await plugin(`/requests/${id}/approve`, bob, {});
    expect(again.status).toBe(409);
    expect(again.body['error']).toBe('ERR_ACCESS_STATE');
  });

  it('passes rolegate’s refusal of a reach question on, for the page’s requests too', async () => {
    // No role here allows rolegate:GetReach (the card test has one that does).
    const token = await backstage.userTokenOf(alice);
    for (const path of ['/reach', '/entity-requests']) {
      const refused = await plugin(`${path}?entity=component:default/payments-api`, token);
      expect(refused.status).toBe(403);
      expect(refused.body['error']).toBe('ERR_ACCESS_FORBIDDEN');
    }
  });

  it('checks the decision’s body and the entity ref before asking rolegate', async () => {
    const bob = await backstage.userTokenOf(BOB);
    const bad = await plugin('/requests/x/approve', bob, { comment: 7 });
    expect(bad.status).toBe(400);
    const extra = await plugin('/requests/x/deny', bob, { comment: 'x', status: 'approved' });
    expect(extra.status).toBe(400);
    expect((await plugin('/reach?entity=payments-api', bob)).status).toBe(400);
    expect((await plugin('/entity-requests', bob)).status).toBe(400);
  });
});
