/**
 * AWS outages under a request stream through the real Envoy, with moto as
 * IAM and STS. IAM sync fails: the last good IAM roles keep deciding, and a
 * metric and a log line say the sync failed; when moto is back the sync
 * succeeds again. STS fails: requests whose route needs credentials are
 * denied with ERR_STS_FAILED (403, audit record), requests that need none
 * are unaffected.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import type { Rolegate } from '../../src/main.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { assertEnvoyImage, EnvoyPeer } from '../harness/envoy.js';
import { JwksIssuer } from '../harness/jwks.js';
import { MOTO_ACCOUNT, MotoServer } from '../harness/moto.js';
import { freePort } from '../harness/ports.js';
import { until } from '../support/access.js';
import { captureLogger } from '../support/log-capture.js';
import { metricValue, scrapeMetrics } from '../support/metrics.js';
import {
  sendHttp,
  startRequestStream,
  statusesByKind,
  upstreamHeader,
  within,
  type StreamSample,
} from '../support/request-stream.js';
import { startTestRolegate } from '../support/rolegate.js';

// rolegate's and the test's SDK clients find these through the default chain; moto takes any.
process.env['AWS_ACCESS_KEY_ID'] = 'testing';
process.env['AWS_SECRET_ACCESS_KEY'] = 'testing';
process.env['AWS_REGION'] = 'us-east-1';

let moto: MotoServer;
const idp = new JwksIssuer({ audience: 'files-api' });
const upstream = new EchoUpstream();
const audit = captureLogger();
const ops = captureLogger('warn');
let envoy: EnvoyPeer;
let rolegate: Rolegate;
let endpoint = '';
const WRITER_ARN = `arn:aws:iam::${MOTO_ACCOUNT}:role/upstream/files-writer`;
const READER_ARN = `arn:aws:iam::${MOTO_ACCOUNT}:role/rolegate/files-reader`;

/** The roles moto holds (again after each restart: it keeps nothing). */
async function seedMoto(): Promise<void> {
  const iam = new IAMClient({ endpoint, region: 'us-east-1' });
  const issuerHost = idp.issuer.replace(/^https?:\/\//, '');
  await iam.send(
    new CreateRoleCommand({
      RoleName: 'files-writer',
      Path: '/upstream/',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${MOTO_ACCOUNT}:role/rolegate` },
            Action: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'],
          },
        ],
      }),
    }),
  );
  // Read by the IAM sync: it trusts the issuer, so readers get it.
  await iam.send(
    new CreateRoleCommand({
      RoleName: 'files-reader',
      Path: '/rolegate/',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: {
              Federated: `arn:aws:iam::${MOTO_ACCOUNT}:oidc-provider/${issuerHost}`,
            },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: { StringLike: { [`${issuerHost}:sub`]: 'reader-*' } },
          },
        ],
      }),
    }),
  );
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: 'files-reader',
      PolicyName: 'read',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'files:GetFile', Resource: '*' }],
      }),
    }),
  );
}

const counter = async (name: string, labels: Record<string, string>) =>
  metricValue(await scrapeMetrics(rolegate.adminPort), name, labels);

const iamSyncs = (result: string) => counter('rolegate_iam_syncs_total', { result });

const call = async (path: string, subject: string) =>
  sendHttp(envoy.url(path), {
    headers: { authorization: `Bearer ${await idp.mint({}, { subject })}` },
  });

const hasIamRole = () => rolegate.current().roles.some((r) => r.arn === READER_ARN);

beforeAll(async () => {
  await assertEnvoyImage();
  // A fixed port, so a stopped moto comes back at the same endpoint.
  moto = new MotoServer({ port: await freePort() });
  await Promise.all([moto.start(), idp.start(), upstream.start()]);
  endpoint = `http://127.0.0.1:${moto.port}`;
  await seedMoto();
  const issuerHost = idp.issuer.replace(/^https?:\/\//, '');
  ({ rolegate } = await startTestRolegate(
    {
      issuers: [
        {
          issuer: idp.issuer,
          audiences: ['files-api'],
          federatedPrincipals: [`arn:aws:iam::${MOTO_ACCOUNT}:oidc-provider/${issuerHost}`],
        },
      ],
      roles: [
        {
          name: 'files-writer',
          arn: WRITER_ARN,
          trustPolicy: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Federated: idp.issuer },
                Action: 'sts:AssumeRoleWithWebIdentity',
                Condition: { StringLike: { [`${issuerHost}:sub`]: 'writer-*' } },
              },
            ],
          },
          policies: {
            all: {
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: 'files:*', Resource: '*' }],
            },
          },
        },
      ],
      routes: [
        {
          method: 'GET',
          path: '/files/{id}',
          action: 'files:GetFile',
          resource: '*',
          credentials: 'required',
        },
        { method: 'GET', path: '/plain/{id}', action: 'files:GetFile', resource: '*' },
      ],
      aws: {
        endpoint,
        iam: { pathPrefix: '/rolegate/', refreshSeconds: 1, jitter: 0, requestTimeoutMs: 500 },
        sts: { durationSeconds: 900 },
      },
    },
    { ops, audit },
    { watch: false },
  ));
  envoy = new EnvoyPeer({ rolegatePort: rolegate.grpcPort, upstreamPort: upstream.port });
  await envoy.start();
  await envoy.waitForCluster('rolegate');
}, 180_000);

// rolegate's stop() alone waits shutdownDelaySeconds (default 3 s): more than jest's 5 s default with Envoy's.
afterAll(async () => {
  await envoy?.stop();
  await rolegate?.stop().catch(() => undefined);
  await Promise.all([idp.stop(), upstream.stop(), moto?.stop()]);
}, 30_000);

describe('AWS outages through Envoy', () => {
  it('IAM sync fails: the last good IAM roles keep deciding, metric and log say so; back: syncs again', async () => {
    expect(hasIamRole()).toBe(true);
    type Kind = 'iamRole' | 'fileRole';
    const stream = startRequestStream<Kind>({
      kinds: ['iamRole', 'fileRole'],
      send: (kind, seq) =>
        call(`/plain/${seq}`, kind === 'iamRole' ? 'reader-bob' : 'writer-alice'),
      concurrency: 2,
      pauseMs: 10,
      maxRequests: 3000,
    });
    let samples: StreamSample<Kind>[] = [];
    try {
      await stream.waitFor(20);
      const failuresBefore = await iamSyncs('failure');
      const logsBefore = ops.lines.length;
      const down = Date.now();
      await moto.stop();
      // Two failed syncs in a row (the SDK's own retries included).
      await until(async () => (await iamSyncs('failure')) >= failuresBefore + 2, 20_000);
      await stream.waitFor(40);
      const up = Date.now();
      expect(hasIamRole()).toBe(true);
      const failedLines = ops
        .records()
        .slice(logsBefore)
        .filter((r) => r['code'] === 'ERR_IAM_SYNC');
      expect(failedLines.length).toBeGreaterThanOrEqual(2);
      expect(failedLines[0]?.['msg']).toBe(
        'IAM sync failed; keeping the last good set of IAM roles',
      );

      await moto.start();
      await seedMoto();
      const successesAfterSeed = await iamSyncs('success');
      // Synced again from the moto that is back (a sync after the roles were there).
      await until(async () => (await iamSyncs('success')) > successesAfterSeed, 20_000);
      await until(hasIamRole, 5_000);
      const recovered = Date.now();
      await stream.waitFor(20);
      samples = await stream.stop();

      // While IAM was unreachable every request kept its decision.
      const outage = within(samples, { from: down, to: up });
      expect(outage.length).toBeGreaterThanOrEqual(20);
      expect(statusesByKind(outage)).toEqual({
        iamRole: { 200: expect.any(Number) },
        fileRole: { 200: expect.any(Number) },
      });
      const roleSeen = new Set(outage.map((s) => audit.auditFor(s.decisionId)?.['role']));
      expect(roleSeen).toContain(READER_ARN);
      // After recovery too.
      expect(statusesByKind(within(samples, { from: recovered }))).toEqual({
        iamRole: { 200: expect.any(Number) },
        fileRole: { 200: expect.any(Number) },
      });
      // Nothing but allows and (while the empty moto that came back was read) IAM's own denies.
      expect(samples.filter((s) => s.status !== 200 && s.status !== 403)).toEqual([]);
      process.stdout.write(
        `IAM sync outage: ${samples.length} requests; during ${JSON.stringify(statusesByKind(outage))}\n`,
      );
    } finally {
      if (samples.length === 0) await stream.stop();
    }
  }, 90_000);

  it('STS fails: credential routes deny with ERR_STS_FAILED, the others are unaffected', async () => {
    await until(hasIamRole, 5_000);
    type Kind = 'credentials' | 'plain' | 'iamRole';
    let phase: 'up' | 'down' | 'back' = 'up';
    const stream = startRequestStream<Kind>({
      kinds: ['credentials', 'plain', 'iamRole'],
      // A new caller each time: no cached credentials can answer for STS.
      send: (kind, seq) =>
        kind === 'credentials'
          ? call(`/files/${seq}`, `writer-${phase}-${seq}`)
          : call(`/plain/${seq}`, kind === 'plain' ? 'writer-alice' : 'reader-bob'),
      concurrency: 2,
      pauseMs: 10,
      maxRequests: 3000,
    });
    let samples: StreamSample<Kind>[] = [];
    try {
      await stream.waitFor(30);
      const stsFailuresBefore = await counter('rolegate_sts_calls_total', { result: 'failure' });
      const down = Date.now();
      phase = 'down';
      await moto.stop();
      await stream.waitFor(60);
      const up = Date.now();
      phase = 'back';
      await moto.start();
      await seedMoto();
      const back = Date.now();
      await until(
        () =>
          within(stream.samples, { from: back }).some(
            (s) => s.kind === 'credentials' && s.status === 200,
          ),
        15_000,
      );
      await stream.waitFor(30);
      samples = await stream.stop();
      expect(await counter('rolegate_sts_calls_total', { result: 'failure' })).toBeGreaterThan(
        stsFailuresBefore,
      );

      const before = within(samples, { to: down });
      const outage = within(samples, { from: down, to: up });
      expect(statusesByKind(before)).toEqual({
        credentials: { 200: expect.any(Number) },
        plain: { 200: expect.any(Number) },
        iamRole: { 200: expect.any(Number) },
      });
      // Allowed ones carried credentials minted by STS.
      const minted = before.find((s) => s.kind === 'credentials');
      expect(minted && upstreamHeader(minted, 'x-rolegate-aws-access-key-id')).toMatch(/^ASIA/);
      // STS down: every credentials request denied with its code, the others unaffected.
      expect(statusesByKind(outage)).toEqual({
        credentials: { 403: expect.any(Number) },
        plain: { 200: expect.any(Number) },
        iamRole: { 200: expect.any(Number) },
      });
      for (const s of outage.filter((x) => x.kind === 'credentials')) {
        expect(audit.auditFor(s.decisionId)).toMatchObject({
          decision: 'deny',
          reason: 'ERR_STS_FAILED',
        });
      }
      expect(samples.filter((s) => s.status !== 200 && s.status !== 403)).toEqual([]);
      process.stdout.write(
        `STS outage: ${samples.length} requests; during ${JSON.stringify(statusesByKind(outage))}\n`,
      );
    } finally {
      if (samples.length === 0) await stream.stop();
    }
  }, 90_000);

  it('STS and IAM hang (moto frozen): rolegate denies within its own bound, never Envoy timing out; the sync reports it', async () => {
    await until(hasIamRole, 5_000);
    type Kind = 'credentials' | 'plain';
    let phase = 'up';
    const stream = startRequestStream<Kind>({
      kinds: ['credentials', 'plain'],
      send: (kind, seq) =>
        kind === 'credentials'
          ? call(`/files/${seq}`, `writer-hang-${phase}-${seq}`)
          : call(`/plain/${seq}`, 'reader-bob'),
      concurrency: 2,
      pauseMs: 10,
      maxRequests: 3000,
    });
    let samples: StreamSample<Kind>[] = [];
    try {
      await stream.waitFor(20);
      const failuresBefore = await iamSyncs('failure');
      const frozen = Date.now();
      phase = 'frozen';
      moto.pause();
      try {
        // The hanging IAM fails the sync instead of stalling it.
        await until(async () => (await iamSyncs('failure')) > failuresBefore, 20_000);
        await stream.waitFor(30);
      } finally {
        moto.resume();
      }
      const thawed = Date.now();
      phase = 'back';
      await until(
        () =>
          within(stream.samples, { from: thawed }).some(
            (s) => s.kind === 'credentials' && s.status === 200,
          ),
        15_000,
      );
      samples = await stream.stop();

      const during = within(samples, { from: frozen, to: thawed });
      expect(statusesByKind(during)).toEqual({
        credentials: { 403: expect.any(Number) },
        plain: { 200: expect.any(Number) },
      });
      // Each deny is rolegate's own decision (an Envoy timeout would carry no decision id).
      for (const s of during.filter((x) => x.kind === 'credentials')) {
        expect(audit.auditFor(s.decisionId)).toMatchObject({
          decision: 'deny',
          reason: 'ERR_STS_FAILED',
        });
      }
      expect(hasIamRole()).toBe(true);
      expect(samples.filter((s) => s.status !== 200 && s.status !== 403)).toEqual([]);
      process.stdout.write(
        `AWS hang: ${samples.length} requests; during ${JSON.stringify(statusesByKind(during))}\n`,
      );
    } finally {
      if (samples.length === 0) await stream.stop();
    }
  }, 90_000);
});
