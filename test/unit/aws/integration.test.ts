/** The config section, the credentials step's fail-closed paths and header stripping. */
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_CREDENTIAL_HEADERS } from '../../../src/aws/config.js';
import { decodePolicyDocument, webIdentityProviders } from '../../../src/aws/iam-source.js';
import { createAwsIntegration } from '../../../src/aws/integration.js';
import type { CheckOutcome } from '../../../src/decision/outcome.js';
import type { CompiledRole } from '../../../src/config/compile.js';
import { validateConfig } from '../../../src/config/schema.js';
import { toCheckResponse } from '../../../src/response/check-response.js';
import { captureLogger } from '../../support/log-capture.js';

const role = { name: 'app', arn: 'arn:aws:iam::123456789012:role/app' } as CompiledRole;

function outcome(credentials?: 'required' | 'optional'): CheckOutcome {
  return {
    decisionId: 'd-1',
    allowed: true,
    status: 200,
    reason: 'OK',
    principal: {
      kind: 'jwt',
      issuer: 'https://idp.example.com',
      subject: 'alice',
      claims: {},
      federated: [],
    },
    route: {
      action: 'files:GetFile',
      resource: '*',
      source: 'route[0]',
      tags: {},
      ...(credentials === undefined ? {} : { credentials }),
    },
    rolesConsidered: ['app'],
    role,
    determining: [],
  };
}

function config(aws: Record<string, unknown>) {
  const { config, problems } = validateConfig({ aws });
  expect(problems).toEqual([]);
  if (!config) throw new Error('invalid');
  return config;
}

describe('aws config section', () => {
  it('applies documented defaults', () => {
    const c = config({ iam: {} });
    expect(c.aws).toEqual({
      iam: {
        pathPrefix: '/',
        tags: {},
        refreshSeconds: 300,
        jitter: 0.1,
        roleArnAsName: false,
        requestTimeoutMs: 10_000,
      },
      sts: {
        durationSeconds: 3600,
        headers: DEFAULT_CREDENTIAL_HEADERS,
        sessionTags: {},
        webIdentity: 'auto',
        timeoutMs: 500,
        cacheEntries: 1000,
        cacheMaxBytes: 8 * 1024 * 1024,
      },
    });
    expect(config({}).aws?.iam).toBeUndefined();
  });

  it('refuses keys in the config and out-of-range values, with paths', () => {
    const { problems } = validateConfig({
      aws: {
        credentials: { accessKeyId: 'AKIA' },
        iam: { pathPrefix: 'x' },
        sts: { durationSeconds: 60, headers: { accessKeyId: 'Bad Header' } },
      },
      routes: [{ path: '/x', action: 'a:b', resource: '*', credentials: 'always' }],
    });
    expect(problems.map((p) => p.path)).toEqual(
      expect.arrayContaining([
        '$.aws.credentials',
        '$.aws.iam.pathPrefix',
        '$.aws.sts.durationSeconds',
        '$.aws.sts.headers.accessKeyId',
        '$.routes[0].credentials',
      ]),
    );
  });
});

describe('IAM documents', () => {
  it('decodes URL-encoded and plain documents', () => {
    const doc = { Version: '2012-10-17', Statement: [{ Sid: 'a b+c%' }] };
    expect(decodePolicyDocument(encodeURIComponent(JSON.stringify(doc)))).toEqual(doc);
    expect(decodePolicyDocument(JSON.stringify(doc))).toEqual(doc);
  });

  it('finds the OIDC providers a trust policy allows web identity for', () => {
    expect(
      webIdentityProviders({
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Federated: 'p1' },
            Action: 'sts:AssumeRoleWithWebIdentity',
          },
          { Effect: 'Deny', Principal: { Federated: 'p2' }, Action: 'sts:*' },
          { Effect: 'Allow', Principal: { AWS: 'x' }, Action: 'sts:AssumeRole' },
          { Effect: 'Allow', Principal: { Federated: ['p3'] }, Action: ['sts:AssumeRole'] },
        ],
      }),
    ).toEqual(['p1']);
  });
});

describe('upstream credentials step', () => {
  it('leaves outcomes without a credentials route alone', async () => {
    const aws = createAwsIntegration({ logger: captureLogger().logger, onRolesChanged: () => {} });
    const step = await aws.upstreamCredentials(outcome(), config({}), undefined);
    expect(step.headers).toEqual({});
    expect(step.outcome.allowed).toBe(true);
  });

  it('denies with ERR_STS_FAILED when STS fails, or goes on without credentials when optional', async () => {
    const logs = captureLogger();
    const aws = createAwsIntegration({ logger: logs.logger, onRolesChanged: () => {} });
    // Port 9 (discard) on loopback: nothing answers, so STS fails.
    const c = config({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1' });
    const denied = await aws.upstreamCredentials(outcome('required'), c, 'tok.en.value');
    expect(denied.outcome).toMatchObject({ allowed: false, status: 403, reason: 'ERR_STS_FAILED' });
    expect(denied.headers).toEqual({});
    const optional = await aws.upstreamCredentials(outcome('optional'), c, 'tok.en.value');
    expect(optional.outcome.allowed).toBe(true);
    expect(optional.headers).toEqual({});
    expect(logs.records().map((r) => r['code'])).toEqual(['ERR_STS_FAILED', 'ERR_STS_FAILED']);
    expect(logs.lines.join('\n')).not.toContain('tok.en.value');
  }, 30_000);
});

describe('credential headers in the check response', () => {
  it('injects credentials and strips inbound copies, also under custom names', () => {
    const custom = config({ sts: { headers: { sessionToken: 'x-amz-security-token' } } });
    const aws = createAwsIntegration({ logger: captureLogger().logger, onRolesChanged: () => {} });
    const owned = aws.ownedHeaders(custom);
    expect(owned).toEqual(expect.arrayContaining(['x-amz-security-token']));
    const inbound = {
      'x-amz-security-token': 'forged',
      'x-rolegate-aws-access-key-id': 'forged',
      'x-other': 'kept',
    };
    const plain = toCheckResponse(outcome(), inbound, {
      claimHeaders: {},
      requestedRoleHeader: 'x-rolegate-role',
      ownedHeaders: owned,
    });
    if (!('ok_response' in plain)) throw new Error('expected ok_response');
    expect([...(plain.ok_response.headers_to_remove ?? [])].sort()).toEqual([
      'x-amz-security-token',
      'x-rolegate-aws-access-key-id',
    ]);
    const withCreds = toCheckResponse(outcome('required'), inbound, {
      claimHeaders: {},
      requestedRoleHeader: 'x-rolegate-role',
      ownedHeaders: owned,
      extraHeaders: { 'x-amz-security-token': 'real', 'x-rolegate-aws-access-key-id': 'ASIA1' },
    });
    if (!('ok_response' in withCreds)) throw new Error('expected ok_response');
    const set = Object.fromEntries(
      (withCreds.ok_response.headers ?? []).map((h) => [h.header.key, h.header.value]),
    );
    expect(set).toMatchObject({
      'x-amz-security-token': 'real',
      'x-rolegate-aws-access-key-id': 'ASIA1',
    });
    expect(withCreds.ok_response.headers_to_remove).toEqual([]);
  });
});
