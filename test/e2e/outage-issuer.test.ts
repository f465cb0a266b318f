/**
 * The OIDC issuer stops under a request stream through the real Envoy:
 * cached keys serve through the stale window (valid tokens 200), then every
 * token is refused with 401 (never a 200 for a token whose key cannot be
 * proven, a token verified earlier included); a token naming a key the
 * issuer never published is refused throughout; when the issuer is back,
 * the same rolegate recovers without a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Rolegate } from '../../src/main.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { assertEnvoyImage, EnvoyPeer } from '../harness/envoy.js';
import { JwksIssuer } from '../harness/jwks.js';
import { freePort } from '../harness/ports.js';
import { until } from '../support/access.js';
import { allowPolicy, ORDER_ROUTES, webIdentityTrust } from '../support/fixtures.js';
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

/** Short windows: keys are fresh for 1 s, then serve stale for 3 s more. */
const MAX_AGE_S = 1;
const STALE_S = 3;
/** Slack for timers and event-loop lag on a loaded machine. */
const SLACK_MS = 500;
/**
 * How much earlier than the issuer's last answer rolegate's last good fetch
 * may be, should that answer be lost as the issuer stops: fetches come at
 * least once per max age or cooldown (1 s each) under the stream.
 */
const LOST_FETCH_MS = 1500;

let idp: JwksIssuer;
/** The issuer's URL, kept: the harness only reports it while the issuer runs. */
let issuer = '';
const upstream = new EchoUpstream();
const audit = captureLogger();
const ops = captureLogger('warn');
let envoy: EnvoyPeer;
let rolegate: Rolegate;

type Kind = 'known' | 'fresh' | 'unknownKid';

/** A token verified before the outage (it sits in the verified-token cache). */
let known = '';
const mintFresh = (seq: number) =>
  idp.mint({ groups: ['readers'], n: seq }, { issuer, subject: 'alice', expiresIn: '10m' });

async function send(kind: Kind, seq: number) {
  const token =
    kind === 'known'
      ? known
      : kind === 'fresh'
        ? await mintFresh(seq)
        : // Signed by the issuer's key but naming one it never published: unprovable.
          await idp.mint(
            { groups: ['readers'], n: seq },
            { issuer, subject: 'alice', kid: 'never-published' },
          );
  return sendHttp(envoy.url(`/orders/${seq}`), { headers: { authorization: `Bearer ${token}` } });
}

/** Key fetches of the issuer that failed, from rolegate's /metrics. */
const fetchFailures = async () =>
  metricValue(await scrapeMetrics(rolegate.adminPort), 'rolegate_jwks_fetches_total', {
    result: 'failure',
  });

beforeAll(async () => {
  await assertEnvoyImage();
  // A fixed port, so the issuer comes back at the same URL.
  idp = new JwksIssuer({ audience: 'orders-api', port: await freePort() });
  await Promise.all([idp.start(), upstream.start()]);
  issuer = idp.issuer;
  const prefix = idp.issuer.replace('http://', '');
  ({ rolegate } = await startTestRolegate(
    {
      issuers: [
        {
          issuer: idp.issuer,
          audiences: ['orders-api'],
          keys: { maxAgeSeconds: MAX_AGE_S, staleSeconds: STALE_S, cooldownSeconds: 1 },
        },
      ],
      roles: [
        {
          name: 'orders-reader',
          trustPolicy: webIdentityTrust(idp.issuer, {
            StringEquals: { [`${prefix}:aud`]: 'orders-api' },
            'ForAnyValue:StringEquals': { 'jwt:groups': ['readers'] },
          }),
          policies: { read: allowPolicy(['orders:Get*'], 'arn:rolegate:orders:::order/*') },
        },
      ],
      routes: ORDER_ROUTES,
    },
    { ops, audit },
    { watch: false },
  ));
  envoy = new EnvoyPeer({ rolegatePort: rolegate.grpcPort, upstreamPort: upstream.port });
  await envoy.start();
  await envoy.waitForCluster('rolegate');
  known = await mintFresh(-1);
}, 120_000);

// rolegate's stop() alone waits shutdownDelaySeconds (default 3 s): more than jest's 5 s default with Envoy's.
afterAll(async () => {
  await envoy?.stop();
  await rolegate?.stop().catch(() => undefined);
  await Promise.all([idp?.stop(), upstream.stop()]);
}, 30_000);

describe('OIDC issuer outage through Envoy', () => {
  it('stale keys serve, then 401 and never 200; recovers when the issuer is back', async () => {
    const stream = startRequestStream<Kind>({
      kinds: ['known', 'fresh', 'unknownKid'],
      send,
      concurrency: 2,
      pauseMs: 15,
      maxRequests: 3000,
    });
    let samples: StreamSample<Kind>[] = [];
    try {
      await stream.waitFor(30);
      // Stop just after a key fetch answered, so a fetch is seldom in flight when it goes.
      const fetched = idp.requestCount('/jwks.json');
      await until(() => idp.requestCount('/jwks.json') > fetched, 10_000);
      await new Promise((r) => setTimeout(r, 100));
      const failuresBefore = await fetchFailures();
      await idp.stop();
      const stopped = Date.now();
      const lastFetch = idp.answeredAt.get('/jwks.json') as number;
      const windowMs = (MAX_AGE_S + STALE_S) * 1000;
      // rolegate's last good fetch lies between (about) the issuer's last answer and the
      // stop: the keys serve at least until staleEnd and at most until staleOver.
      const staleEnd = lastFetch - LOST_FETCH_MS + windowMs;
      const staleOver = stopped + windowMs + SLACK_MS;
      await until(() => Date.now() > staleOver + 2000, 20_000);
      await stream.waitFor(60);
      expect(await fetchFailures()).toBeGreaterThan(failuresBefore);

      const restarted = Date.now();
      await idp.start();
      // Back without a restart of rolegate: fresh tokens pass again.
      await until(
        () =>
          within(stream.samples, { from: restarted }).some(
            (s) => s.kind === 'fresh' && s.status === 200,
          ),
        15_000,
      );
      const recovered = Date.now();
      await stream.waitFor(60);
      samples = await stream.stop();

      const before = within(samples, { to: staleEnd });
      const outage = within(samples, { from: lastFetch });
      const after = within(samples, { from: staleOver, to: restarted });
      const back = within(samples, { from: recovered });
      // Every request got an answer from rolegate (no timeouts, no 5xx).
      expect(samples.filter((s) => s.status !== 200 && s.status !== 401)).toEqual([]);
      // Before the stale window ends: valid tokens pass (cached or not), the unprovable one never.
      const beforeCounts = statusesByKind(before);
      expect(beforeCounts.known).toEqual({ 200: expect.any(Number) });
      expect(beforeCounts.fresh).toEqual({ 200: expect.any(Number) });
      expect(beforeCounts.unknownKid).toEqual({ 401: expect.any(Number) });
      // Some of those were answered from stale keys, after the issuer had gone.
      expect(
        within(outage, { to: staleEnd }).filter((s) => s.kind === 'fresh' && s.status === 200)
          .length,
      ).toBeGreaterThan(0);
      // After it: zero 200s, whatever the token.
      expect(after.length).toBeGreaterThanOrEqual(20);
      expect(after.filter((s) => s.status === 200)).toEqual([]);
      const reasons = new Set(after.map((s) => audit.auditFor(s.decisionId)?.['reason']));
      expect(reasons.has('ERR_JWKS_UNAVAILABLE')).toBe(true);
      for (const r of reasons) {
        expect(['ERR_JWKS_UNAVAILABLE', 'ERR_TOKEN_KID_UNKNOWN']).toContain(r);
      }
      // The unprovable kid is never allowed, not even with the issuer back.
      expect(samples.filter((s) => s.kind === 'unknownKid' && s.status === 200)).toEqual([]);
      // Back: the cached and the fresh tokens pass again.
      const backCounts = statusesByKind(back);
      expect(backCounts.known).toEqual({ 200: expect.any(Number) });
      expect(backCounts.fresh).toEqual({ 200: expect.any(Number) });
      process.stdout.write(
        `issuer outage: ${samples.length} requests; before ${JSON.stringify(beforeCounts)}, ` +
          `after ${JSON.stringify(statusesByKind(after))}, back ${JSON.stringify(backCounts)}\n`,
      );
    } finally {
      if (samples.length === 0) await stream.stop();
    }
  }, 90_000);
});
