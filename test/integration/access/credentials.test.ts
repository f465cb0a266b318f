/**
 * `rolegate credentials --role NAME` against moto's STS: AWS credential_process
 * JSON (Version 1) for a role the caller may assume statically (the
 * configured STS duration) or through a grant (never longer than the grant
 * has left); refused without either, and for a grant too short for STS's
 * 15-minute minimum. The credentials work: moto's GetCallerIdentity names
 * the assumed role and the caller's session.
 */
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Rolegate } from '../../../src/main.js';
import { JwksIssuer } from '../../harness/jwks.js';
import { MOTO_ACCOUNT, MotoServer } from '../../harness/moto.js';
import { accessScenario, api } from '../../support/access.js';
import { captureLogger } from '../../support/log-capture.js';
import { startTestRolegate } from '../../support/rolegate.js';
import { runCli } from '../../unit/cli/cli-io.js';

process.env['AWS_ACCESS_KEY_ID'] = 'testing';
process.env['AWS_SECRET_ACCESS_KEY'] = 'testing';
process.env['AWS_REGION'] = 'us-east-1';

const idp = new JwksIssuer({ audience: 'orders-api' });
const moto = new MotoServer();
const audit = captureLogger();
let rolegate: Rolegate;
let endpoint: string;

const token = (sub: string, groups: string[]) =>
  idp.mint({ groups }, { subject: sub, expiresIn: '1h' });

async function credentials(tok: string, role: string) {
  return runCli([
    'credentials',
    '--role',
    role,
    '--url',
    `http://127.0.0.1:${rolegate.accessPort as number}`,
    '--token',
    tok,
  ]);
}

async function grantFor(seconds: number, sessionPolicy?: object): Promise<{ expiresAt: string }> {
  const port = rolegate.accessPort as number;
  const { json } = await api(port, 'POST', '/requests', await token('alice', ['engineers']), {
    role: 'staging-admin',
    durationSeconds: seconds,
    reason: 'aws console',
    ...(sessionPolicy === undefined ? {} : { sessionPolicy }),
  });
  const approved = await api(
    port,
    'POST',
    `/requests/${json['id'] as string}/approve`,
    await token('carol', ['admins']),
    {},
  );
  return approved.json['grant'] as { expiresAt: string };
}

beforeAll(async () => {
  await Promise.all([idp.start(), moto.start()]);
  endpoint = `http://127.0.0.1:${moto.port}`;
  const iam = new IAMClient({ endpoint, region: 'us-east-1' });
  const arnOf = async (name: string) =>
    (
      await iam.send(
        new CreateRoleCommand({
          RoleName: name,
          AssumeRolePolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${MOTO_ACCOUNT}:root` },
                Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
              },
            ],
          }),
        }),
      )
    ).Role?.Arn as string;
  const [engineerArn, adminArn] = [await arnOf('engineer'), await arnOf('staging-admin')];
  const config = accessScenario(idp.issuer);
  const roles = config.roles.map((r) =>
    r.name === 'engineer'
      ? { ...r, arn: engineerArn }
      : r.name === 'staging-admin'
        ? { ...r, arn: adminArn }
        : r,
  );
  ({ rolegate } = await startTestRolegate(
    { ...config, roles, aws: { region: 'us-east-1', endpoint, sts: { durationSeconds: 3600 } } },
    { ops: captureLogger('fatal'), audit },
    { accessPort: 0 },
  ));
}, 60_000);

afterAll(async () => {
  await rolegate?.stop().catch(() => undefined);
  await Promise.all([idp.stop(), moto.stop()]);
}, 30_000);

describe('rolegate credentials', () => {
  it('refuses a role the caller may not assume, audited', async () => {
    const res = await credentials(await token('alice', ['engineers']), 'staging-admin');
    expect(res.status).toBe(1);
    expect(res.err).toMatch(/ERR_ACCESS_FORBIDDEN/);
    expect(res.out).toBe('');
  });

  it('issues credentials for a statically assumable role, for the STS duration', async () => {
    const started = Date.now();
    const res = await credentials(await token('alice', ['engineers']), 'engineer');
    expect(res.status).toBe(0);
    const out = JSON.parse(res.out) as Record<string, string | number>;
    expect(out).toMatchObject({
      Version: 1,
      AccessKeyId: expect.any(String),
      SessionToken: expect.any(String),
    });
    const lifetime = Date.parse(out['Expiration'] as string) - started;
    expect(lifetime).toBeGreaterThan(3500_000);
    expect(lifetime).toBeLessThan(3700_000);
    const sts = new STSClient({
      endpoint,
      region: 'us-east-1',
      credentials: {
        accessKeyId: out['AccessKeyId'] as string,
        secretAccessKey: out['SecretAccessKey'] as string,
        sessionToken: out['SessionToken'] as string,
      },
    });
    const who = await sts.send(new GetCallerIdentityCommand({}));
    sts.destroy();
    expect(who.Arn).toMatch(/:assumed-role\/engineer\/alice/);
  });

  it('refuses credentials under a grant narrowed by a session policy, audited', async () => {
    // AWS credentials for the role would carry none of the session policy: the whole role.
    await grantFor(1200, {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*' }],
    });
    const res = await credentials(await token('alice', ['engineers']), 'staging-admin');
    expect(res.status).toBe(1);
    expect(res.err).toMatch(/ERR_ACCESS_FORBIDDEN/);
    expect(res.out).toBe('');
    const refused = audit
      .records()
      .map((r) => r['access'] as Record<string, unknown> | undefined)
      .filter((a) => a?.['event'] === 'refused' && a['action'] === 'rolegate:GetCredentials');
    expect(refused.at(-1)).toMatchObject({
      reason: 'ERR_ACCESS_FORBIDDEN',
      role: 'staging-admin',
      actual: expect.stringContaining('session policy'),
    });
    // Given back, so the next test starts from a role without a grant.
    const port = rolegate.accessPort as number;
    const alice = await token('alice', ['engineers']);
    const { json } = await api(port, 'GET', '/grants', alice);
    for (const g of (json['grants'] ?? []) as { id: string }[]) {
      expect((await api(port, 'POST', `/grants/${g.id}/revoke`, alice)).status).toBe(200);
    }
  });

  it('bounds credentials under a grant by the time the grant has left', async () => {
    const grant = await grantFor(1200);
    const res = await credentials(await token('alice', ['engineers']), 'staging-admin');
    expect(res.status).toBe(0);
    const out = JSON.parse(res.out) as { Expiration: string };
    expect(Date.parse(out.Expiration)).toBeLessThanOrEqual(Date.parse(grant.expiresAt));
    expect(Date.parse(out.Expiration)).toBeGreaterThan(Date.now() + 1100_000);
    const record = audit
      .records()
      .map((r) => r['access'] as Record<string, unknown> | undefined)
      .find((a) => a?.['event'] === 'credentials' && a['grant_id'] !== undefined);
    expect(record).toMatchObject({ subject: 'alice', duration_seconds: expect.any(Number) });
    expect(JSON.stringify(audit.records())).not.toContain(
      out.Expiration === ''
        ? 'x'
        : (JSON.parse(res.out) as { SecretAccessKey: string }).SecretAccessKey,
    );
  });
});
