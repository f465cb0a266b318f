/**
 * How startRolegate wires audit, metrics and spans into the Check handler:
 * on by default (audit file from the config, relative to it), entirely
 * skipped with `observability: false`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { stringify } from 'yaml';
import { startRolegate, type Rolegate } from '../../../src/main.js';
import { createTracing } from '../../../src/observe/tracing-sdk.js';
import { loadAuthorizationClient } from '../../support/authorization-client.js';
import { captureLogger } from '../../support/log-capture.js';

const TRACE_ID = '5bf92f3577b34da6a3ce929d0e0e4736';
const ISSUER = 'https://idp.invalid';

function writeConfig(audit: object): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rolegate-wiring-')), 'rolegate.yaml');
  writeFileSync(
    file,
    stringify({
      issuers: [{ issuer: ISSUER, audiences: ['api'], jwksUri: `${ISSUER}/jwks` }],
      audit,
      roles: [
        {
          name: 'reader',
          trustPolicy: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Federated: ISSUER },
                Action: 'sts:AssumeRoleWithWebIdentity',
              },
            ],
          },
          policies: {
            read: {
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: 'orders:Get*', Resource: '*' }],
            },
          },
        },
      ],
      routes: [
        { method: 'GET', path: '/orders/{id}', action: 'orders:GetOrder', resource: 'x:{id}' },
      ],
    }),
  );
  return file;
}

/** One Check without a credential (a deny, ERR_CREDENTIAL_MISSING) carrying a traceparent. */
async function checkOnce(rolegate: Rolegate): Promise<void> {
  const Client = loadAuthorizationClient();
  const client = new Client(`127.0.0.1:${rolegate.grpcPort}`, grpc.credentials.createInsecure());
  await new Promise<unknown>((resolve, reject) =>
    client.Check(
      {
        attributes: {
          request: {
            http: {
              id: 'r1',
              method: 'GET',
              path: '/orders/1',
              host: 'api.example.com',
              headers: {
                traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01`,
                'x-request-id': 'r1',
              },
            },
          },
        },
      },
      (err, r) => (err ? reject(err) : resolve(r)),
    ),
  );
  client.close();
}

describe('startRolegate observability wiring', () => {
  it('audits to the configured file, counts, times and traces each check', async () => {
    const configFile = writeConfig({ file: 'audit.log' });
    const spans = new InMemorySpanExporter();
    const tracing = createTracing({
      spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
    });
    const rolegate = await startRolegate({
      configFile,
      grpcPort: 0,
      adminPort: 0,
      logger: captureLogger('warn').logger,
      tracing,
      watch: false,
      defaultMetrics: false,
    });
    try {
      await checkOnce(rolegate);
      const text = await rolegate.metrics.registry.metrics();
      expect(text).toContain(
        'rolegate_check_total{decision="deny",reason="ERR_CREDENTIAL_MISSING"} 1',
      );
      expect(text).toContain('rolegate_check_duration_seconds_count{decision="deny"} 1');
      const [span] = spans.getFinishedSpans();
      expect(span?.spanContext().traceId).toBe(TRACE_ID);
      expect(span?.attributes['rolegate.reason']).toBe('ERR_CREDENTIAL_MISSING');
    } finally {
      await rolegate.stop();
      await tracing.shutdown();
    }
    const lines = readFileSync(join(configFile, '..', 'audit.log'), 'utf8')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      msg: 'decision',
      audit: { request_id: 'r1', decision: 'deny', reason: 'ERR_CREDENTIAL_MISSING' },
    });
  });

  it('with observability off, writes no record, updates no metric and starts no span', async () => {
    const spans = new InMemorySpanExporter();
    const tracing = createTracing({
      spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
    });
    const audit = captureLogger();
    const rolegate = await startRolegate({
      configFile: writeConfig({}),
      grpcPort: 0,
      adminPort: 0,
      logger: captureLogger('warn').logger,
      auditLogger: audit.logger,
      tracing,
      watch: false,
      defaultMetrics: false,
      observability: false,
    });
    try {
      await checkOnce(rolegate);
      expect(rolegate.decisions).toEqual({ allow: 0, deny: 1 });
      const text = await rolegate.metrics.registry.metrics();
      expect(text).not.toMatch(/^rolegate_check_total\{/m);
      expect(text).not.toMatch(/^rolegate_check_duration_seconds_count/m);
      expect(audit.lines).toHaveLength(0);
      expect(spans.getFinishedSpans()).toHaveLength(0);
    } finally {
      await rolegate.stop();
      await tracing.shutdown();
    }
  });

  it('refuses to start when the audit file cannot be opened', async () => {
    await expect(
      startRolegate({
        configFile: writeConfig({ file: 'no-such-dir/audit.log' }),
        grpcPort: 0,
        adminPort: 0,
        logger: captureLogger('warn').logger,
        watch: false,
        defaultMetrics: false,
      }),
    ).rejects.toThrow(/ENOENT/);
  });
});
