/**
 * The access service's rules on the real embedded store (in memory), with
 * the clock frozen: nobody approves their own request (break-glass aside),
 * durations are bounded by the role (its `maxGrantSeconds`, 3600 by
 * default; break-glass by `breakGlass.maxSeconds`), reasons are counted in
 * visible characters, a request moves pending -> approved (with its grant)
 * or pending -> denied and nowhere else, grants are revoked once and expire
 * on the clock. Every refusal is reported once, with what was expected and
 * what was found.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { AccessRequest } from '../../../src/access/model.js';
import { accessSchema } from '../../../src/access/options.js';
import {
  createAccessService,
  isAudited,
  type AccessAction,
  type AccessContext,
  type AccessEvent,
  type AccessRefusal,
  type AccessService,
  type Caller,
} from '../../../src/access/service.js';
import { openSqliteStore } from '../../../src/access/sqlite-store.js';
import type { AccessStore } from '../../../src/access/store.js';
import { RolegateError, type ErrorCode } from '../../../src/errors.js';

const ISSUER = 'https://idp.example.com';
const T0 = Date.parse('2030-01-01T00:00:00Z');
const ARN = (name: string) => `arn:rolegate:iam:::role/${name}`;

const config = accessSchema.parse({
  enabled: true,
  roles: {
    'staging-admin': { maxGrantSeconds: 7200, breakGlass: { maxSeconds: 600 } },
    'staging-dba': { approvals: 2 },
    plain: {},
  },
});
// 'orders-reader' is a role of the config but not listed under access.roles.
const ROLES = new Set(['staging-admin', 'staging-dba', 'plain', 'orders-reader']);

const alice: Caller = { issuer: ISSUER, subject: 'alice', groups: ['engineers'] };
const carol: Caller = { issuer: ISSUER, subject: 'carol', groups: ['admins'] };
const dave: Caller = { issuer: ISSUER, subject: 'dave', groups: ['admins'] };
const bob: Caller = { issuer: ISSUER, subject: 'bob', groups: ['engineers'] };

let now: number;
let store: AccessStore;
let service: AccessService;
let events: AccessEvent[];
let refusals: AccessRefusal[];
let changed: number;
let ids: number;
/** What authorize() was asked, and who may do what: everyone but bob, unless told otherwise. */
let asked: { action: AccessAction; roleArn: string; context: AccessContext }[];
let allowed: (caller: Caller, action: AccessAction) => boolean;

const authorizeAs =
  (caller: Caller) => (action: AccessAction, roleArn: string, context: AccessContext) => {
    asked.push({ action, roleArn, context });
    return allowed(caller, action);
  };

const ask = (
  caller: Caller,
  input: Partial<{ role: string; durationSeconds: number; reason: string; breakGlass: boolean }>,
) =>
  service.request(caller, authorizeAs(caller), {
    role: 'staging-admin',
    durationSeconds: 600,
    reason: 'fix OPS-42',
    ...input,
  });

/** The code a call is refused with (and that it was reported exactly once). */
async function refusedWith(call: () => Promise<unknown>): Promise<ErrorCode> {
  const before = refusals.length;
  const err = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof RolegateError)) throw new Error(`expected a refusal, got ${String(err)}`);
  expect(isAudited(err)).toBe(true);
  expect(refusals.length).toBe(before + 1);
  return err.code;
}
const lastRefusal = () => refusals.at(-1) as AccessRefusal;

beforeEach(() => {
  now = T0;
  store = openSqliteStore(':memory:');
  events = [];
  refusals = [];
  changed = 0;
  ids = 0;
  asked = [];
  allowed = (caller) => caller.subject !== 'bob';
  service = createAccessService({
    store,
    config: () => config,
    roleArn: (name) => (ROLES.has(name) ? ARN(name) : undefined),
    now: () => now,
    events: { event: (e) => events.push(e), refused: (r) => refusals.push(r) },
    changed: async () => {
      changed++;
    },
    newId: () => `r${++ids}`,
  });
});

afterEach(async () => {
  await store.close();
});

describe('creating a request', () => {
  it('stores a pending request at the frozen time, reason trimmed, authorized with its context', async () => {
    const r = await ask(alice, { reason: '  fix OPS-42 \n' });
    const want: AccessRequest = {
      id: 'r1',
      role: 'staging-admin',
      roleArn: ARN('staging-admin'),
      issuer: ISSUER,
      requester: 'alice',
      groups: ['engineers'],
      durationSeconds: 600,
      reason: 'fix OPS-42',
      breakGlass: false,
      status: 'pending',
      createdAt: T0,
      approvals: [],
    };
    expect(r).toEqual(want);
    expect(await store.getRequest('r1')).toEqual(r);
    // 2030-01-01T00:00Z is a Tuesday, minute 0 of the day (access.timeZone UTC).
    const context = {
      'rolegate:RequestedDuration': 600,
      'rolegate:Requester': 'alice',
      'rolegate:RequesterGroups': ['engineers'],
      'rolegate:BreakGlass': false,
      'rolegate:SelfApproval': false,
      'rolegate:OnCall': false,
      'rolegate:MinuteOfDay': 0,
      'rolegate:DayOfWeek': 'Tue',
    };
    expect(asked).toEqual([
      { action: 'rolegate:RequestAccess', roleArn: ARN('staging-admin'), context },
      // Approval by policy is asked for the requester's own request; a blanket Allow
      // (this authorizer allows everything) never approves it (see "approval by policy").
      {
        action: 'rolegate:AutoApprove',
        roleArn: ARN('staging-admin'),
        context: { ...context, 'rolegate:SelfApproval': true },
      },
      {
        action: 'rolegate:AutoApprove',
        roleArn: ARN('staging-admin'),
        context: { ...context, 'rolegate:SelfApproval': undefined },
      },
    ]);
    expect(events).toEqual([{ type: 'requested', at: T0, request: r, actor: 'alice' }]);
    expect(refusals).toEqual([]);
  });

  it.each([
    ['the shortest duration', 'staging-admin', 60, false],
    ['the role maximum', 'staging-admin', 7200, false],
    ['the default maximum (3600) of a role without maxGrantSeconds', 'staging-dba', 3600, false],
    ['the break-glass maximum', 'staging-admin', 600, true],
  ])('accepts %s', async (_what, role, durationSeconds, breakGlass) => {
    const r = await ask(alice, {
      role,
      durationSeconds,
      breakGlass,
      reason: 'prod is down since 10:02',
    });
    expect(r).toMatchObject({ status: 'pending', durationSeconds, breakGlass });
  });

  it.each([
    [
      'under a minute',
      'staging-admin',
      59,
      false,
      'durationSeconds an integer from 60 to 7200 (access.roles.staging-admin.maxGrantSeconds)',
      'durationSeconds 59 is below the minimum 60',
    ],
    [
      'over the role maximum',
      'staging-admin',
      7201,
      false,
      'durationSeconds an integer from 60 to 7200 (access.roles.staging-admin.maxGrantSeconds)',
      "durationSeconds 7201 exceeds staging-admin's maxGrantSeconds 7200",
    ],
    [
      'over the default maximum',
      'staging-dba',
      3601,
      false,
      'durationSeconds an integer from 60 to 3600 (access.roles.staging-dba.maxGrantSeconds)',
      "durationSeconds 3601 exceeds staging-dba's maxGrantSeconds 3600",
    ],
    [
      'not whole seconds',
      'staging-admin',
      600.5,
      false,
      'durationSeconds an integer from 60 to 7200 (access.roles.staging-admin.maxGrantSeconds)',
      'durationSeconds 600.5 is not a whole number of seconds',
    ],
    [
      'over the break-glass maximum',
      'staging-admin',
      601,
      true,
      'durationSeconds an integer from 60 to 600 (access.roles.staging-admin.breakGlass.maxSeconds)',
      "durationSeconds 601 exceeds staging-admin's breakGlass.maxSeconds 600",
    ],
    [
      'break-glass on a role without it',
      'plain',
      300,
      true,
      'a role with access.roles.plain.breakGlass for a break-glass request',
      'breakGlass requested, but role plain has no access.roles.plain.breakGlass',
    ],
  ])(
    'refuses a duration %s, saying why',
    async (_what, role, durationSeconds, breakGlass, expected, actual) => {
      await expect(
        refusedWith(() =>
          ask(alice, { role, durationSeconds, breakGlass, reason: 'prod is down since 10:02' }),
        ),
      ).resolves.toBe('ERR_ACCESS_INVALID');
      expect(lastRefusal()).toEqual({
        at: T0,
        action: 'rolegate:RequestAccess',
        code: 'ERR_ACCESS_INVALID',
        actor: 'alice',
        issuer: ISSUER,
        role,
        expected,
        actual,
      });
      expect(await store.listRequests()).toEqual([]);
      expect(events).toEqual([]);
    },
  );

  it('refuses a role that is not requestable, including names of object properties', async () => {
    for (const role of ['orders-reader', 'nope', '__proto__', 'constructor', 'toString']) {
      await expect(refusedWith(() => ask(alice, { role }))).resolves.toBe('ERR_ACCESS_INVALID');
      expect(lastRefusal()).toMatchObject({
        role,
        expected: 'a role listed under access.roles and roles (staging-admin, staging-dba, plain)',
        actual: `role ${JSON.stringify(role)} is not under access.roles`,
      });
    }
  });

  it('refuses a role listed under access.roles that is not a role of the configuration', async () => {
    service = createAccessService({
      store,
      config: () => config,
      roleArn: (name) => (name === 'plain' ? undefined : ARN(name)),
      now: () => now,
      events: { event: (e) => events.push(e), refused: (r) => refusals.push(r) },
    });
    await expect(refusedWith(() => ask(alice, { role: 'plain' }))).resolves.toBe(
      'ERR_ACCESS_INVALID',
    );
    expect(lastRefusal()).toMatchObject({ actual: 'role "plain" is not under roles' });
  });

  it.each([
    [
      'empty',
      '',
      false,
      'a reason of at least 1 visible character',
      'reason has 0 visible of 0 code points, fewer than 1',
    ],
    [
      'spaces',
      ' '.repeat(10),
      false,
      'a reason of at least 1 visible character',
      'reason has 0 visible of 10 code points, fewer than 1',
    ],
    [
      'zero-width spaces',
      '\u200b'.repeat(20),
      false,
      'a reason of at least 1 visible character',
      'reason has 0 visible of 20 code points, fewer than 1',
    ],
    [
      'a short break-glass reason',
      'db down',
      true,
      'a reason of at least 10 visible characters (break-glass)',
      'reason has 6 visible of 7 code points, fewer than 10',
    ],
    [
      'a break-glass reason padded with invisible characters',
      'down\u200b\u200b\u200b\u200b\u2060\u2060\ufeff\u3164\u00ad\u180e',
      true,
      'a reason of at least 10 visible characters (break-glass)',
      'reason has 4 visible of 14 code points, fewer than 10',
    ],
    [
      'a break-glass reason of decomposed accents (5 characters, 10 code points)',
      'e\u0301'.repeat(5),
      true,
      'a reason of at least 10 visible characters (break-glass)',
      'reason has 5 visible of 10 code points, fewer than 10',
    ],
  ])('refuses a reason of %s', async (_what, reason, breakGlass, expected, actual) => {
    await expect(
      refusedWith(() => ask(alice, { reason, breakGlass, durationSeconds: 300 })),
    ).resolves.toBe('ERR_ACCESS_INVALID');
    expect(lastRefusal()).toMatchObject({ expected, actual });
  });

  it('counts a break-glass reason in visible characters, not code units', async () => {
    // Ten grapheme clusters: families are one character each, however many code points.
    const families = '\u{1F468}\u200d\u{1F469}\u200d\u{1F467}'.repeat(10);
    const r = await ask(alice, { reason: families, breakGlass: true, durationSeconds: 300 });
    expect(r.reason).toBe(families);
    const accents = 'e\u0301'.repeat(10);
    await expect(
      ask(alice, { reason: accents, breakGlass: true, durationSeconds: 300 }),
    ).resolves.toMatchObject({ reason: accents });
  });

  it('refuses what the caller’s policies do not allow, storing nothing', async () => {
    await expect(refusedWith(() => ask(bob, {}))).resolves.toBe('ERR_ACCESS_FORBIDDEN');
    expect(lastRefusal()).toMatchObject({
      actor: 'bob',
      expected:
        "an Allow of rolegate:RequestAccess on arn:rolegate:iam:::role/staging-admin with rolegate:RequestedDuration=600, rolegate:BreakGlass=false in the caller's roles (by trust), and no Deny",
      actual: "no Allow in the caller's roles, or a Deny",
    });
    expect(await store.listRequests()).toEqual([]);
  });
});

describe('approving', () => {
  it('never lets the requester approve their own request on a blanket Allow', async () => {
    const r = await ask(alice, {});
    asked = [];
    await expect(
      refusedWith(() => service.approve(alice, authorizeAs(alice), r.id, 'me')),
    ).resolves.toBe('ERR_ACCESS_SELF_APPROVAL');
    // Asked only whether an Allow holds *because* it is the requester's own request:
    // with rolegate:SelfApproval true and without it. This authorizer allows both.
    expect(asked.map((a) => [a.action, a.context['rolegate:SelfApproval']])).toEqual([
      ['rolegate:ApproveAccessRequest', true],
      ['rolegate:ApproveAccessRequest', undefined],
    ]);
    expect(lastRefusal()).toEqual({
      at: T0,
      action: 'rolegate:ApproveAccessRequest',
      code: 'ERR_ACCESS_SELF_APPROVAL',
      actor: 'alice',
      issuer: ISSUER,
      requestId: 'r1',
      role: 'staging-admin',
      expected: `an approver other than the requester alice (${ISSUER}), a break-glass request, or an Allow of rolegate:ApproveAccessRequest that holds only with rolegate:SelfApproval true`,
      actual:
        'the requester approving their own request, not break-glass, and no statement allows self-approval explicitly',
    });
    expect(await store.getRequest(r.id)).toMatchObject({ status: 'pending', approvals: [] });
  });

  it('treats the same subject of another issuer as someone else', async () => {
    const r = await ask(alice, {});
    const other: Caller = { issuer: 'https://other-idp.example.com', subject: 'alice', groups: [] };
    const { grant } = await service.approve(other, authorizeAs(other), r.id, 'ok');
    expect(grant?.subject).toBe('alice');
  });

  it('lets a break-glass request be approved by its requester, with one approval', async () => {
    const r = await ask(alice, {
      role: 'staging-admin',
      reason: 'prod is down since 10:02',
      breakGlass: true,
      durationSeconds: 300,
    });
    now = T0 + 5000;
    const result = await service.approve(alice, authorizeAs(alice), r.id, 'self');
    expect(result.grant).toMatchObject({
      subject: 'alice',
      breakGlass: true,
      startsAt: T0 + 5000,
      expiresAt: T0 + 5000 + 300_000,
    });
  });

  it('moves pending -> approved with a grant from now for the duration, once', async () => {
    const r = await ask(alice, { durationSeconds: 1800 });
    now = T0 + 60_000;
    const result = await service.approve(carol, authorizeAs(carol), r.id, 'looks fine');
    expect(result).toMatchObject({ added: true, granted: true });
    expect(result.request).toMatchObject({
      status: 'approved',
      decidedAt: T0 + 60_000,
      grantId: 'grant-r1',
      approvals: [{ approver: 'carol', comment: 'looks fine', at: T0 + 60_000 }],
    });
    expect(result.grant).toEqual({
      id: 'grant-r1',
      requestId: 'r1',
      role: 'staging-admin',
      roleArn: ARN('staging-admin'),
      issuer: ISSUER,
      subject: 'alice',
      startsAt: T0 + 60_000,
      expiresAt: T0 + 60_000 + 1_800_000,
      breakGlass: false,
      uses: 0,
    });
    expect(changed).toBe(1);
    expect(events.map((e) => [e.type, e.actor, e.at])).toEqual([
      ['requested', 'alice', T0],
      ['approved', 'carol', T0 + 60_000],
    ]);
    // Approving again is idempotent: same grant, no second event.
    const again = await service.approve(carol, authorizeAs(carol), r.id, 'again');
    expect(again).toMatchObject({ added: false, granted: false, grant: { id: 'grant-r1' } });
    expect(events).toHaveLength(2);
  });

  it('needs the role’s number of distinct approvers', async () => {
    const r = await ask(alice, { role: 'staging-dba', durationSeconds: 900 });
    const first = await service.approve(carol, authorizeAs(carol), r.id, '1');
    expect(first).toMatchObject({ granted: false, request: { status: 'pending' } });
    const twice = await service.approve(carol, authorizeAs(carol), r.id, '1 again');
    expect(twice).toMatchObject({ added: false, granted: false });
    const second = await service.approve(dave, authorizeAs(dave), r.id, '2');
    expect(second).toMatchObject({ granted: true, request: { status: 'approved' } });
    expect(second.request.approvals.map((a) => a.approver)).toEqual(['carol', 'dave']);
  });

  it('refuses an approver the policies do not allow', async () => {
    const r = await ask(alice, {});
    allowed = (caller, action) =>
      !(caller.subject === 'dave' && action === 'rolegate:ApproveAccessRequest');
    await expect(
      refusedWith(() => service.approve(dave, authorizeAs(dave), r.id, '')),
    ).resolves.toBe('ERR_ACCESS_FORBIDDEN');
    expect(lastRefusal()).toMatchObject({ requestId: 'r1', actor: 'dave' });
  });

  it('refuses approving a denied request, and denying an approved one (ERR_ACCESS_STATE)', async () => {
    const a = await ask(alice, {});
    const b = await ask(alice, {});
    await service.approve(carol, authorizeAs(carol), a.id, '');
    await service.deny(carol, authorizeAs(carol), b.id, 'no');
    await expect(refusedWith(() => service.deny(dave, authorizeAs(dave), a.id, ''))).resolves.toBe(
      'ERR_ACCESS_STATE',
    );
    expect(lastRefusal()).toMatchObject({
      action: 'rolegate:ApproveAccessRequest',
      requestId: a.id,
      expected: 'a pending request',
      actual: `request ${a.id} is approved`,
    });
    await expect(
      refusedWith(() => service.approve(dave, authorizeAs(dave), b.id, '')),
    ).resolves.toBe('ERR_ACCESS_STATE');
    expect(lastRefusal()).toMatchObject({ actual: `request ${b.id} is denied` });
    expect((await store.getRequest(b.id))?.approvals).toEqual([]);
  });

  it('refuses an unknown request id', async () => {
    await expect(
      refusedWith(() => service.approve(carol, authorizeAs(carol), 'nope', '')),
    ).resolves.toBe('ERR_ACCESS_NOT_FOUND');
    expect(lastRefusal()).toMatchObject({
      requestId: 'nope',
      expected: 'an existing request id',
      actual: 'no request "nope"',
    });
  });
});

describe('denying', () => {
  it('moves pending -> denied, by an approver or by the requester withdrawing', async () => {
    const a = await ask(alice, {});
    const b = await ask(alice, {});
    now = T0 + 1000;
    expect(await service.deny(carol, authorizeAs(carol), a.id, 'not now')).toMatchObject({
      status: 'denied',
      deniedBy: 'carol',
      denyComment: 'not now',
      decidedAt: T0 + 1000,
    });
    allowed = () => false;
    expect(await service.deny(alice, authorizeAs(alice), b.id, 'withdrawn')).toMatchObject({
      status: 'denied',
      deniedBy: 'alice',
    });
    await expect(refusedWith(() => service.deny(bob, authorizeAs(bob), a.id, ''))).resolves.toBe(
      'ERR_ACCESS_FORBIDDEN',
    );
    expect(events.map((e) => e.type)).toEqual(['requested', 'requested', 'denied', 'denied']);
  });
});

describe('grants', () => {
  it('are revoked once, by the holder or whoever may revoke, and leave the active list', async () => {
    const r = await ask(alice, {});
    const { grant } = await service.approve(carol, authorizeAs(carol), r.id, '');
    const id = grant?.id as string;
    expect((await service.grants(carol, authorizeAs(carol))).map((g) => g.id)).toEqual([id]);
    await expect(refusedWith(() => service.revoke(bob, authorizeAs(bob), id))).resolves.toBe(
      'ERR_ACCESS_FORBIDDEN',
    );
    now = T0 + 10_000;
    const revoked = await service.revoke(alice, authorizeAs(alice), id);
    expect(revoked).toMatchObject({ revokedAt: T0 + 10_000, revokedBy: 'alice' });
    now = T0 + 20_000;
    // A second revoke returns the first and sends no second event.
    expect(await service.revoke(carol, authorizeAs(carol), id)).toMatchObject({
      revokedAt: T0 + 10_000,
      revokedBy: 'alice',
    });
    expect(events.filter((e) => e.type === 'revoked')).toHaveLength(1);
    expect(await service.grants(carol, authorizeAs(carol))).toEqual([]);
    await expect(
      refusedWith(() => service.revoke(carol, authorizeAs(carol), 'grant-x')),
    ).resolves.toBe('ERR_ACCESS_NOT_FOUND');
    expect(lastRefusal()).toMatchObject({ grantId: 'grant-x', actual: 'no grant "grant-x"' });
  });

  it('expire on the clock: the sweep reports each once', async () => {
    const r = await ask(alice, { durationSeconds: 120 });
    await service.approve(carol, authorizeAs(carol), r.id, '');
    now = T0 + 119_999;
    expect(await service.sweepExpired()).toEqual([]);
    expect(await service.grants(alice, authorizeAs(alice))).toHaveLength(1);
    now = T0 + 120_000;
    expect((await service.sweepExpired()).map((g) => g.id)).toEqual(['grant-r1']);
    expect(await service.sweepExpired()).toEqual([]);
    expect(events.filter((e) => e.type === 'expired')).toEqual([
      expect.objectContaining({ at: T0 + 120_000 }),
    ]);
    expect(await service.grants(alice, authorizeAs(alice))).toEqual([]);
  });
});

describe('reading', () => {
  it('shows callers their own requests and those they may list, nothing else', async () => {
    const r = await ask(alice, {});
    allowed = (caller) => caller.subject === 'carol';
    expect((await service.list(carol, authorizeAs(carol))).map((x) => x.id)).toEqual([r.id]);
    expect((await service.list(alice, authorizeAs(alice))).map((x) => x.id)).toEqual([r.id]);
    expect(await service.list(bob, authorizeAs(bob))).toEqual([]);
    await expect(refusedWith(() => service.show(bob, authorizeAs(bob), r.id))).resolves.toBe(
      'ERR_ACCESS_FORBIDDEN',
    );
  });
});

describe('a failing store', () => {
  it('is a refusal of its own (ERR_ACCESS_STORE), never an allow', async () => {
    const broken: AccessStore = {
      ...store,
      createRequest: () => Promise.reject(new Error('disk I/O error')),
      createRequests: () => Promise.reject(new Error('disk I/O error')),
    };
    const s = createAccessService({
      store: broken,
      config: () => config,
      roleArn: (name) => ARN(name),
      now: () => now,
      events: { event: (e) => events.push(e), refused: (x) => refusals.push(x) },
    });
    await expect(
      refusedWith(() =>
        s.request(alice, authorizeAs(alice), {
          role: 'staging-admin',
          durationSeconds: 600,
          reason: 'x',
        }),
      ),
    ).resolves.toBe('ERR_ACCESS_STORE');
    expect(lastRefusal()).toMatchObject({
      expected: 'the access store to answer',
      actual: 'Error: disk I/O error',
    });
    expect(events).toEqual([]);
  });
});

describe('refusals the authorizer explains', () => {
  const explaining = (text: string) => (): { allowed: boolean; explain: () => string } => ({
    allowed: false,
    explain: () => text,
  });

  it('records which layer and statement stopped the action, for the operator only', async () => {
    const why = 'role engineer: no guardrail statement allows rolegate:RequestAccess on x';
    const err = await service
      .request(alice, explaining(why), { role: 'staging-admin', durationSeconds: 600, reason: 'x' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RolegateError);
    expect(err).toMatchObject({ code: 'ERR_ACCESS_FORBIDDEN', message: why });
    expect(lastRefusal()).toMatchObject({ code: 'ERR_ACCESS_FORBIDDEN', actual: why });
    expect(await store.listRequests()).toEqual([]);
  });

  it('explains a refused approval, denial, show and revocation the same way', async () => {
    const r = await ask(alice, {});
    const why =
      'role approver: guardrail g statement NoApprovals denies rolegate:ApproveAccessRequest';
    for (const call of [
      () => service.approve(carol, explaining(why), r.id, 'ok'),
      () => service.deny(carol, explaining(why), r.id, 'no'),
      () => service.show(carol, explaining(why), r.id),
    ]) {
      await expect(refusedWith(call)).resolves.toBe('ERR_ACCESS_FORBIDDEN');
      expect(lastRefusal().actual).toBe(why);
    }
    const { grant } = await service.approve(carol, authorizeAs(carol), r.id, 'ok');
    await expect(
      refusedWith(() => service.revoke(dave, explaining(why), grant?.id ?? '')),
    ).resolves.toBe('ERR_ACCESS_FORBIDDEN');
    expect(lastRefusal().actual).toBe(why);
  });

  it('fails closed on a verdict that is not allowed: true, and says it has no explanation', async () => {
    const notTrue = () => ({ allowed: 'yes' as unknown as boolean });
    await expect(
      refusedWith(() =>
        service.request(alice, notTrue, {
          role: 'staging-admin',
          durationSeconds: 600,
          reason: 'x',
        }),
      ),
    ).resolves.toBe('ERR_ACCESS_FORBIDDEN');
    expect(lastRefusal().actual).toBe("no Allow in the caller's roles, or a Deny");
  });

  it('puts the field and the limit in the error the service throws', async () => {
    const err = await ask(alice, { durationSeconds: 18_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'ERR_ACCESS_INVALID',
      message: "durationSeconds 18000 exceeds staging-admin's maxGrantSeconds 7200",
    });
  });
});
