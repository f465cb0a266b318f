/**
 * Webhooks on a real HTTP receiver: every lifecycle event is delivered,
 * signed (the receiver verifies the signature with the shared secret),
 * retried with backoff after failures; the Slack-compatible format carries
 * a `text`, honours its event filter, and always gets break-glass events.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { verifyWebhookSignature } from '../../../src/access/webhooks.js';
import type { Rolegate } from '../../../src/main.js';
import { JwksIssuer } from '../../harness/jwks.js';
import { accessScenario, api, until } from '../../support/access.js';
import { captureLogger } from '../../support/log-capture.js';
import { startTestRolegate } from '../../support/rolegate.js';

const SECRET_ENV = 'ROLEGATE_TEST_WEBHOOK_SECRET';
const SECRET = 'a-shared-secret-of-some-length-123';
const idp = new JwksIssuer({ audience: 'orders-api' });
let rolegate: Rolegate;
let receiver: Server;
const received: {
  path: string;
  attempt: number;
  body: string;
  signature?: string;
  event?: string;
}[] = [];
let jsonAttempts = 0;

const token = (sub: string, groups: string[]) => idp.mint({ groups }, { subject: sub });

beforeAll(async () => {
  process.env[SECRET_ENV] = SECRET;
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const path = req.url ?? '';
      if (path === '/json' && ++jsonAttempts <= 2) {
        res.writeHead(503).end();
        return;
      }
      received.push({
        path,
        attempt: jsonAttempts,
        body,
        ...(typeof req.headers['x-rolegate-signature'] === 'string'
          ? { signature: req.headers['x-rolegate-signature'] }
          : {}),
        ...(typeof req.headers['x-rolegate-event'] === 'string'
          ? { event: req.headers['x-rolegate-event'] }
          : {}),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  await idp.start();
  ({ rolegate } = await startTestRolegate(
    accessScenario(idp.issuer, undefined, {
      webhooks: [
        { url: `${base}/json`, secretEnv: SECRET_ENV, backoffMs: 20, maxAttempts: 5 },
        { url: `${base}/slack`, format: 'slack', events: ['approved'] },
      ],
    }),
    { ops: captureLogger('fatal'), audit: captureLogger() },
    { accessPort: 0 },
  ));
}, 30_000);

afterAll(async () => {
  await rolegate?.stop().catch(() => undefined);
  await new Promise((r) => receiver?.close(r));
  await idp.stop();
}, 30_000);

describe('access webhooks', () => {
  it('delivers each event signed, after retries, and a Slack text for the events asked for', async () => {
    const port = rolegate.accessPort as number;
    const { json } = await api(port, 'POST', '/requests', await token('alice', ['engineers']), {
      role: 'staging-admin',
      durationSeconds: 600,
      reason: 'webhook check',
    });
    const id = json['id'] as string;
    const approved = await api(
      port,
      'POST',
      `/requests/${id}/approve`,
      await token('carol', ['admins']),
      {},
    );
    const grantId = (approved.json['grant'] as { id: string }).id;
    await api(port, 'POST', `/grants/${grantId}/revoke`, await token('carol', ['admins']));

    await until(() => received.filter((r) => r.path === '/json').length === 3);
    const json3 = received.filter((r) => r.path === '/json');
    // The first event got through on the third attempt (two 503s before it).
    expect(json3[0]?.attempt).toBe(3);
    expect(json3.map((r) => [r.event, (JSON.parse(r.body) as { type: string }).type])).toEqual([
      ['requested', 'access.requested'],
      ['approved', 'access.approved'],
      ['revoked', 'access.revoked'],
    ]);
    const now = Math.floor(Date.now() / 1000);
    expect(
      json3.map((r) => verifyWebhookSignature(SECRET, r.signature ?? '', r.body, now)),
    ).toEqual([true, true, true]);
    expect(
      verifyWebhookSignature(SECRET, json3[0]?.signature ?? '', `${json3[0]?.body ?? ''} `, now),
    ).toBe(false);
    expect(
      verifyWebhookSignature('wrong-secret', json3[0]?.signature ?? '', json3[0]?.body ?? '', now),
    ).toBe(false);
    expect(JSON.parse(json3[1]?.body ?? '{}')).toMatchObject({
      request_id: id,
      grant_id: grantId,
      actor: 'carol',
    });

    const slack = received.filter((r) => r.path === '/slack');
    expect(slack).toHaveLength(1);
    expect(JSON.parse(slack[0]?.body ?? '{}')).toEqual({
      text: expect.stringMatching(/^rolegate: alice staging-admin access approved by carol until /),
      mrkdwn: false,
    });
    expect(slack[0]?.signature).toBeUndefined();
  });

  it('sends break-glass events to every webhook whatever its filter', async () => {
    const port = rolegate.accessPort as number;
    await api(port, 'POST', '/requests', await token('alice', ['engineers']), {
      role: 'staging-admin',
      durationSeconds: 300,
      reason: 'prod down, nobody answers the pager',
      breakGlass: true,
    });
    await until(() => received.some((r) => r.path === '/slack' && r.body.includes('BREAK-GLASS')));
    const text = (
      JSON.parse(received.filter((r) => r.path === '/slack').at(-1)?.body ?? '{}') as {
        text: string;
      }
    ).text;
    expect(text).toMatch(
      /BREAK-GLASS rolegate: alice staging-admin access requested by alice for 5 min/,
    );
  });
});
