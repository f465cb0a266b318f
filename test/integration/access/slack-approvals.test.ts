/**
 * Slack approvals: a `format: slack` webhook message of a new request
 * carries approve and deny buttons (received by a real HTTP receiver); a
 * click comes back to `POST /slack/interactions` as Slack sends it (a form
 * with a `payload` field, signed with the app's signing secret over
 * `v0:<timestamp>:<raw body>`), and is decided by the mapped identity's
 * `rolegate:ApproveAccessRequest` through the access service. A forged
 * signature, another secret, a replay, a stale timestamp, an unknown Slack
 * user, a mapped user without the permission and a malformed payload are
 * each a 4xx with their code (generic message) and an audit record with
 * the detail.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Rolegate } from '../../../src/main.js';
import { ERROR_CATALOGUE } from '../../../src/errors.js';
import { JwksIssuer } from '../../harness/jwks.js';
import { accessScenario, api, newAccessRequest, until } from '../../support/access.js';
import { captureLogger } from '../../support/log-capture.js';
import { startTestRolegate } from '../../support/rolegate.js';

const SECRET_ENV = 'ROLEGATE_TEST_SLACK_SIGNING_SECRET';
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const idp = new JwksIssuer({ audience: 'orders-api' });
const audit = captureLogger();
let rolegate: Rolegate;
let receiver: Server;
const messages: Record<string, unknown>[] = [];

const alice = () => idp.mint({ groups: ['engineers'] }, { subject: 'alice' });

/** Slack's documented signature: v0=hex(HMAC-SHA256(secret, "v0:" + ts + ":" + body)). */
const sign = (secret: string, ts: string, body: string) =>
  `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;

/** A block_actions callback body, as Slack sends it. */
function callbackBody(user: string, actionId: string, value: string): string {
  const payload = {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase(), team_id: 'T0TEAM' },
    team: { id: 'T0TEAM' },
    actions: [{ type: 'button', action_id: actionId, block_id: 'rolegate_decision', value }],
    response_url: 'https://hooks.slack.com/actions/T0TEAM/1/x',
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

interface Sent {
  readonly body: string;
  readonly ts?: string;
  readonly signature?: string;
  readonly contentType?: string;
}

/** POSTs a callback; signed now with SECRET unless told otherwise. */
async function post(sent: Sent): Promise<{ status: number; json: Record<string, unknown> }> {
  const ts = sent.ts ?? String(Math.floor(Date.now() / 1000));
  const res = await fetch(`http://127.0.0.1:${rolegate.accessPort as number}/slack/interactions`, {
    method: 'POST',
    headers: {
      'content-type': sent.contentType ?? 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': sent.signature ?? sign(SECRET, ts, sent.body),
    },
    body: sent.body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const newRequest = async (reason: string) =>
  newAccessRequest(rolegate.accessPort as number, await alice(), reason);

const show = async (id: string) =>
  (await api(rolegate.accessPort as number, 'GET', `/requests/${id}`, await alice())).json;

/** The audit records of refused callbacks and of refusals about request `id`. */
const refusals = (id?: string) =>
  audit
    .records()
    .filter((r) => r['msg'] === 'access_refused')
    .map((r) => r['access'] as Record<string, unknown>)
    .filter((r) =>
      id === undefined ? r['action'] === 'POST /slack/interactions' : r['request_id'] === id,
    );

/** The refusal answer: the code and the catalogue's generic message, nothing else. */
const refusal = (status: number, code: keyof typeof ERROR_CATALOGUE) => ({
  status,
  json: { error: code, message: ERROR_CATALOGUE[code] },
});

beforeAll(async () => {
  process.env[SECRET_ENV] = SECRET;
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      messages.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  await idp.start();
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/slack`;
  ({ rolegate } = await startTestRolegate(
    accessScenario(idp.issuer, undefined, {
      webhooks: [{ url: hook, format: 'slack', events: ['requested'] }],
      slack: {
        signingSecretEnv: SECRET_ENV,
        users: {
          U0CAROL: { issuer: idp.issuer, subject: 'carol', groups: ['admins'] },
          U0BOB: { issuer: idp.issuer, subject: 'bob', groups: ['engineers'] },
        },
      },
    }),
    { ops: captureLogger('warn'), audit },
    { accessPort: 0 },
  ));
}, 30_000);

afterAll(async () => {
  await rolegate?.stop().catch(() => undefined);
  await new Promise((r) => receiver?.close(r));
  await idp.stop();
  delete process.env[SECRET_ENV];
}, 30_000);

describe('Slack approvals', () => {
  it('sends buttons with a new request, and a signed click approves it as the mapped approver', async () => {
    const id = await newRequest('slack approve');
    await until(() => messages.some((m) => JSON.stringify(m).includes(id)));
    const message = messages.find((m) => JSON.stringify(m).includes(id)) as {
      text: string;
      blocks: { type: string; elements?: { action_id: string; value: string }[] }[];
    };
    expect(message.text).toContain('staging-admin access requested');
    const buttons = message.blocks.find((b) => b.type === 'actions')?.elements ?? [];
    expect(buttons.map((b) => [b.action_id, b.value])).toEqual([
      ['rolegate_approve', id],
      ['rolegate_deny', id],
    ]);
    const approve = buttons[0] as { action_id: string; value: string };
    const answer = await post({ body: callbackBody('U0CAROL', approve.action_id, approve.value) });
    expect(answer).toEqual({ status: 200, json: { text: `approve: request ${id} is approved` } });
    expect(await show(id)).toMatchObject({
      status: 'approved',
      approvals: [{ approver: 'carol', comment: 'via Slack (U0CAROL)' }],
    });
    expect(refusals()).toEqual([]);
  });

  it('a signed deny click denies', async () => {
    const id = await newRequest('slack deny');
    const answer = await post({ body: callbackBody('U0CAROL', 'rolegate_deny', id) });
    expect(answer.status).toBe(200);
    expect(await show(id)).toMatchObject({ status: 'denied', deniedBy: 'carol' });
  });

  it('refuses a forged signature and one made with another secret', async () => {
    const id = await newRequest('forged');
    const body = callbackBody('U0CAROL', 'rolegate_approve', id);
    const forged = await post({ body, signature: `v0=${'ab'.repeat(32)}` });
    expect(forged).toEqual(refusal(401, 'ERR_ACCESS_SLACK_SIGNATURE'));
    const ts = String(Math.floor(Date.now() / 1000));
    const other = await post({ body, ts, signature: sign('another-secret', ts, body) });
    expect(other).toEqual(refusal(401, 'ERR_ACCESS_SLACK_SIGNATURE'));
    // A body altered after signing: the signature is of another body.
    const altered = await post({
      body: callbackBody('U0CAROL', 'rolegate_approve', `${id}x`),
      ts,
      signature: sign(SECRET, ts, body),
    });
    expect(altered).toEqual(refusal(401, 'ERR_ACCESS_SLACK_SIGNATURE'));
    expect((await show(id))['status']).toBe('pending');
    expect(refusals().slice(-3)).toEqual([
      expect.objectContaining({
        reason: 'ERR_ACCESS_SLACK_SIGNATURE',
        actual: expect.stringContaining('does not match'),
      }),
      expect.objectContaining({
        reason: 'ERR_ACCESS_SLACK_SIGNATURE',
        actual: expect.stringContaining('does not match'),
      }),
      expect.objectContaining({
        reason: 'ERR_ACCESS_SLACK_SIGNATURE',
        actual: expect.stringContaining('does not match'),
      }),
    ]);
  });

  it('refuses a replayed callback and a stale timestamp', async () => {
    const id = await newRequest('replay');
    const ts = String(Math.floor(Date.now() / 1000));
    const body = callbackBody('U0CAROL', 'rolegate_deny', id);
    const signature = sign(SECRET, ts, body);
    expect((await post({ body, ts, signature })).status).toBe(200);
    expect(await post({ body, ts, signature })).toEqual(refusal(401, 'ERR_ACCESS_SLACK_REPLAY'));
    const old = String(Math.floor(Date.now() / 1000) - 301);
    const other = await newRequest('stale');
    const staleBody = callbackBody('U0CAROL', 'rolegate_approve', other);
    expect(await post({ body: staleBody, ts: old })).toEqual(
      refusal(401, 'ERR_ACCESS_SLACK_STALE'),
    );
    expect((await show(other))['status']).toBe('pending');
    expect(refusals().slice(-2)).toEqual([
      expect.objectContaining({
        reason: 'ERR_ACCESS_SLACK_REPLAY',
        actual: 'a callback already taken (replayed)',
      }),
      expect.objectContaining({
        reason: 'ERR_ACCESS_SLACK_STALE',
        actual: expect.stringMatching(/^a timestamp 30[12] s old$/),
      }),
    ]);
  });

  it('refuses an unknown Slack user, and a mapped one whose policies do not allow approving', async () => {
    const id = await newRequest('who clicked');
    expect(await post({ body: callbackBody('U0MALLORY', 'rolegate_approve', id) })).toEqual(
      refusal(403, 'ERR_ACCESS_SLACK_USER'),
    );
    expect(await post({ body: callbackBody('U0BOB', 'rolegate_approve', id) })).toEqual(
      refusal(403, 'ERR_ACCESS_FORBIDDEN'),
    );
    expect((await show(id))['status']).toBe('pending');
    expect(refusals(id)).toEqual([
      expect.objectContaining({
        reason: 'ERR_ACCESS_SLACK_USER',
        actor: '',
        actual: 'Slack user "U0MALLORY" is not listed',
      }),
      expect.objectContaining({
        reason: 'ERR_ACCESS_FORBIDDEN',
        action: 'rolegate:ApproveAccessRequest',
        actor: 'bob',
      }),
    ]);
  });

  it('refuses a malformed callback, naming the field', async () => {
    const id = await newRequest('malformed');
    const cases: [Sent, number, keyof typeof ERROR_CATALOGUE, string][] = [
      [{ body: 'text=hello' }, 400, 'ERR_ACCESS_SLACK_PAYLOAD', 'form field "text"'],
      [{ body: 'payload=%7B' }, 400, 'ERR_ACCESS_SLACK_PAYLOAD', 'payload is not JSON'],
      [
        { body: callbackBody('U0CAROL', 'rolegate_escalate', id) },
        400,
        'ERR_ACCESS_SLACK_PAYLOAD',
        'action_id "rolegate_escalate"',
      ],
      [
        { body: callbackBody('U0CAROL', 'rolegate_approve', id), contentType: 'application/json' },
        415,
        'ERR_ACCESS_CONTENT_TYPE',
        'Content-Type: "application/json"',
      ],
      [
        { body: 'payload=x', signature: 'sha256=nope' },
        401,
        'ERR_ACCESS_SLACK_SIGNATURE',
        'not v0=<64 hex>',
      ],
      [{ body: 'payload=x', ts: 'yesterday' }, 401, 'ERR_ACCESS_SLACK_SIGNATURE', '"yesterday"'],
    ];
    for (const [sent, status, code, actual] of cases) {
      expect(await post(sent)).toEqual(refusal(status, code));
      expect(refusals().at(-1)).toEqual(
        expect.objectContaining({ reason: code, actual: expect.stringContaining(actual) }),
      );
    }
    expect((await show(id))['status']).toBe('pending');
  });
});
