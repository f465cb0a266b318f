/**
 * The Slack callback checks (src/access/slack.ts): Slack's own worked
 * example of its signing scheme, the replay window both ways, missing and
 * malformed headers, an unset secret, and the payload parser's refusals.
 */
import { describe, expect, it } from '@jest/globals';
import {
  mappedSlackUser,
  parseSlackAction,
  slackApprovalBlocks,
  slackReplayKey,
  slackSignature,
  verifySlackRequest,
} from '../../../src/access/slack.js';

// Slack's documented example (docs.slack.dev, "Verifying requests from Slack").
const DOC_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const DOC_TS = '1531420618';
const DOC_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const DOC_SIG = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
const NOW = Number(DOC_TS);
const body = Buffer.from(DOC_BODY);

const verify = (
  headers: { timestamp?: string; signature?: string },
  now = NOW,
  secret: string | undefined = DOC_SECRET,
) =>
  verifySlackRequest(
    secret,
    { timestamp: headers.timestamp, signature: headers.signature },
    body,
    now,
    300,
  );

describe('verifySlackRequest', () => {
  it("reproduces Slack's documented signature and accepts it within the window", () => {
    expect(slackSignature(DOC_SECRET, DOC_TS, DOC_BODY)).toBe(DOC_SIG);
    expect(verify({ timestamp: DOC_TS, signature: DOC_SIG })).toBeUndefined();
    expect(verify({ timestamp: DOC_TS, signature: DOC_SIG }, NOW + 300)).toBeUndefined();
    expect(verify({ timestamp: DOC_TS, signature: DOC_SIG }, NOW - 300)).toBeUndefined();
  });

  it.each([
    [
      { timestamp: DOC_TS, signature: DOC_SIG },
      NOW + 301,
      'ERR_ACCESS_SLACK_STALE',
      'a timestamp 301 s old',
    ],
    [
      { timestamp: DOC_TS, signature: DOC_SIG },
      NOW - 301,
      'ERR_ACCESS_SLACK_STALE',
      'a timestamp 301 s in the future',
    ],
    [{ signature: DOC_SIG }, NOW, 'ERR_ACCESS_SLACK_SIGNATURE', 'no x-slack-request-timestamp'],
    [{ timestamp: '1.5', signature: DOC_SIG }, NOW, 'ERR_ACCESS_SLACK_SIGNATURE', '"1.5"'],
    [{ timestamp: DOC_TS }, NOW, 'ERR_ACCESS_SLACK_SIGNATURE', 'no x-slack-signature'],
    [
      { timestamp: DOC_TS, signature: DOC_SIG.toUpperCase() },
      NOW,
      'ERR_ACCESS_SLACK_SIGNATURE',
      'not v0=<64 hex>',
    ],
    [
      { timestamp: String(NOW + 1), signature: DOC_SIG },
      NOW,
      'ERR_ACCESS_SLACK_SIGNATURE',
      'a signature that does not match (forged, altered body, or another secret)',
    ],
  ] as const)('refuses %j at %i: %s', (headers, now, code, actual) => {
    expect(verify(headers, now)).toEqual({ code, expected: expect.any(String), actual });
  });

  it('refuses everything without a secret', () => {
    const headers = { timestamp: DOC_TS, signature: DOC_SIG };
    expect(verifySlackRequest(undefined, headers, body, NOW, 300)).toMatchObject({
      code: 'ERR_ACCESS_SLACK_SIGNATURE',
      actual: expect.stringContaining('signingSecretEnv'),
    });
  });

  it('remembers a callback by a hash, never by its signature', () => {
    const key = slackReplayKey(DOC_TS, DOC_SIG);
    expect(key).toMatch(/^slack:[A-Za-z0-9_-]{43}$/);
    expect(key).not.toContain(DOC_SIG.slice(3, 20));
    expect(slackReplayKey(DOC_TS, DOC_SIG)).toBe(key);
    expect(slackReplayKey(String(NOW + 1), DOC_SIG)).not.toBe(key);
  });
});

describe('parseSlackAction', () => {
  const payload = (p: unknown) => JSON.stringify(p);
  const click = (action: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    payload({ type: 'block_actions', user: { id: 'U1' }, actions: [action], ...extra });

  it('reads the user, the verb and the request id', () => {
    expect(parseSlackAction(click({ action_id: 'rolegate_approve', value: 'r1' }))).toEqual({
      userId: 'U1',
      verb: 'approve',
      requestId: 'r1',
    });
    expect(parseSlackAction(click({ action_id: 'rolegate_deny', value: 'r2' }))).toMatchObject({
      verb: 'deny',
    });
  });

  it.each([
    [undefined, 'no payload field'],
    ['{', 'payload is not JSON'],
    ['[1]', 'another JSON value'],
    [payload({ type: 'view_submission' }), 'payload.type "view_submission"'],
    [payload({ type: 'block_actions', actions: [] }), 'no payload.user.id'],
    [payload({ type: 'block_actions', user: { id: 'U1' }, actions: [] }), 'no single action'],
    [click({ action_id: 'other', value: 'r1' }), 'action_id "other"'],
    [click({ action_id: 'rolegate_approve', value: 7 }), 'no request id'],
  ])('refuses %s: %s', (text, actual) => {
    expect(parseSlackAction(text)).toEqual({
      code: 'ERR_ACCESS_SLACK_PAYLOAD',
      expected: expect.any(String),
      actual,
    });
  });
});

describe('mappedSlackUser and the buttons', () => {
  it('maps listed users only (never through the prototype)', () => {
    const config = {
      signingSecretEnv: 'S',
      toleranceSeconds: 300,
      users: { U1: { issuer: 'https://idp', subject: 'carol', groups: ['admins'] } },
    };
    expect(mappedSlackUser(config, 'U1')).toEqual(config.users.U1);
    expect(mappedSlackUser(config, 'U2')).toMatchObject({ code: 'ERR_ACCESS_SLACK_USER' });
    expect(mappedSlackUser(config, 'constructor')).toMatchObject({ code: 'ERR_ACCESS_SLACK_USER' });
  });

  it('puts the request id on both buttons', () => {
    const blocks = slackApprovalBlocks('text', 'r1') as { elements?: unknown[] }[];
    expect(blocks[1]?.elements).toEqual([
      expect.objectContaining({ action_id: 'rolegate_approve', value: 'r1' }),
      expect.objectContaining({ action_id: 'rolegate_deny', value: 'r1' }),
    ]);
  });
});
