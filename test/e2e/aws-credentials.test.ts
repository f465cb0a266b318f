/**
 * Upstream AWS credentials through the real Envoy: client -> Envoy ->
 * ext_authz -> rolegate -> STS (moto_server) and on to the echo upstream,
 * which then calls `sts:GetCallerIdentity` on moto with what it received.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Rolegate } from '../../src/main.js';
import { DENY_BODY } from '../../src/response/check-response.js';
import { EchoUpstream, type EchoedRequest } from '../harness/echo-upstream.js';
import { route } from '../harness/envoy-config.js';
import { assertEnvoyImage, EnvoyPeer } from '../harness/envoy.js';
import { JwksIssuer } from '../harness/jwks.js';
import { MOTO_ACCOUNT, MotoServer } from '../harness/moto.js';
import { freePort } from '../harness/ports.js';
import { captureLogger } from '../support/log-capture.js';
import { startTestRolegate } from '../support/rolegate.js';

// The SDK clients (rolegate's and the test's) find these through the default
// provider chain; moto accepts any key. rolegate's config holds none.
process.env['AWS_ACCESS_KEY_ID'] = 'testing';
process.env['AWS_SECRET_ACCESS_KEY'] = 'testing';
process.env['AWS_REGION'] = 'us-east-1';

const moto = new MotoServer();
const idp = new JwksIssuer({ audience: 'files-api' });
const upstream = new EchoUpstream();
let envoy: EnvoyPeer;
let rolegate: Rolegate;
let fileRoleArn = '';
let iamRoleArn = '';
/** The config the shared rolegate runs (set by the beforeAll). */
let awsConfig: Record<string, unknown> & { aws: Record<string, unknown> };
const audit = captureLogger();
const ops = captureLogger('warn');

const H = {
  key: 'x-rolegate-aws-access-key-id',
  secret: 'x-rolegate-aws-secret-access-key',
  token: 'x-rolegate-aws-session-token',
  expiration: 'x-rolegate-aws-expiration',
};

async function call(
  path: string,
  token: string,
  headers: Record<string, string> = {},
  via: EnvoyPeer = envoy,
) {
  const res = await fetch(via.url(path), {
    headers: { ...headers, authorization: `Bearer ${token}` },
  });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** What moto says the credentials an upstream received belong to. */
async function callerIdentity(seen: EchoedRequest | undefined): Promise<string | undefined> {
  const h = (name: string) => String(seen?.headers[name] ?? '');
  const sts = new STSClient({
    endpoint: moto.url('/').replace(/\/$/, ''),
    region: 'us-east-1',
    credentials: {
      accessKeyId: h(H.key),
      secretAccessKey: h(H.secret),
      sessionToken: h(H.token),
    },
  });
  return (await sts.send(new GetCallerIdentityCommand({}))).Arn;
}

const allowAll = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'files:*', Resource: '*' }],
});

beforeAll(async () => {
  await assertEnvoyImage();
  await Promise.all([moto.start(), idp.start(), upstream.start()]);
  const endpoint = `http://127.0.0.1:${moto.port}`;
  const issuerHost = idp.issuer.replace(/^https?:\/\//, '');
  const provider = `arn:aws:iam::${MOTO_ACCOUNT}:oidc-provider/${issuerHost}`;
  const iam = new IAMClient({ endpoint, region: 'us-east-1' });
  // A role only rolegate assumes (no OIDC trust in AWS): AssumeRole path.
  const created = await iam.send(
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
  fileRoleArn = created.Role?.Arn ?? '';
  // A role read from IAM that trusts the issuer as an OIDC provider: web identity path.
  const federated = await iam.send(
    new CreateRoleCommand({
      RoleName: 'files-reader',
      Path: '/rolegate/',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Federated: provider },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: { StringEquals: { [`${issuerHost}:sub`]: 'reader-bob' } },
          },
        ],
      }),
    }),
  );
  iamRoleArn = federated.Role?.Arn ?? '';
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

  awsConfig = {
    issuers: [{ issuer: idp.issuer, audiences: ['files-api'], federatedPrincipals: [provider] }],
    roles: [
      {
        name: 'files-writer',
        arn: fileRoleArn,
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
        policies: { all: JSON.parse(allowAll) as unknown },
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
      {
        method: 'GET',
        path: '/maybe/{id}',
        action: 'files:GetFile',
        resource: '*',
        credentials: 'optional',
      },
      { method: 'GET', path: '/plain/{id}', action: 'files:GetFile', resource: '*' },
    ],
    aws: {
      endpoint,
      iam: { pathPrefix: '/rolegate/', refreshSeconds: 3600 },
      sts: { durationSeconds: 900, sessionTags: { team: 'team' } },
    },
  };
  ({ rolegate } = await startTestRolegate(awsConfig, { ops, audit }, { watch: false }));
  envoy = new EnvoyPeer({
    rolegatePort: rolegate.grpcPort,
    upstreamPort: upstream.port,
    routes: [
      route({
        prefix: '/ctx-creds/',
        contextExtensions: { action: 'files:GetFile', resource: '*', credentials: 'required' },
      }),
    ],
  });
  await envoy.start();
  await envoy.waitForCluster('rolegate');
}, 180_000);

afterAll(async () => {
  await envoy?.stop();
  await rolegate?.stop().catch(() => undefined);
  await Promise.all([idp.stop(), upstream.stop(), moto.stop()]);
});

describe('STS credentials for upstreams through a real Envoy', () => {
  it('loaded the IAM role at start', () => {
    expect(rolegate.lastIamSync()).toBeDefined();
    expect(rolegate.current().roles.map((r) => r.arn)).toEqual([fileRoleArn, iamRoleArn]);
  });

  it('hands the upstream AssumeRole credentials it can use as the assumed role', async () => {
    upstream.clear();
    const token = await idp.mint({ team: 'storage' }, { subject: 'writer-alice' });
    const res = await call('/files/1', token);
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/files/1');
    expect(seen?.headers[H.key]).toMatch(/^ASIA/);
    expect(Date.parse(String(seen?.headers[H.expiration]))).toBeGreaterThan(Date.now());
    expect(await callerIdentity(seen)).toBe(
      `arn:aws:sts::${MOTO_ACCOUNT}:assumed-role/files-writer/writer-alice`,
    );
    // Context extensions can ask for credentials too; the cached set is reused.
    const again = await call('/ctx-creds/x', token);
    expect(again.status).toBe(200);
    const [ctx] = upstream.requestsTo('/ctx-creds/x');
    expect(ctx?.headers[H.key]).toBe(seen?.headers[H.key]);
  });

  it('uses AssumeRoleWithWebIdentity for an IAM role that trusts the issuer', async () => {
    upstream.clear();
    const token = await idp.mint({}, { subject: 'reader-bob' });
    const res = await call('/files/2', token);
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/files/2');
    expect(seen?.headers['x-rolegate-role']).toBe(iamRoleArn);
    expect(await callerIdentity(seen)).toBe(
      `arn:aws:sts::${MOTO_ACCOUNT}:assumed-role/files-reader/reader-bob`,
    );
    expect(rolegate.metrics.registry.getSingleMetric('rolegate_sts_calls_total')).toBeDefined();
    const calls = await rolegate.metrics.registry.getSingleMetricAsString(
      'rolegate_sts_calls_total',
    );
    expect(calls).toMatch(/api="AssumeRoleWithWebIdentity",result="success"\} 1/);
  });

  it('never forwards client-supplied credential headers', async () => {
    upstream.clear();
    const token = await idp.mint({}, { subject: 'writer-carol' });
    const forged = {
      [H.key]: 'AKIAFORGED',
      [H.secret]: 'forged-secret',
      [H.token]: 'forged-token',
      [H.expiration]: '2099-01-01T00:00:00Z',
    };
    expect((await call('/plain/3', token, forged)).status).toBe(200);
    const [plain] = upstream.requestsTo('/plain/3');
    for (const name of Object.values(H)) expect(plain?.headers[name]).toBeUndefined();
    expect((await call('/files/3', token, forged)).status).toBe(200);
    const [creds] = upstream.requestsTo('/files/3');
    expect(creds?.headers[H.key]).not.toBe('AKIAFORGED');
    expect(creds?.headers[H.token]).not.toBe('forged-token');
  });

  it('denies with ERR_STS_FAILED when STS fails, unless the route marks credentials optional', async () => {
    // Its own rolegate and Envoy, whose STS endpoint is a loopback port nothing
    // listens on: the shared moto and rolegate stay up for the other tests.
    const deadEndpoint = `http://127.0.0.1:${await freePort()}`;
    const { iam: _iam, ...awsWithoutIam } = awsConfig.aws;
    const own = await startTestRolegate(
      { ...awsConfig, aws: { ...awsWithoutIam, endpoint: deadEndpoint } },
      { ops, audit },
      { watch: false },
    );
    const proxy = new EnvoyPeer({
      rolegatePort: own.rolegate.grpcPort,
      upstreamPort: upstream.port,
    });
    try {
      await proxy.start();
      await proxy.waitForCluster('rolegate');
      upstream.clear();
      const token = await idp.mint({}, { subject: 'writer-dave' });
      const denied = await call('/files/4', token, {}, proxy);
      expect(denied.status).toBe(403);
      expect(denied.body).toBe(DENY_BODY[403]);
      expect(upstream.requestsTo('/files/4')).toHaveLength(0);
      const deniedRecord = audit.auditFor(denied.headers.get('x-rolegate-decision-id'));
      expect(deniedRecord).toMatchObject({ decision: 'deny', reason: 'ERR_STS_FAILED' });
      // The deny comes out of the decision itself: no role is named as having allowed it.
      expect(deniedRecord).not.toHaveProperty('role');
      const optional = await call('/maybe/4', token, {}, proxy);
      expect(optional.status).toBe(200);
      const [seen] = upstream.requestsTo('/maybe/4');
      expect(seen?.headers[H.key]).toBeUndefined();
      // Nothing rolegate logged holds a credential or the token.
      const logged = ops.lines.join('\n') + audit.lines.join('\n');
      expect(logged).not.toContain(token);
      expect(logged).not.toMatch(/ASIA[A-Z0-9]{12,}/);
    } finally {
      await proxy.stop();
      await own.rolegate.stop().catch(() => undefined);
    }
  }, 60_000);
});
