/**
 * The IAM sync metrics exist only while IAM sync is configured: a file-only
 * deployment's /metrics has no `rolegate_iam_*` family (a zero
 * `rolegate_iam_last_sync_success_timestamp_seconds` would fire every
 * staleness alert), one with `aws.iam` has them from startup, and a reload
 * that adds or removes the section adds or removes them. Read from the
 * admin endpoint's text, against a real moto_server.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { startRolegate, type Rolegate } from '../../../src/main.js';
import { MotoServer } from '../../harness/moto.js';
import { captureLogger } from '../../support/log-capture.js';

// moto accepts any key; rolegate itself reads none from its config.
process.env['AWS_ACCESS_KEY_ID'] = 'testing';
process.env['AWS_SECRET_ACCESS_KEY'] = 'testing';
process.env['AWS_REGION'] = 'us-east-1';

const T0 = Date.UTC(2026, 10, 30, 7, 0, 0);
const moto = new MotoServer();

beforeAll(() => moto.start(), 60_000);
afterAll(() => moto.stop());

function writeConfig(file: string, withIam: boolean): void {
  writeFileSync(
    file,
    stringify({
      server: { shutdownDelaySeconds: 0 },
      roles: [],
      ...(withIam
        ? { aws: { endpoint: moto.url(), iam: { pathPrefix: '/rolegate/', refreshSeconds: 3600 } } }
        : {}),
    }),
  );
}

async function start(withIam: boolean): Promise<{ rolegate: Rolegate; file: string }> {
  const file = join(mkdtempSync(join(tmpdir(), 'rolegate-iam-metrics-')), 'rolegate.yaml');
  writeConfig(file, withIam);
  const rolegate = await startRolegate({
    configFile: file,
    grpcPort: 0,
    adminPort: 0,
    logger: captureLogger('warn').logger,
    auditLogger: captureLogger('warn').logger,
    now: () => T0,
    watch: false,
    defaultMetrics: false,
  });
  return { rolegate, file };
}

async function scrape(rolegate: Rolegate): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${rolegate.adminPort}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** Scrapes until `ok` holds (a reload's IAM sync runs in the background), or fails after 10 s. */
async function scrapeUntil(rolegate: Rolegate, ok: (text: string) => boolean): Promise<string> {
  const started = Date.now();
  for (;;) {
    const text = await scrape(rolegate);
    if (ok(text) || Date.now() - started > 10_000) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const IAM_SYNCED = [
  'rolegate_iam_syncs_total{result="success"} 1',
  'rolegate_iam_syncs_total{result="failure"} 0',
  `rolegate_iam_last_sync_success_timestamp_seconds ${T0 / 1000}`,
  'rolegate_iam_roles{state="loaded"} 0',
];

describe('IAM sync metrics on /metrics', () => {
  it('are absent without an aws.iam section, appear when a reload adds it, and go when it is removed', async () => {
    const { rolegate, file } = await start(false);
    try {
      const fileOnly = await scrape(rolegate);
      expect(fileOnly).toContain('rolegate_check_total');
      expect(fileOnly).not.toContain('rolegate_iam_');

      writeConfig(file, true);
      rolegate.reload();
      const synced = await scrapeUntil(rolegate, (t) => t.includes(IAM_SYNCED[0] ?? ''));
      for (const line of IAM_SYNCED) expect(synced).toContain(line);

      writeConfig(file, false);
      rolegate.reload();
      expect(await scrape(rolegate)).not.toContain('rolegate_iam_');
    } finally {
      await rolegate.stop();
    }
  }, 30_000);

  it('are there from startup with an aws.iam section', async () => {
    const { rolegate } = await start(true);
    try {
      const text = await scrape(rolegate);
      for (const line of IAM_SYNCED) expect(text).toContain(line);
      expect(text).toMatch(/^# TYPE rolegate_iam_last_sync_success_timestamp_seconds gauge$/m);
    } finally {
      await rolegate.stop();
    }
  }, 30_000);
});
