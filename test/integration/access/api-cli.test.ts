/**
 * The access API and `rolegate access` against an in-process rolegate with
 * the embedded store: who may do what is decided by rolegate's own
 * policies, a requester never approves their own request, a reader never
 * sees others' requests, the approval count is configurable, break-glass
 * self-approval is flagged, and every refusal is an audit record.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Rolegate } from '../../../src/main.js';
import { JwksIssuer } from '../../harness/jwks.js';
import { accessScenario, api } from '../../support/access.js';
import { captureLogger } from '../../support/log-capture.js';
import { startTestRolegate } from '../../support/rolegate.js';
import { lines, runCli } from '../../unit/cli/cli-io.js';

const idp = new JwksIssuer({ audience: 'orders-api' });
const audit = captureLogger();
const ops = captureLogger('warn');
let rolegate: Rolegate;
let port: number;

const token = (sub: string, groups: string[]) =>
  idp.mint({ groups }, { subject: sub, expiresIn: '1h' });
const alice = () => token('alice', ['engineers']);
const bob = () => token('bob', ['engineers']);
const carol = () => token('carol', ['admins']);
const dave = () => token('dave', ['admins']);

const refusals = () =>
  audit
    .records()
    .filter((r) => r['msg'] === 'access_refused')
    .map((r) => r['access'] as Record<string, unknown>);

async function cli(tok: string, ...argv: string[]) {
  return runCli(['access', ...argv, '--url', `http://127.0.0.1:${port}`, '--token', tok]);
}

beforeAll(async () => {
  await idp.start();
  ({ rolegate } = await startTestRolegate(
    accessScenario(idp.issuer, undefined, {
      roles: {
        'staging-admin': { maxGrantSeconds: 7200, breakGlass: { maxSeconds: 600 } },
        'staging-dba': { maxGrantSeconds: 3600, approvals: 2 },
      },
    }),
    { ops, audit },
    { accessPort: 0 },
  ));
  port = rolegate.accessPort as number;
}, 30_000);

afterAll(async () => {
  await rolegate?.stop().catch(() => undefined);
  await idp.stop();
});

describe('rolegate access (CLI) against the access API', () => {
  it('requests, lists, approves and revokes, as tables and as JSON', async () => {
    const req = await cli(
      await alice(),
      'request',
      '--role',
      'staging-admin',
      '--duration',
      '30m',
      '--reason',
      'deploy fix',
      '--ticket',
      'OPS-7',
    );
    expect(req.status).toBe(0);
    const [header, row] = lines(req.out);
    expect(header).toMatch(/^ID\s+ROLE\s+REQUESTER\s+DURATIONSECONDS\s+STATUS/);
    expect(row).toMatch(/staging-admin\s+alice\s+1800\s+pending/);
    const id = (row as string).split(/\s+/)[0] as string;

    const listed = await cli(await carol(), 'list', '--status', 'pending', '--format', 'json');
    expect(listed.status).toBe(0);
    expect(
      (JSON.parse(listed.out) as { requests: { id: string }[] }).requests.map((r) => r.id),
    ).toContain(id);

    const approved = await cli(await carol(), 'approve', id, '--comment', 'go', '--format', 'json');
    expect(approved.status).toBe(0);
    const grant = (JSON.parse(approved.out) as { grant: { id: string; subject: string } }).grant;
    expect(grant.subject).toBe('alice');

    const shown = await cli(await alice(), 'show', id, '--format', 'json');
    expect(JSON.parse(shown.out)).toMatchObject({
      status: 'approved',
      grantId: grant.id,
      approvals: [{ approver: 'carol', comment: 'go' }],
    });

    const grants = await cli(await alice(), 'list', '--grants');
    expect(grants.out).toContain(grant.id);

    const revoked = await cli(await carol(), 'revoke', grant.id);
    expect(revoked.status).toBe(0);
    expect(revoked.out).toMatch(/REVOKEDAT/);
  });

  it('asks for several roles with a session policy from a file, and reviews grants with their use', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rolegate-cli-session-'));
    const file = join(dir, 'read-only.json');
    writeFileSync(
      file,
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*' }],
      }),
    );
    const req = await cli(
      await alice(),
      'request',
      '--role',
      'staging-admin',
      '--role',
      'staging-dba',
      '--reason',
      'INC-9',
      '--duration',
      '30m',
      '--session-policy',
      file,
      '--format',
      'json',
    );
    expect(req.status).toBe(0);
    const made = JSON.parse(req.out) as {
      bundleId: string;
      requests: { id: string; role: string; bundleId: string; sessionPolicy: unknown }[];
    };
    expect(made.requests.map((r) => [r.role, r.bundleId])).toEqual([
      ['staging-admin', made.bundleId],
      ['staging-dba', made.bundleId],
    ]);
    expect(made.requests[0]?.sessionPolicy).toEqual(JSON.parse(readFileSync(file, 'utf8')));
    const id = made.requests[0]?.id ?? '';
    expect((await cli(await carol(), 'approve', id)).status).toBe(0);

    const review = await cli(await carol(), 'review', '--window', '1h');
    expect(review.status).toBe(0);
    expect(lines(review.out)[0]).toMatch(
      /^ID\s+ROLE\s+SUBJECT\s+STARTSAT\s+ACTIVE\s+USES\s+LASTUSEDAT$/,
    );
    expect(review.out).toContain(`grant-${id}`);

    const bad = await cli(
      await alice(),
      'request',
      '--role',
      'staging-admin',
      '--reason',
      'x',
      '--session-policy',
      join(dir, 'missing.json'),
    );
    expect(bad.status).toBe(2);
    expect(bad.err).toContain('--session-policy');
  });

  it('refuses self-approval, others approving without permission, and reports the code on stderr', async () => {
    const { json } = await api(port, 'POST', '/requests', await alice(), {
      role: 'staging-admin',
      durationSeconds: 600,
      reason: 'look at logs',
    });
    const id = json['id'] as string;
    const self = await cli(await alice(), 'approve', id);
    expect(self.status).toBe(1);
    expect(self.err).toMatch(/ERR_ACCESS_SELF_APPROVAL/);
    const peer = await cli(await bob(), 'approve', id);
    expect(peer.err).toMatch(/ERR_ACCESS_FORBIDDEN/);
    expect(refusals().filter((r) => r['request_id'] === id)).toEqual([
      expect.objectContaining({
        action: 'rolegate:ApproveAccessRequest',
        reason: 'ERR_ACCESS_SELF_APPROVAL',
        actor: 'alice',
      }),
      expect.objectContaining({
        action: 'rolegate:ApproveAccessRequest',
        reason: 'ERR_ACCESS_FORBIDDEN',
        actor: 'bob',
      }),
    ]);
  });

  it("never shows a reader someone else's request", async () => {
    const { json } = await api(port, 'POST', '/requests', await alice(), {
      role: 'staging-admin',
      durationSeconds: 600,
      reason: 'private',
    });
    const id = json['id'] as string;
    const list = await api(port, 'GET', '/requests', await bob());
    expect(
      (list.json['requests'] as { requester: string }[]).every((r) => r.requester === 'bob'),
    ).toBe(true);
    const show = await api(port, 'GET', `/requests/${id}`, await bob());
    expect(show).toMatchObject({ status: 403, json: { error: 'ERR_ACCESS_FORBIDDEN' } });
    expect(refusals()).toContainEqual(
      expect.objectContaining({
        action: 'rolegate:ListAccessRequests',
        actor: 'bob',
        request_id: id,
      }),
    );
  });

  it("bounds durations by the role's maxGrantSeconds and by the caller's policy", async () => {
    const tooLong = await api(port, 'POST', '/requests', await alice(), {
      role: 'staging-admin',
      durationSeconds: 7201,
      reason: 'x',
    });
    expect(tooLong).toMatchObject({ status: 400, json: { error: 'ERR_ACCESS_INVALID' } });
    // 2 h is within the role's bound but the engineer policy allows requests of at most 1 h.
    const overPolicy = await api(port, 'POST', '/requests', await alice(), {
      role: 'staging-admin',
      durationSeconds: 7200,
      reason: 'x',
    });
    expect(overPolicy).toMatchObject({ status: 403, json: { error: 'ERR_ACCESS_FORBIDDEN' } });
    const unknown = await api(port, 'POST', '/requests', await alice(), {
      role: 'no-such-role',
      durationSeconds: 600,
      reason: 'x',
    });
    expect(unknown.status).toBe(400);
  });

  it('tells the operator the field and the limit, and the client the code and its entry', async () => {
    const tooLong = await cli(
      await alice(),
      'request',
      '--role',
      'staging-admin',
      '--duration',
      '5h',
      '--reason',
      'x',
    );
    expect(tooLong.status).toBe(1);
    expect(lines(tooLong.err)).toEqual([
      'rolegate access: ERR_ACCESS_INVALID: 400: an access API call is malformed (unknown role, duration out of bounds, missing reason) (docs/errors.md#err_access_invalid)',
    ]);
    expect(refusals().at(-1)).toMatchObject({
      action: 'rolegate:RequestAccess',
      reason: 'ERR_ACCESS_INVALID',
      actor: 'alice',
      role: 'staging-admin',
      actual: "durationSeconds 18000 exceeds staging-admin's maxGrantSeconds 7200",
    });
    // Within the role's bound, but the engineer policy allows at most 1 h.
    const overPolicy = await cli(
      await alice(),
      'request',
      '--role',
      'staging-admin',
      '--duration',
      '2h',
      '--reason',
      'x',
    );
    expect(lines(overPolicy.err)).toEqual([
      "rolegate access: ERR_ACCESS_FORBIDDEN: 403: rolegate's own policies do not allow the caller this access action (docs/errors.md#err_access_forbidden)",
    ]);
    expect(overPolicy.err).not.toContain('RequestStagingRolesUpToAnHour');
    expect(refusals().at(-1)).toMatchObject({
      reason: 'ERR_ACCESS_FORBIDDEN',
      expected: expect.stringContaining('rolegate:RequestedDuration=7200'),
    });
  });

  it('needs the configured number of distinct approvals, each approver counted once', async () => {
    const { json } = await api(port, 'POST', '/requests', await alice(), {
      role: 'staging-dba',
      durationSeconds: 600,
      reason: 'two keys',
    });
    const id = json['id'] as string;
    const first = await api(port, 'POST', `/requests/${id}/approve`, await carol(), {});
    expect(first.json).toMatchObject({ request: { status: 'pending' } });
    expect(first.json['grant']).toBeUndefined();
    const again = await api(port, 'POST', `/requests/${id}/approve`, await carol(), {});
    expect(again.json).toMatchObject({
      request: { status: 'pending', approvals: [{ approver: 'carol' }] },
    });
    const second = await api(port, 'POST', `/requests/${id}/approve`, await dave(), {});
    expect(second.json).toMatchObject({
      request: { status: 'approved' },
      grant: { role: 'staging-dba' },
    });
    const late = await api(port, 'POST', `/requests/${id}/deny`, await carol(), {});
    expect(late).toMatchObject({ status: 409, json: { error: 'ERR_ACCESS_STATE' } });
  });

  it('audits a malformed call once', async () => {
    const before = refusals().length;
    const res = await fetch(`http://127.0.0.1:${port}/v1/access/requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await alice()}`, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(res.status).toBe(400);
    expect(refusals().slice(before)).toEqual([
      expect.objectContaining({
        reason: 'ERR_INPUT_SYNTAX',
        actor: 'alice',
        action: 'POST /v1/access/requests',
      }),
    ]);
    const self = await api(port, 'POST', '/requests', await alice(), {
      role: 'nope',
      durationSeconds: 600,
      reason: 'x',
    });
    expect(self.status).toBe(400);
    expect(refusals().slice(before + 1)).toHaveLength(1);
  });

  it('refuses a call without a valid token, audited', async () => {
    const res = await api(port, 'GET', '/requests', undefined);
    expect(res).toMatchObject({ status: 401, json: { error: 'ERR_CREDENTIAL_MISSING' } });
    expect(refusals().at(-1)).toMatchObject({
      reason: 'ERR_CREDENTIAL_MISSING',
      action: 'GET /v1/access/requests',
    });
  });

  it('lets a break-glass request be self-approved, flagged in the audit', async () => {
    const short = await api(port, 'POST', '/requests', await alice(), {
      role: 'staging-admin',
      durationSeconds: 600,
      reason: 'short',
      breakGlass: true,
    });
    expect(short.status).toBe(400);
    const { json } = await api(port, 'POST', '/requests', await alice(), {
      role: 'staging-admin',
      durationSeconds: 600,
      reason: 'prod is down, paging did not work',
      breakGlass: true,
    });
    const id = json['id'] as string;
    const self = await api(port, 'POST', `/requests/${id}/approve`, await alice(), {});
    expect(self.status).toBe(200);
    const approved = audit
      .records()
      .map((r) => r['access'] as Record<string, unknown> | undefined)
      .find((a) => a?.['event'] === 'approved' && a['request_id'] === id);
    expect(approved).toMatchObject({ break_glass: true, actor: 'alice' });
  });

  it('exports the access metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${rolegate.adminPort}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('rolegate_access_approval_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(value('rolegate_access_active_grants')).toBeGreaterThanOrEqual(0);
    expect(value('rolegate_access_open_requests')).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(/^rolegate_access_grants_ended_total\{how="revoked"\} [1-9]/m);
    expect(text).toMatch(/^rolegate_access_events_total\{event="requested"\} [1-9]/m);
    expect(text).toMatch(
      /^rolegate_access_refusals_total\{reason="ERR_ACCESS_SELF_APPROVAL"\} 1$/m,
    );
  });

  it('a usage error never echoes a token', async () => {
    const tok = await alice();
    const res = await runCli(['access', 'list', tok]);
    expect(res.status).toBe(2);
    expect(res.err).not.toContain(tok);
  });
});
