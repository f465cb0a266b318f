/**
 * Reload visibility through a running rolegate: the config hash (SHA-256
 * over the config text and the files it references) in
 * `rolegate_config_info{hash}`, in every audit record and in a log line per
 * reload; the last good load's time; a failed reload named by file and code
 * that keeps the last good config. And the audit log written beside the
 * config on every request never reloads it.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { stringify } from 'yaml';
import { startRolegate, type Rolegate } from '../../../src/main.js';
import { loadAuthorizationClient } from '../../support/authorization-client.js';
import { captureLogger } from '../../support/log-capture.js';

const T0 = Date.UTC(2026, 10, 30, 6, 0, 0);

const policy = (action: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }],
  });

/** The documented hash: SHA-256 over each text framed by its byte length, 12 hex digits. */
function expectedHash(...texts: string[]): string {
  const h = createHash('sha256');
  for (const t of texts) h.update(`${Buffer.byteLength(t)}\n${t}`);
  return h.digest('hex').slice(0, 12);
}

/** One Check without a credential: a deny that is always audited. */
async function checkOnce(rolegate: Rolegate): Promise<void> {
  const Client = loadAuthorizationClient();
  const client = new Client(`127.0.0.1:${rolegate.grpcPort}`, grpc.credentials.createInsecure());
  await new Promise<unknown>((resolve, reject) =>
    client.Check(
      { attributes: { request: { http: { id: 'r', method: 'GET', path: '/orders/1' } } } },
      (err, r) => (err ? reject(err) : resolve(r)),
    ),
  );
  client.close();
}

async function scrape(rolegate: Rolegate): Promise<string> {
  return (await fetch(`http://127.0.0.1:${rolegate.adminPort}/metrics`)).text();
}

async function until(what: string, ok: () => boolean): Promise<void> {
  const started = Date.now();
  while (!ok()) {
    if (Date.now() - started > 5000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function auditLines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { audit: Record<string, unknown> }).audit);
}

describe('startRolegate reload visibility', () => {
  it('names each generation by hash in metrics, audit records and logs, and keeps the last good one', async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'rolegate-reload-')));
    mkdirSync(join(dir, 'policies'));
    const policyPath = join(dir, 'policies', 'read.json');
    const configPath = join(dir, 'rolegate.yaml');
    const auditPath = join(dir, 'audit.log');
    const configText = stringify({
      server: { shutdownDelaySeconds: 0 },
      audit: { file: 'audit.log' },
      roles: [
        {
          name: 'reader',
          trustPolicy: {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRoleWithWebIdentity' },
            ],
          },
          policies: { read: { file: 'policies/read.json' } },
        },
      ],
    });
    writeFileSync(policyPath, policy('orders:Get*'));
    writeFileSync(configPath, configText);
    const h1 = expectedHash(configText, policy('orders:Get*'));
    const h2 = expectedHash(configText, policy('orders:*'));

    let clock = T0;
    const ops = captureLogger('info');
    const rolegate = await startRolegate({
      configFile: configPath,
      grpcPort: 0,
      adminPort: 0,
      logger: ops.logger,
      now: () => clock,
      defaultMetrics: false,
    });
    const logged = (msg: string) => ops.records().filter((r) => r['msg'] === msg);
    try {
      expect(logged('rolegate serving')[0]).toMatchObject({ file: configPath, hash: h1 });
      let text = await scrape(rolegate);
      expect(text).toContain(`rolegate_config_info{hash="${h1}"} 1`);
      expect(text).toContain(`rolegate_config_last_reload_success_timestamp_seconds ${T0 / 1000}`);
      expect(text).toContain('rolegate_config_last_reload_successful 1');

      // Audit records written beside the config, request after request: no reload.
      for (let i = 0; i < 5; i++) await checkOnce(rolegate);
      await until('5 audit records', () => auditLines(auditPath).length === 5);
      await sleep(500);
      expect(logged('config reloaded')).toEqual([]);
      expect(await scrape(rolegate)).toContain('rolegate_config_reloads_total{result="success"} 0');
      expect(auditLines(auditPath).map((a) => a['config_hash'])).toEqual([h1, h1, h1, h1, h1]);

      // An edit of the referenced policy file: a new generation.
      clock = T0 + 60_500;
      writeFileSync(policyPath, policy('orders:*'));
      await until('the reload', () => logged('config reloaded').length === 1);
      expect(logged('config reloaded')[0]).toMatchObject({
        level: 30,
        file: configPath,
        hash: h2,
        previousHash: h1,
      });
      text = await scrape(rolegate);
      expect(text.match(/^rolegate_config_info\{.*$/gm)).toEqual([
        `rolegate_config_info{hash="${h2}"} 1`,
      ]);
      expect(text).toContain(
        `rolegate_config_last_reload_success_timestamp_seconds ${(T0 + 60_500) / 1000}`,
      );
      await checkOnce(rolegate);
      await until('the 6th audit record', () => auditLines(auditPath).length === 6);
      expect(auditLines(auditPath)[5]).toMatchObject({ config_hash: h2 });

      // A broken policy file: named with the code; the last good generation stays.
      clock = T0 + 120_000;
      writeFileSync(policyPath, '{"Version": ');
      const failed = 'config reload failed; keeping the last good config';
      await until('the failed reload', () => logged(failed).length === 1);
      expect(logged(failed)[0]).toMatchObject({
        level: 50,
        file: policyPath,
        code: 'ERR_CONFIG_INVALID',
        hash: h2,
      });
      text = await scrape(rolegate);
      expect(text).toContain('rolegate_config_reloads_total{result="failure"} 1');
      expect(text).toContain('rolegate_config_last_reload_successful 0');
      expect(text).toContain(`rolegate_config_info{hash="${h2}"} 1`);
      expect(text).toContain(
        `rolegate_config_last_reload_success_timestamp_seconds ${(T0 + 60_500) / 1000}`,
      );
      expect(rolegate.current().sources?.hash).toBe(h2);
      await checkOnce(rolegate);
      await until('the 7th audit record', () => auditLines(auditPath).length === 7);
      expect(auditLines(auditPath)[6]).toMatchObject({ config_hash: h2 });
    } finally {
      await rolegate.stop();
    }
  }, 20_000);

  it('names a config read from standard input by the same hash as the file', async () => {
    const configText = stringify({ server: { shutdownDelaySeconds: 0 }, roles: [] });
    const rolegate = await startRolegate({
      configFile: '',
      configText,
      grpcPort: 0,
      adminPort: 0,
      logger: captureLogger('warn').logger,
      auditLogger: captureLogger('warn').logger,
      defaultMetrics: false,
    });
    try {
      expect(await scrape(rolegate)).toContain(
        `rolegate_config_info{hash="${expectedHash(configText)}"} 1`,
      );
    } finally {
      await rolegate.stop();
    }
  });
});
