/**
 * A hanging AWS endpoint (accepts the connection, never answers) must not
 * hold a Check or a sync: STS calls give up after their timeout, IAM
 * requests after theirs.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { STSClient } from '@aws-sdk/client-sts';
import { Registry } from 'prom-client';
import { stsCalls } from '../../../src/aws/sts-broker.js';
import { createAwsIntegration } from '../../../src/aws/integration.js';
import { awsSchema } from '../../../src/aws/config.js';
import type { RolegateConfig } from '../../../src/aws/integration.js';
import { captureLogger } from '../../support/log-capture.js';

let server: Server;
const sockets = new Set<Socket>();
let endpoint = '';

beforeAll(async () => {
  server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
});

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('AWS calls against a hanging endpoint', () => {
  it('an STS call is abandoned after timeoutMs, retries included', async () => {
    const calls = stsCalls(new STSClient({ endpoint, region: 'us-east-1', credentials }), 200);
    const started = Date.now();
    await expect(
      calls.assumeRole({
        RoleArn: 'arn:aws:iam::123456789012:role/x',
        RoleSessionName: 'alice',
        SourceIdentity: 'alice',
        DurationSeconds: 900,
        Tags: [],
      }),
    ).rejects.toThrow();
    // Bounded (generously: a loaded machine), where before it never settled.
    expect(Date.now() - started).toBeLessThan(5000);
  }, 10_000);

  it('an IAM sync fails (metric and log) instead of hanging', async () => {
    process.env['AWS_ACCESS_KEY_ID'] ??= 'test';
    process.env['AWS_SECRET_ACCESS_KEY'] ??= 'test';
    const ops = captureLogger('warn');
    const registry = new Registry();
    const aws = createAwsIntegration({ logger: ops.logger, registry, onRolesChanged: () => {} });
    const config = {
      aws: awsSchema.parse({ endpoint, iam: { requestTimeoutMs: 100, refreshSeconds: 3600 } }),
    } as unknown as RolegateConfig;
    try {
      await aws.configure(config);
      expect(aws.lastIamSync()).toBeUndefined();
      expect(await registry.getSingleMetricAsString('rolegate_iam_syncs_total')).toMatch(
        /result="failure"\} 1/,
      );
      expect(ops.records().some((r) => r['code'] === 'ERR_IAM_SYNC')).toBe(true);
    } finally {
      aws.stop();
    }
  }, 20_000);
});
