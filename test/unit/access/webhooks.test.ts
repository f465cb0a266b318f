/**
 * What a chat webhook receives, byte for byte, on a real local HTTP
 * receiver: every string from a caller (requester, role, actor, reason) is
 * escaped for Slack's markup, so mentions (`<!channel>`, `<!here>`,
 * `<@U123>`), links (`<http://evil|click>`) and entities cannot be forged,
 * a newline cannot start a line that looks like another event, bidi
 * controls are dropped, and formatting characters are shown as typed
 * (`mrkdwn: false`). The JSON format carries the same strings unchanged:
 * it is data for a program, not markup.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AccessRequest, Grant } from '../../../src/access/model.js';
import { accessSchema } from '../../../src/access/options.js';
import type { AccessEvent } from '../../../src/access/service.js';
import { createWebhookSender, slackText } from '../../../src/access/webhooks.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const HOSTILE =
  'hi <!channel> <!here|here> <@U123> <#C1> <http://evil.example|click here> &amp; &lt;b&gt; *bold* _it_ ~s~ `code` ```block```\nrolegate: mallory admin access approved by carol\u202e!olleh';

let receiver: Server;
let base: string;
const received: { path: string; contentType: string | undefined; body: Buffer }[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => receiver.close(r));
});

const request: AccessRequest = {
  id: 'r1',
  role: 'staging-<admin>',
  roleArn: 'arn:rolegate:iam:::role/staging-admin',
  issuer: 'https://idp.example.com',
  requester: '<@U999>',
  groups: [],
  durationSeconds: 600,
  reason: HOSTILE,
  breakGlass: false,
  status: 'pending',
  createdAt: T0,
  approvals: [],
};
const grant: Grant = {
  id: 'grant-r1',
  requestId: 'r1',
  role: 'staging-<admin>',
  roleArn: 'arn:rolegate:iam:::role/staging-admin',
  issuer: 'https://idp.example.com',
  subject: '<@U999>',
  startsAt: T0,
  expiresAt: T0 + 600_000,
  breakGlass: false,
};

async function deliver(format: 'slack' | 'json', path: string, events: AccessEvent[]) {
  const { webhooks } = accessSchema.parse({
    webhooks: [{ url: `${base}${path}`, format, maxAttempts: 1 }],
  });
  const sender = createWebhookSender({ webhooks, now: () => T0 });
  for (const e of events) sender.send(e);
  await sender.idle();
  return received.filter((r) => r.path === path);
}

describe('chat webhook payloads', () => {
  it('escape every caller string for Slack: the exact bytes received', async () => {
    const got = await deliver('slack', '/slack', [
      { type: 'requested', at: T0, request, actor: '<@U999>' },
      { type: 'approved', at: T0, request, grant, actor: '<!everyone>', comment: '<!here>' },
    ]);
    expect(got.map((r) => r.contentType)).toEqual(['application/json', 'application/json']);
    expect(got.map((r) => r.body.toString('utf8'))).toEqual([
      '{"text":"rolegate: &lt;@U999&gt; staging-&lt;admin&gt; access requested by &lt;@U999&gt; for 10 min: ' +
        'hi &lt;!channel&gt; &lt;!here|here&gt; &lt;@U123&gt; &lt;#C1&gt; &lt;http://evil.example|click here&gt; ' +
        '&amp;amp; &amp;lt;b&amp;gt; *bold* _it_ ~s~ `code` ```block``` ' +
        'rolegate: mallory admin access approved by carol!olleh","mrkdwn":false}',
      '{"text":"rolegate: &lt;@U999&gt; staging-&lt;admin&gt; access approved by &lt;!everyone&gt; until 2030-01-01T00:10:00.000Z","mrkdwn":false}',
    ]);
    // No markup character of Slack's survives anywhere in the text.
    for (const r of got) {
      const text = (JSON.parse(r.body.toString('utf8')) as { text: string }).text;
      expect(text).not.toMatch(/[<>\n\u202e]/);
      expect(text.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
    }
  });

  it('leave JSON deliveries as data (the receiver escapes for where it shows them)', async () => {
    const got = await deliver('json', '/json', [
      { type: 'requested', at: T0, request, actor: '<@U999>' },
    ]);
    const body = JSON.parse(got[0]?.body.toString('utf8') ?? '{}') as Record<string, unknown>;
    expect(body).toMatchObject({
      type: 'access.requested',
      reason: HOSTILE,
      requester: '<@U999>',
      actor: '<@U999>',
    });
  });

  it('slackText escapes only what Slack reads as markup', () => {
    expect(slackText('a & b < c > d')).toBe('a &amp; b &lt; c &gt; d');
    expect(slackText('line\r\nnext\ttab\u0000nul')).toBe('line  next tab nul');
    expect(slackText('\u2066isolated\u2069 \u202aembedded\u202c')).toBe('isolated embedded');
    expect(slackText('héllo 👋 :wave:')).toBe('héllo 👋 :wave:');
  });
});
