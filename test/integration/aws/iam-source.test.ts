/**
 * IAM as a role source against a real AWS API server (moto_server): roles
 * and policies are created through the real IAM API with the real SDK,
 * rolegate loads them, and decisions follow IAM from sync to sync.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  IAMClient,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { stringify } from 'yaml';
import { authorize, type Progress } from '../../../src/check/check.js';
import type { LoadedConfig } from '../../../src/config/compile.js';
import { loadConfig } from '../../../src/config/load.js';
import { createAwsIntegration } from '../../../src/aws/integration.js';
import { fetchIamRolesByDetails } from '../../../src/aws/iam-details.js';
import { directIamReader } from '../../../src/aws/iam-reader.js';
import { fetchIamRoles, loadIamRoles, type IamFetch } from '../../../src/aws/iam-source.js';
import { isIamRole } from '../../../src/aws/merge.js';
import type { Principal } from '../../../src/identity/principal.js';
import type { AuthzRequest } from '../../../src/request/types.js';
import { AwsQueryProxy } from '../../harness/aws-proxy.js';
import { MOTO_ACCOUNT, MotoServer } from '../../harness/moto.js';
import { captureLogger } from '../../support/log-capture.js';

// moto accepts any key; rolegate itself reads none from its config.
process.env['AWS_ACCESS_KEY_ID'] = 'testing';
process.env['AWS_SECRET_ACCESS_KEY'] = 'testing';
process.env['AWS_REGION'] = 'us-east-1';

const moto = new MotoServer({ awsManagedPolicies: true });
let iam: IAMClient;
let endpoint: string;

const ISSUER = 'https://idp.example.com';
const PROVIDER = `arn:aws:iam::${MOTO_ACCOUNT}:oidc-provider/idp.example.com`;
const alice: Principal = {
  kind: 'jwt',
  issuer: ISSUER,
  subject: 'alice',
  claims: { sub: 'alice', iss: ISSUER },
  federated: [ISSUER, 'idp.example.com', PROVIDER],
};

const trust = (sub = 'alice') =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: PROVIDER },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: { 'idp.example.com:sub': sub } },
      },
    ],
  });

const allow = (actions: string[], resource = 'arn:aws:orders:::order/*') =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: actions, Resource: resource }],
  });

function req(method: string, path: string): AuthzRequest {
  return {
    requestId: 'r',
    method,
    path,
    query: new Map(),
    host: 'api.example.com',
    headers: {},
    secure: true,
    contextExtensions: {},
  };
}

function decide(runtime: LoadedConfig, method: string, path: string) {
  const p: Progress = { rolesConsidered: [], determining: [] };
  const reason = authorize(req(method, path), alice, runtime, Date.now(), p);
  return { reason, role: p.role?.arn, considered: p.rolesConsidered };
}

/** A file config with an `aws.iam` source pointing at `url`. */
function fileConfig(url: string, pathPrefix: string, extra: Record<string, unknown> = {}): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rolegate-iam-')), 'rolegate.yaml');
  writeFileSync(
    file,
    stringify({
      issuers: [{ issuer: ISSUER, audiences: ['api'], federatedPrincipals: [PROVIDER] }],
      routes: [
        {
          method: 'GET',
          path: '/orders/{id}',
          action: 'orders:GetOrder',
          resource: 'arn:aws:orders:::order/{id}',
        },
        {
          method: 'DELETE',
          path: '/orders/{id}',
          action: 'orders:DeleteOrder',
          resource: 'arn:aws:orders:::order/{id}',
        },
      ],
      aws: { endpoint: url, iam: { pathPrefix, refreshSeconds: 3600 } },
      ...extra,
    }),
  );
  return file;
}

/** Starts the integration for a config and returns what the runtime would be. */
async function integrate(file: string) {
  const logs = captureLogger('debug');
  const loaded = loadConfig(file);
  let changes = 0;
  const aws = createAwsIntegration({ logger: logs.logger, onRolesChanged: () => changes++ });
  await aws.configure(loaded.settings);
  return { aws, logs, runtime: () => aws.compose(loaded), changes: () => changes };
}

async function createRole(name: string, path: string, tags: Record<string, string> = {}) {
  const out = await iam.send(
    new CreateRoleCommand({
      RoleName: name,
      Path: path,
      AssumeRolePolicyDocument: trust(),
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  return out.Role?.Arn ?? '';
}

beforeAll(async () => {
  await moto.start();
  endpoint = `http://127.0.0.1:${moto.port}`;
  iam = new IAMClient({ endpoint, region: 'us-east-1' });
}, 60_000);

afterAll(async () => {
  await moto.stop();
});

describe('loadIamRoles against moto', () => {
  it('loads trust, inline, managed (default version) and boundary, following pagination', async () => {
    const path = '/load/';
    const arn = await createRole('reader', path, { team: 'orders' });
    await createRole('other-team', path, { team: 'billing' });
    await createRole('elsewhere', '/not-selected/', { team: 'orders' });
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'reader',
        PolicyName: 'get',
        PolicyDocument: allow(['orders:GetOrder']),
      }),
    );
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'reader',
        PolicyName: 'list',
        PolicyDocument: allow(['orders:ListOrders']),
      }),
    );
    const managed = [];
    for (const name of ['load-delete', 'load-update']) {
      const created = await iam.send(
        new CreatePolicyCommand({
          PolicyName: name,
          PolicyDocument: allow(['orders:Nothing']),
        }),
      );
      const policyArn = created.Policy?.Arn ?? '';
      // v2 becomes the default: only the default version may count.
      await iam.send(
        new CreatePolicyVersionCommand({
          PolicyArn: policyArn,
          PolicyDocument: allow([name === 'load-delete' ? 'orders:DeleteOrder' : 'orders:Update*']),
          SetAsDefault: true,
        }),
      );
      await iam.send(new AttachRolePolicyCommand({ RoleName: 'reader', PolicyArn: policyArn }));
      managed.push(policyArn);
    }
    const boundary = await iam.send(
      new CreatePolicyCommand({
        PolicyName: 'load-boundary',
        PolicyDocument: allow(['orders:Get*', 'orders:List*', 'orders:Update*']),
      }),
    );
    await iam.send(
      new PutRolePermissionsBoundaryCommand({
        RoleName: 'reader',
        PermissionsBoundary: boundary.Policy?.Arn ?? '',
      }),
    );

    const snapshot = await loadIamRoles(iam, {
      pathPrefix: path,
      tags: { team: 'orders' },
      pageSize: 1,
    });
    expect(snapshot.errors).toEqual([]);
    expect(snapshot.roles.map((r) => r.arn)).toEqual([arn]);
    expect(arn).toBe(`arn:aws:iam::${MOTO_ACCOUNT}:role/load/reader`);
    const [role] = snapshot.roles;
    expect(role?.identity.map((p) => p.name).sort()).toEqual([
      'get',
      'list',
      'load-delete',
      'load-update',
    ]);
    expect(role?.boundary?.name).toBe('reader/boundary');
    expect(role?.webIdentityProviders).toEqual([PROVIDER]);
    expect(role?.tags).toEqual({ team: 'orders' });
  });
});

describe('the read with the fewest calls (GetAccountAuthorizationDetails)', () => {
  const path = '/details/';
  const withoutTime = ({ syncedAt: _, readWith: __, ...rest }: IamFetch) => rest;

  beforeAll(async () => {
    await createRole('details-a', path, { team: 'orders' });
    await createRole('details-b', path, { team: 'billing' });
    await createRole('details-outside', '/elsewhere/', { team: 'orders' });
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'details-a',
        PolicyName: 'inline',
        PolicyDocument: allow(['orders:GetOrder']),
      }),
    );
    const local = await iam.send(
      new CreatePolicyCommand({ PolicyName: 'details-local', PolicyDocument: allow(['orders:X']) }),
    );
    const localArn = local.Policy?.Arn ?? '';
    await iam.send(
      new CreatePolicyVersionCommand({
        PolicyArn: localArn,
        PolicyDocument: allow(['orders:Y']),
        SetAsDefault: true,
      }),
    );
    for (const role of ['details-a', 'details-b']) {
      await iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: localArn }));
    }
    // An AWS managed policy is not in the details answer: read on its own.
    await iam.send(
      new AttachRolePolicyCommand({
        RoleName: 'details-a',
        PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
      }),
    );
    await iam.send(
      new PutRolePermissionsBoundaryCommand({
        RoleName: 'details-b',
        PermissionsBoundary: localArn,
      }),
    );
  });

  it('reads exactly what the role-by-role read does, in one call plus the AWS managed policy', async () => {
    const proxy = new AwsQueryProxy();
    await proxy.start(moto.port);
    try {
      const client = new IAMClient({
        endpoint: `http://127.0.0.1:${proxy.port}`,
        region: 'us-east-1',
      });
      for (const tags of [{}, { team: 'orders' }]) {
        const perRole = await fetchIamRoles(client, { pathPrefix: path, tags });
        proxy.actions.clear();
        const details = await fetchIamRolesByDetails(client, { pathPrefix: path, tags });
        expect(withoutTime(details)).toEqual(withoutTime(perRole));
        expect(Object.fromEntries(proxy.actions)).toEqual({
          GetAccountAuthorizationDetails: 1,
          GetPolicy: 1,
          GetPolicyVersion: 1,
        });
      }
      const [a] = (await fetchIamRolesByDetails(client, { pathPrefix: path })).roles;
      expect(a?.attached.map((d) => d.document)).toEqual([
        JSON.parse(allow(['orders:Y'])),
        expect.anything(),
      ]);
      client.destroy();
    } finally {
      await proxy.stop();
    }
  });

  it('falls back to the role-by-role read when IAM denies the details call, and stays there', async () => {
    const proxy = new AwsQueryProxy();
    await proxy.start(moto.port);
    proxy.denied.add('GetAccountAuthorizationDetails');
    try {
      const read = directIamReader();
      const request = {
        client: { endpoint: `http://127.0.0.1:${proxy.port}` },
        iam: {
          pathPrefix: path,
          tags: {},
          refreshSeconds: 60,
          jitter: 0,
          roleArnAsName: false,
          requestTimeoutMs: 5000,
        },
      };
      const first = await read(request);
      expect(first.readWith).toBe('per-role');
      expect(first.roles.map((r) => r.roleName)).toEqual(['details-a', 'details-b']);
      expect(proxy.count('GetAccountAuthorizationDetails')).toBe(1);
      expect(proxy.count('GetRole')).toBe(2);
      await read(request);
      expect(proxy.count('GetAccountAuthorizationDetails')).toBe(1);

      proxy.denied.clear();
      const allowed = directIamReader();
      expect((await allowed(request)).readWith).toBe('details');
    } finally {
      await proxy.stop();
    }
  });
});

describe('IAM roles in decisions', () => {
  it('changes a decision after the next sync when a policy changes in IAM', async () => {
    const path = '/change/';
    const arn = await createRole('changer', path);
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'changer',
        PolicyName: 'p',
        PolicyDocument: allow(['orders:GetOrder']),
      }),
    );
    const { aws, runtime, changes } = await integrate(fileConfig(endpoint, path));
    try {
      expect(aws.lastIamSync()).toBeDefined();
      const role = runtime().roles.find((r) => r.arn === arn);
      expect(role && isIamRole(role)).toBe(true);
      expect(decide(runtime(), 'GET', '/orders/1')).toMatchObject({ reason: 'OK', role: arn });
      expect(decide(runtime(), 'DELETE', '/orders/1').reason).toBe('ERR_IMPLICIT_DENY');

      await iam.send(
        new PutRolePolicyCommand({
          RoleName: 'changer',
          PolicyName: 'p',
          PolicyDocument: allow(['orders:GetOrder', 'orders:DeleteOrder']),
        }),
      );
      // Not before the next sync...
      expect(decide(runtime(), 'DELETE', '/orders/1').reason).toBe('ERR_IMPLICIT_DENY');
      const before = changes();
      expect(await aws.syncNow()).toBe(true);
      expect(changes()).toBe(before + 1);
      // ...but right after it.
      expect(decide(runtime(), 'DELETE', '/orders/1')).toMatchObject({ reason: 'OK', role: arn });
    } finally {
      aws.stop();
    }
  });

  it('removes access when the role is deleted in IAM', async () => {
    const path = '/delete/';
    await createRole('doomed', path);
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'doomed',
        PolicyName: 'p',
        PolicyDocument: allow(['orders:GetOrder']),
      }),
    );
    const { aws, runtime } = await integrate(fileConfig(endpoint, path));
    try {
      expect(decide(runtime(), 'GET', '/orders/1').reason).toBe('OK');
      await iam.send(new DeleteRolePolicyCommand({ RoleName: 'doomed', PolicyName: 'p' }));
      await iam.send(new DeleteRoleCommand({ RoleName: 'doomed' }));
      expect(await aws.syncNow()).toBe(true);
      expect(runtime().roles).toHaveLength(0);
      expect(decide(runtime(), 'GET', '/orders/1').reason).toBe('ERR_NO_ROLE');
    } finally {
      aws.stop();
    }
  });

  it('skips and reports a role with a document the engine rejects, keeping the others', async () => {
    const path = '/invalid/';
    const good = await createRole('good', path);
    const bad = await createRole('bad', path);
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'good',
        PolicyName: 'p',
        PolicyDocument: allow(['orders:GetOrder']),
      }),
    );
    // moto accepts this (it checks only that condition values are strings);
    // the policy engine rejects the IpAddress value.
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'bad',
        PolicyName: 'p',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 'orders:*',
              Resource: '*',
              Condition: { IpAddress: { 'aws:SourceIp': 'not-a-cidr' } },
            },
          ],
        }),
      }),
    );
    const snapshot = await loadIamRoles(iam, { pathPrefix: path });
    expect(snapshot.roles.map((r) => r.arn)).toEqual([good]);
    expect(snapshot.errors).toEqual([
      expect.objectContaining({ roleName: 'bad', arn: bad, code: 'ERR_IAM_ROLE_INVALID' }),
    ]);
    expect(snapshot.errors[0]?.message).toContain('ERR_POLICY_BAD_CIDR');

    const { aws, runtime, logs } = await integrate(fileConfig(endpoint, path));
    try {
      expect(runtime().roles.map((r) => r.arn)).toEqual([good]);
      const skipped = logs.records().find((r) => r['code'] === 'ERR_IAM_ROLE_INVALID');
      expect(skipped).toMatchObject({ role: 'bad', arn: bad });
    } finally {
      aws.stop();
    }
  });

  it('keeps the last good set when IAM answers with server errors or throttling', async () => {
    const path = '/faults/';
    const arn = await createRole('steady', path);
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'steady',
        PolicyName: 'p',
        PolicyDocument: allow(['orders:GetOrder']),
      }),
    );
    const proxy = new AwsQueryProxy();
    await proxy.start(moto.port);
    const { aws, runtime, logs } = await integrate(
      fileConfig(`http://127.0.0.1:${proxy.port}`, path),
    );
    try {
      const synced = aws.lastIamSync();
      expect(synced).toBeDefined();
      expect(decide(runtime(), 'GET', '/orders/1')).toMatchObject({ reason: 'OK', role: arn });

      for (const mode of ['500', 'throttle'] as const) {
        proxy.mode = mode;
        const served = proxy.requests;
        expect(await aws.syncNow()).toBe(false);
        // The SDK retried before the sync gave up.
        expect(proxy.requests - served).toBeGreaterThan(1);
        expect(aws.lastIamSync()).toBe(synced);
        expect(decide(runtime(), 'GET', '/orders/1')).toMatchObject({ reason: 'OK', role: arn });
      }
      const failures = logs.records().filter((r) => r['code'] === 'ERR_IAM_SYNC');
      expect(failures.length).toBe(2);
      // Throttling and 5xx are retried soon, not at the next regular sync.
      for (const f of failures) expect(f['retryInMs']).toBeLessThan(10_000);

      proxy.mode = 'pass';
      expect(await aws.syncNow()).toBe(true);
      expect(aws.lastIamSync()).toBeGreaterThanOrEqual(synced ?? 0);
    } finally {
      aws.stop();
      await proxy.stop();
    }
  }, 60_000);

  it('lets a file role win a name clash, reports it, and applies guardrails to IAM roles', async () => {
    const path = '/clash/';
    const iamArn = await createRole('orders-admin', path);
    const other = await createRole('orders-deleter', path);
    for (const name of ['orders-admin', 'orders-deleter']) {
      await iam.send(
        new PutRolePolicyCommand({
          RoleName: name,
          PolicyName: 'p',
          PolicyDocument: allow(['orders:*']),
        }),
      );
    }
    const file = fileConfig(endpoint, path, {
      roles: [
        {
          name: 'orders-admin',
          trustPolicy: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Federated: ISSUER },
                Action: 'sts:AssumeRoleWithWebIdentity',
                Condition: { StringEquals: { 'idp.example.com:sub': 'nobody' } },
              },
            ],
          },
        },
      ],
      guardrails: {
        'no-delete': {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 'orders:Get*', Resource: '*' },
            { Effect: 'Deny', Action: 'orders:DeleteOrder', Resource: '*' },
          ],
        },
      },
    });
    const { aws, runtime, logs } = await integrate(file);
    try {
      const roles = runtime().roles;
      expect(roles.map((r) => r.arn)).toEqual(['arn:rolegate:iam:::role/orders-admin', other]);
      expect(roles.some((r) => r.arn === iamArn)).toBe(false);
      expect(logs.records().find((r) => r['code'] === 'ERR_IAM_ROLE_NAME_CLASH')).toMatchObject({
        role: 'orders-admin',
        arn: iamArn,
      });
      expect(decide(runtime(), 'GET', '/orders/1')).toMatchObject({ reason: 'OK', role: other });
      expect(decide(runtime(), 'DELETE', '/orders/1').reason).toBe('ERR_EXPLICIT_DENY');
    } finally {
      aws.stop();
    }
  });
});
