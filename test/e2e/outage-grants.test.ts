/**
 * The grants database (PostgreSQL) stops under a request stream through the
 * real Envoy: a just-in-time grant keeps working through the staleness
 * window, then is denied (never a 200 after it), while static roles are
 * unaffected throughout; a metric and a log line say the store is
 * unreachable; when the database is back the grant works again. (The
 * two-replica, gRPC-level version of this case is
 * test/integration/access/replicas.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Rolegate } from '../../src/main.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { assertEnvoyImage, EnvoyPeer } from '../harness/envoy.js';
import { JwksIssuer } from '../harness/jwks.js';
import { PostgresPeer } from '../harness/postgres.js';
import { accessScenario, ADMIN_ARN, api, until } from '../support/access.js';
import { captureLogger } from '../support/log-capture.js';
import { metricValue, scrapeMetrics } from '../support/metrics.js';
import {
  sendHttp,
  startRequestStream,
  statusesByKind,
  within,
  type StreamSample,
} from '../support/request-stream.js';
import { startTestRolegate } from '../support/rolegate.js';

const STALENESS_S = 3;
/** Slack for timers and scrapes on a loaded machine. */
const SLACK_MS = 500;
const URL_ENV = 'ROLEGATE_TEST_OUTAGE_PG_URL';

const idp = new JwksIssuer({ audience: 'orders-api' });
const db = new PostgresPeer();
const upstream = new EchoUpstream();
const audit = captureLogger();
const ops = captureLogger('warn');
let envoy: EnvoyPeer;
let rolegate: Rolegate;
let aliceToken = '';

const refreshes = async (result: string): Promise<number> =>
  metricValue(
    await scrapeMetrics(rolegate.adminPort),
    'rolegate_access_grant_cache_refreshes_total',
    {
      result,
    },
  );

beforeAll(async () => {
  await assertEnvoyImage();
  await Promise.all([idp.start(), db.start(), upstream.start()]);
  process.env[URL_ENV] = db.url();
  ({ rolegate } = await startTestRolegate(
    accessScenario(
      idp.issuer,
      { kind: 'postgres', urlEnv: URL_ENV },
      { refreshMs: 200, stalenessSeconds: STALENESS_S },
    ),
    { ops, audit },
    { accessPort: 0, watch: false },
  ));
  envoy = new EnvoyPeer({ rolegatePort: rolegate.grpcPort, upstreamPort: upstream.port });
  await envoy.start();
  await envoy.waitForCluster('rolegate');
  // alice (engineer: static GET) holds a grant of staging-admin (DELETE).
  aliceToken = await idp.mint({ groups: ['engineers'] }, { subject: 'alice', expiresIn: '1h' });
  const carol = await idp.mint({ groups: ['admins'] }, { subject: 'carol', expiresIn: '1h' });
  const port = rolegate.accessPort as number;
  const created = await api(port, 'POST', '/requests', aliceToken, {
    role: 'staging-admin',
    durationSeconds: 1800,
    reason: 'outage test',
  });
  expect(created.status).toBe(201);
  const approved = await api(
    port,
    'POST',
    `/requests/${created.json['id'] as string}/approve`,
    carol,
    {},
  );
  expect(approved.status).toBe(200);
}, 120_000);

afterAll(async () => {
  await envoy?.stop();
  await rolegate?.stop().catch(() => undefined);
  await db.stop();
  await Promise.all([idp.stop(), upstream.stop()]);
}, 30_000);

describe('grants database outage through Envoy', () => {
  it('grants hold through the staleness window, then are denied; static roles unaffected; back: granted again', async () => {
    type Kind = 'grant' | 'static';
    const stream = startRequestStream<Kind>({
      kinds: ['grant', 'static'],
      send: (kind, seq) =>
        sendHttp(envoy.url(`/orders/${seq}`), {
          method: kind === 'grant' ? 'DELETE' : 'GET',
          headers: { authorization: `Bearer ${aliceToken}` },
        }),
      concurrency: 2,
      pauseMs: 10,
      maxRequests: 3000,
    });
    let samples: StreamSample<Kind>[] = [];
    try {
      await stream.waitFor(20);
      // Stop just after a refresh succeeded: the window then ends about STALENESS_S from here.
      const ok = await refreshes('success');
      await until(async () => (await refreshes('success')) > ok, 10_000);
      const refreshed = Date.now();
      const failuresBefore = await refreshes('failure');
      await db.halt();
      const halted = Date.now();
      const windowEnd = halted + STALENESS_S * 1000;
      await until(() => Date.now() > windowEnd + SLACK_MS + 2000, 20_000);
      await stream.waitFor(20);
      expect(await refreshes('failure')).toBeGreaterThan(failuresBefore);
      expect(
        ops.lines.some((l) =>
          l.includes('access store unreachable; known grants are honoured only within'),
        ),
      ).toBe(true);

      const restarted = Date.now();
      await db.start();
      await until(
        () =>
          within(stream.samples, { from: restarted }).some(
            (s) => s.kind === 'grant' && s.status === 200,
          ),
        20_000,
      );
      const recovered = Date.now();
      await stream.waitFor(20);
      samples = await stream.stop();

      // Inside the window (the last good refresh was at `refreshed` or later): the grant holds.
      const inside = within(samples, { to: refreshed + STALENESS_S * 1000 - SLACK_MS });
      const afterWindow = within(samples, { from: windowEnd + SLACK_MS, to: restarted });
      expect(statusesByKind(inside)).toEqual({
        grant: { 200: expect.any(Number) },
        static: { 200: expect.any(Number) },
      });
      expect(
        within(inside, { from: halted }).filter((s) => s.kind === 'grant').length,
      ).toBeGreaterThan(0);
      const grantAllow = inside.find((s) => s.kind === 'grant');
      expect(audit.auditFor(grantAllow?.decisionId)).toMatchObject({
        decision: 'allow',
        role: ADMIN_ARN,
        grant_id: expect.any(String),
      });
      // After it: the grant is denied (never a 200), static access is untouched.
      expect(afterWindow.length).toBeGreaterThanOrEqual(10);
      expect(statusesByKind(afterWindow)).toEqual({
        grant: { 403: expect.any(Number) },
        static: { 200: expect.any(Number) },
      });
      // Static access never failed, before, during or after.
      expect(statusesByKind(samples.filter((s) => s.kind === 'static'))).toEqual({
        static: { 200: expect.any(Number) },
      });
      expect(statusesByKind(within(samples, { from: recovered }))).toEqual({
        grant: { 200: expect.any(Number) },
        static: { 200: expect.any(Number) },
      });
      expect(samples.filter((s) => s.status !== 200 && s.status !== 403)).toEqual([]);
      process.stdout.write(
        `grants outage: ${samples.length} requests; inside ${JSON.stringify(statusesByKind(inside))}, ` +
          `after ${JSON.stringify(statusesByKind(afterWindow))}\n`,
      );
    } finally {
      if (samples.length === 0) await stream.stop();
    }
  }, 90_000);
});
