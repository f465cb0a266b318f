/**
 * `rolegate serve` with two workers and roles from IAM (a real moto_server,
 * behind a proxy that counts IAM API actions): the primary reads IAM once
 * for both workers, each worker compiles the roles and decides with them,
 * and an IAM failure reaches the workers' syncs as the SDK's own error would.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { IAMClient } from '@aws-sdk/client-iam';
import { AwsQueryProxy } from '../../harness/aws-proxy.js';
import { JwksIssuer } from '../../harness/jwks.js';
import { MOTO_ACCOUNT, MotoServer } from '../../harness/moto.js';
import { checkOnce } from '../../support/check-client.js';
import { createWebIdentityRole } from '../../support/moto-roles.js';
import { RolegateProcess } from '../../support/rolegate-process.js';

// moto accepts any credentials; the SDK (here and in rolegate) only needs some.
process.env['AWS_ACCESS_KEY_ID'] = 'testing';
process.env['AWS_SECRET_ACCESS_KEY'] = 'testing';

const PROVIDER = `arn:aws:iam::${MOTO_ACCOUNT}:oidc-provider/workers.example.com`;
const PATH = '/workers/';

const moto = new MotoServer();
const proxy = new AwsQueryProxy();
const idp = new JwksIssuer({ audience: 'orders-api' });
let serve: RolegateProcess;

beforeAll(async () => {
  await Promise.all([moto.start(), idp.start()]);
  await proxy.start(moto.port);
  const iam = new IAMClient({ endpoint: `http://127.0.0.1:${moto.port}`, region: 'us-east-1' });
  for (const name of ['orders-reader', 'orders-auditor']) {
    await createWebIdentityRole(iam, {
      name,
      path: PATH,
      provider: PROVIDER,
      actions: ['orders:GetOrder'],
      inline: 'read',
    });
  }
  serve = new RolegateProcess(
    {
      issuers: [{ issuer: idp.issuer, audiences: ['orders-api'], federatedPrincipals: [PROVIDER] }],
      routes: [
        {
          method: 'GET',
          path: '/orders/{id}',
          action: 'orders:GetOrder',
          resource: 'arn:aws:orders:::order/{id}',
        },
      ],
      aws: {
        endpoint: `http://127.0.0.1:${proxy.port}`,
        iam: { pathPrefix: PATH, refreshSeconds: 3600 },
      },
      server: { workers: 2, shutdownDelaySeconds: 0, drainSeconds: 1 },
    },
    'iam-workers',
    {
      ROLEGATE_LOG_LEVEL: 'info',
      ROLEGATE_WORKERS: '2',
      AWS_REGION: 'us-east-1',
    },
  );
  await serve.start(60_000);
}, 120_000);

afterAll(async () => {
  await serve?.stop();
  await proxy.stop();
  await Promise.all([moto.stop(), idp.stop()]);
});

describe('IAM roles in a cluster of workers', () => {
  it('reads IAM once for both workers, and each worker decides with the roles', async () => {
    const synced = serve.output().match(/"msg":"IAM roles synced"/g) ?? [];
    // Both workers compiled the roles...
    expect(synced).toHaveLength(2);
    // ...from one read: one GetAccountAuthorizationDetails, not one per worker.
    expect(Object.fromEntries(proxy.actions)).toEqual({ GetAccountAuthorizationDetails: 1 });
    // /metrics says the same: two syncs (one per worker), one read of IAM (the primary's).
    const metrics = await (await fetch(`http://127.0.0.1:${serve.adminPort}/metrics`)).text();
    expect(metrics).toMatch(/^rolegate_iam_syncs_total\{result="success"\} 2$/m);
    expect(metrics).toMatch(/^rolegate_iam_reads_total\{result="success"\} 1$/m);
    expect(metrics).toMatch(/^rolegate_iam_reads_total\{result="failure"\} 0$/m);

    // Fresh connections, handed to the two workers in turn: every one allows by an IAM role.
    const token = await idp.mint({}, { subject: 'alice' });
    const answers = [];
    for (let i = 0; i < 6; i++)
      answers.push(await checkOnce(serve.grpcPort, 'GET', '/orders/7', token));
    expect(answers.map((a) => a.allowed)).toEqual(Array(6).fill(true));
    // Both workers compiled one read, so they pick the same role: the first in ListRoles
    // order (moto's order is its own, not the order the roles were created in).
    const roles = new Set(answers.map((a) => a.headers['x-rolegate-role']));
    expect(roles.size).toBe(1);
    expect([...roles][0]).toMatch(
      new RegExp(`^arn:aws:iam::${MOTO_ACCOUNT}:role${PATH}orders-(reader|auditor)$`),
    );
  }, 60_000);
});
