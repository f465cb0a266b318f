/**
 * Approval by policy, grants narrowed to the task, several roles in one
 * request, and reviews: the access service on the real embedded store,
 * authorized by rolegate's real policy engine (`authorizeAccessAction` over
 * a compiled configuration), the clock frozen at chosen moments.
 *
 * - `rolegate:AutoApprove`, asked on the requester's own roles, approves a
 *   request only from a statement that holds *because* it is their own
 *   (`rolegate:SelfApproval`); a blanket Allow (`rolegate:*`) never does.
 * - Time of day and day of week (`rolegate:MinuteOfDay`, `rolegate:DayOfWeek`,
 *   in `access.timeZone`) and on-call membership (`rolegate:OnCall`: a group,
 *   or a file of subjects) are condition keys of those statements.
 * - A session policy is checked by the engine when the request is made.
 * - The roles of one request are approved one by one and end together.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { onCallReader } from '../../../src/access/on-call.js';
import { accessSchema } from '../../../src/access/options.js';
import {
  createAccessService,
  POLICY_APPROVER,
  UNUSED_REVOKER,
  type AccessEvent,
  type AccessRefusal,
  type AccessService,
  type ActionAuthorizer,
  type Caller,
} from '../../../src/access/service.js';
import { openSqliteStore } from '../../../src/access/sqlite-store.js';
import type { AccessStore } from '../../../src/access/store.js';
import { authorizeAccessAction } from '../../../src/check/access-actions.js';
import { checkSessionPolicy } from '../../../src/check/session-policy.js';
import { compileConfig } from '../../../src/config/compile.js';
import { validateConfig } from '../../../src/config/schema.js';
import { RolegateError } from '../../../src/errors.js';
import { ACCESS_API_CALL } from '../../support/access.js';

const ISSUER = 'https://idp.example.com';
const ARN = (name: string) => `arn:rolegate:iam:::role/${name}`;
/** A Tuesday, 10:00 UTC. */
const TUESDAY_10 = Date.parse('2030-01-01T10:00:00Z');

const trust = (group: string) => ({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Federated: ISSUER },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: { 'ForAnyValue:StringEquals': { 'jwt:groups': group } },
    },
  ],
});
const policy = (...Statement: object[]) => ({ Version: '2012-10-17', Statement });

/** On call, a short grant, business hours on weekdays: approved by rolegate, for the requester's own request. */
const AUTO = {
  Sid: 'OnCallShortDuringBusinessHours',
  Effect: 'Allow',
  Action: 'rolegate:AutoApprove',
  Resource: ARN('staging-read'),
  Condition: {
    Bool: { 'rolegate:SelfApproval': 'true', 'rolegate:OnCall': 'true' },
    NumericLessThanEquals: { 'rolegate:RequestedDuration': 3600 },
    NumericGreaterThanEquals: { 'rolegate:MinuteOfDay': 480 },
    NumericLessThan: { 'rolegate:MinuteOfDay': 1080 },
    StringEquals: { 'rolegate:DayOfWeek': ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'] },
  },
};

function compiled() {
  const { config, problems } = validateConfig({
    issuers: [{ issuer: ISSUER, audiences: ['api'], groupsClaim: 'groups' }],
    roles: [
      {
        name: 'engineer',
        trustPolicy: trust('engineers'),
        policies: {
          request: policy({
            Effect: 'Allow',
            Action: 'rolegate:RequestAccess',
            Resource: 'arn:rolegate:iam:::role/staging-*',
          }),
          auto: policy(AUTO),
        },
      },
      {
        name: 'admin',
        trustPolicy: trust('admins'),
        policies: { all: policy({ Effect: 'Allow', Action: 'rolegate:*', Resource: '*' }) },
      },
      {
        name: 'lead',
        trustPolicy: trust('leads'),
        policies: {
          own: policy(
            { Effect: 'Allow', Action: 'rolegate:RequestAccess', Resource: '*' },
            {
              Sid: 'LeadsApproveTheirOwnReads',
              Effect: 'Allow',
              Action: 'rolegate:ApproveAccessRequest',
              Resource: ARN('staging-read'),
              Condition: { Bool: { 'rolegate:SelfApproval': 'true' } },
            },
          ),
        },
      },
      {
        name: 'auditor',
        trustPolicy: trust('auditors'),
        policies: {
          list: policy(
            { Effect: 'Allow', Action: 'rolegate:ListAccessRequests', Resource: '*' },
            {
              Sid: 'NotTheOnCallRota',
              Effect: 'Deny',
              Action: 'rolegate:ListAccessRequests',
              Resource: '*',
              Condition: {
                'ForAnyValue:StringEquals': { 'rolegate:RequesterGroups': 'sre-oncall' },
              },
            },
          ),
        },
      },
      { name: 'staging-read', trustPolicy: trust('nobody'), policies: {} },
      { name: 'staging-write', trustPolicy: trust('nobody'), policies: {} },
    ],
  });
  if (!config) throw new Error(JSON.stringify(problems));
  return compileConfig(config, (ref) => ({
    ref,
    document: ref.document,
    file: 'test.yaml',
    basePath: ref.path,
  }));
}

const request = ACCESS_API_CALL;

const who = (subject: string, groups: string[]): Caller => ({ issuer: ISSUER, subject, groups });
const alice = who('alice', ['engineers', 'sre-oncall']);
const erin = who('erin', ['engineers']);
const carol = who('carol', ['admins']);
const lena = who('lena', ['leads']);
const olga = who('olga', ['auditors']);

let now: number;
let timeZone: string;
let onCallFile: string | undefined;
let store: AccessStore;
let service: AccessService;
let events: AccessEvent[];
let refusals: AccessRefusal[];
const config = compiled();

/** rolegate's own policies for `caller`, as the access API builds them. */
const authorizer =
  (caller: Caller): ActionAuthorizer =>
  (action, roleArn, context) =>
    authorizeAccessAction(
      config,
      request,
      {
        kind: 'jwt',
        issuer: ISSUER,
        subject: caller.subject,
        claims: { iss: ISSUER, sub: caller.subject, aud: 'api', groups: [...caller.groups] },
        federated: [ISSUER],
      },
      action,
      roleArn,
      context,
      now,
    );

const ask = (caller: Caller, role = 'staging-read', extra: Record<string, unknown> = {}) =>
  service.request(caller, authorizer(caller), {
    role,
    durationSeconds: 1800,
    reason: 'INC-7 triage',
    ...extra,
  });

async function codeOf(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (err) {
    return err instanceof RolegateError ? err.code : String(err);
  }
  return 'no refusal';
}

beforeEach(() => {
  now = TUESDAY_10;
  timeZone = 'UTC';
  onCallFile = undefined;
  store = openSqliteStore(':memory:');
  events = [];
  refusals = [];
  let ids = 0;
  service = createAccessService({
    store,
    config: () =>
      accessSchema.parse({
        enabled: true,
        timeZone,
        revokeUnusedAfterSeconds: 600,
        roles: { 'staging-read': {}, 'staging-write': {} },
      }),
    roleArn: (name) => config.roles.find((r) => r.name === name)?.arn,
    now: () => now,
    events: { event: (e) => events.push(e), refused: (r) => refusals.push(r) },
    newId: () => `r${++ids}`,
    sessionPolicy: checkSessionPolicy,
    onCall: (subject, groups) =>
      onCallReader({
        groups: ['sre-oncall'],
        ...(onCallFile === undefined ? {} : { file: onCallFile }),
      })(subject, groups),
  });
});

afterEach(async () => {
  await store.close();
});

describe('approval by policy (rolegate:AutoApprove)', () => {
  it('approves an on-call engineer at once, naming the statement in the request and its audit event', async () => {
    const r = await ask(alice);
    const by = 'role engineer: identity policy auto statement OnCallShortDuringBusinessHours';
    expect(r).toMatchObject({ status: 'approved', approvedByPolicy: by, grantId: 'grant-r1' });
    expect(r.approvals).toEqual([
      { approver: POLICY_APPROVER, comment: `approved by policy: ${by}`, at: TUESDAY_10 },
    ]);
    expect(events.map((e) => [e.type, e.actor, e.comment])).toEqual([
      ['requested', 'alice', undefined],
      ['approved', POLICY_APPROVER, `approved by policy: ${by}`],
    ]);
    expect((await store.getGrant('grant-r1'))?.expiresAt).toBe(TUESDAY_10 + 1_800_000);
  });

  it.each([
    ['outside business hours (20:00)', Date.parse('2030-01-01T20:00:00Z'), alice],
    ['on a Saturday', Date.parse('2030-01-05T10:00:00Z'), alice],
    ['for someone not on call', TUESDAY_10, erin],
  ])('leaves the request pending %s', async (_what, at, caller) => {
    now = at;
    const r = await ask(caller);
    expect(r.status).toBe('pending');
    expect(events.map((e) => e.type)).toEqual(['requested']);
  });

  it('reads the time of day in access.timeZone', async () => {
    // 07:30 UTC is 08:30 in Berlin (winter): business hours there, not in UTC.
    now = Date.parse('2030-01-01T07:30:00Z');
    expect((await ask(alice)).status).toBe('pending');
    timeZone = 'Europe/Berlin';
    expect((await ask(alice)).status).toBe('approved');
  });

  it('reads who is on call from a file as it changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rolegate-oncall-'));
    onCallFile = join(dir, 'oncall.json');
    writeFileSync(onCallFile, JSON.stringify({ subjects: ['erin'] }));
    expect((await ask(erin)).status).toBe('approved');
    writeFileSync(onCallFile, JSON.stringify(['somebody-else', 'and-more']));
    expect((await ask(erin)).status).toBe('pending');
    writeFileSync(onCallFile, 'not json');
    expect((await ask(erin)).status).toBe('pending');
  });

  it('never approves on a blanket Allow (rolegate:*): that is no statement about one’s own request', async () => {
    const r = await ask(carol);
    expect(r.status).toBe('pending');
    // Nor may the admin approve it themselves, though rolegate:* allows approvals.
    expect(await codeOf(() => service.approve(carol, authorizer(carol), r.id, 'mine'))).toBe(
      'ERR_ACCESS_SELF_APPROVAL',
    );
    expect(refusals.at(-1)?.actual).toBe(
      'the requester approving their own request, not break-glass, and no statement allows self-approval explicitly',
    );
    // Another admin may.
    const dave = who('dave', ['admins']);
    expect((await service.approve(dave, authorizer(dave), r.id, 'ok')).granted).toBe(true);
  });

  it('lets a requester approve their own request where a statement says so (rolegate:SelfApproval)', async () => {
    const read = await ask(lena);
    expect(read.status).toBe('pending');
    expect((await service.approve(lena, authorizer(lena), read.id, 'my own read')).granted).toBe(
      true,
    );
    // Not for a role the statement does not name.
    const write = await ask(lena, 'staging-write');
    expect(await codeOf(() => service.approve(lena, authorizer(lena), write.id, 'mine'))).toBe(
      'ERR_ACCESS_SELF_APPROVAL',
    );
  });
});

describe('several roles in one request', () => {
  it('approves each role on its own (one by policy, one by a person), and their grants end together', async () => {
    const [read, write] = await service.requestRoles(alice, authorizer(alice), {
      roles: ['staging-read', 'staging-write'],
      durationSeconds: 1800,
      reason: 'INC-7 fix',
    });
    expect(read?.bundleId).toBe('r1');
    expect(write?.bundleId).toBe('r1');
    expect(read?.status).toBe('approved');
    expect(write?.status).toBe('pending');
    now += 600_000;
    const approved = await service.approve(carol, authorizer(carol), write?.id ?? '', 'ok');
    const first = await store.getGrant(read?.grantId ?? '');
    expect(approved.grant?.expiresAt).toBe(first?.expiresAt);
    expect(approved.grant?.expiresAt).toBe(TUESDAY_10 + 1_800_000);
  });

  it('requests none of the roles when one is refused', async () => {
    expect(
      await codeOf(() =>
        service.requestRoles(alice, authorizer(alice), {
          roles: ['staging-read', 'admin'],
          durationSeconds: 600,
          reason: 'x',
        }),
      ),
    ).toBe('ERR_ACCESS_INVALID');
    expect(await store.listRequests()).toEqual([]);
  });

  it.each([
    ['no role', []],
    ['the same role twice', ['staging-read', 'staging-read']],
    ['six roles', ['a', 'b', 'c', 'd', 'e', 'f']],
  ])('refuses %s (ERR_ACCESS_INVALID)', async (_what, roles) => {
    expect(
      await codeOf(() =>
        service.requestRoles(alice, authorizer(alice), {
          roles,
          durationSeconds: 600,
          reason: 'x',
        }),
      ),
    ).toBe('ERR_ACCESS_INVALID');
  });
});

describe('session policies', () => {
  const narrow = policy({ Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*' });

  it('keeps a valid one, compact, on the request and its grant', async () => {
    const r = await ask(alice, 'staging-read', { sessionPolicy: narrow });
    expect(r.sessionPolicy).toBe(JSON.stringify(narrow));
    expect((await store.getGrant(r.grantId ?? ''))?.sessionPolicy).toBe(JSON.stringify(narrow));
  });

  it.each([
    ['an invalid Effect', policy({ Effect: 'Maybe', Action: '*', Resource: '*' }), 'Effect'],
    [
      'a Principal (not a session policy)',
      policy({ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }),
      'Principal',
    ],
    [
      'more than 2,048 characters',
      policy({
        Effect: 'Allow',
        Action: 'orders:GetOrder',
        Resource: Array.from({ length: 80 }, (_, i) => `arn:aws:orders:::order/${i}-padding`),
      }),
      '2048',
    ],
  ])('refuses %s, saying what is wrong', async (_what, sessionPolicy, named) => {
    expect(await codeOf(() => ask(alice, 'staging-read', { sessionPolicy }))).toBe(
      'ERR_ACCESS_INVALID',
    );
    expect(`${refusals.at(-1)?.expected ?? ''} ${refusals.at(-1)?.actual ?? ''}`).toContain(named);
    expect(await store.listRequests()).toEqual([]);
  });
});

describe('reviews', () => {
  it('lists held grants unused first, and revokes one nobody used for access.revokeUnusedAfterSeconds', async () => {
    const used = await ask(alice);
    const idle = await ask(alice, 'staging-write');
    await service.approve(carol, authorizer(carol), idle.id, 'ok');
    await store.recordUses([{ grantId: used.grantId ?? '', count: 3, lastUsedAt: now + 1000 }]);
    const review = await service.review(carol, authorizer(carol), 3600);
    expect(review.map((r) => [r.grant.role, r.uses, r.active])).toEqual([
      ['staging-write', 0, true],
      ['staging-read', 3, true],
    ]);
    // Alice (no list permission) sees her own grants only; erin sees none.
    expect((await service.review(erin, authorizer(erin), 3600)).length).toBe(0);

    // The review shows what listing shows: the auditor may not list the on-call rota's
    // requests (a Deny on rolegate:RequesterGroups), so not their grants either.
    expect(await service.list(olga, authorizer(olga))).toEqual([]);
    expect(await service.review(olga, authorizer(olga), 3600)).toEqual([]);

    // 600.5 s after the write grant started (never used), 599.5 s after the read grant's last use.
    now += 600_500;
    const revoked = await service.revokeUnused();
    expect(revoked.map((g) => [g.role, g.revokedBy])).toEqual([['staging-write', UNUSED_REVOKER]]);
    expect(events.at(-1)).toMatchObject({
      type: 'revoked',
      actor: UNUSED_REVOKER,
      comment: 'no Check used it for 600 s (access.revokeUnusedAfterSeconds)',
    });
  });
});
