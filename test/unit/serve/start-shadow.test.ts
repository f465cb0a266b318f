/**
 * Shadow mode in a running rolegate: a candidate that cannot be loaded is
 * logged and never stops the service, and a reload of the live config that
 * removes the `shadow` section stops shadow evaluation.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { startRolegate } from '../../../src/main.js';
import { captureLogger } from '../../support/log-capture.js';

const base = {
  server: { shutdownDelaySeconds: 0 },
  issuers: [{ issuer: 'https://idp.example.com', audiences: ['api'] }],
  routes: [{ method: 'GET', path: '/x', action: 'x:Get', resource: '*' }],
};

describe('shadow candidate in a running rolegate', () => {
  it('serves with a broken candidate, logs it, and loads a fixed one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rolegate-shadow-'));
    const configFile = join(dir, 'rolegate.yaml');
    const candidate = join(dir, 'candidate.yaml');
    writeFileSync(candidate, 'roles: [{ name: 7 }]\n');
    writeFileSync(configFile, stringify({ ...base, shadow: { config: 'candidate.yaml' } }));
    const ops = captureLogger();
    const rolegate = await startRolegate({
      configFile,
      grpcPort: 0,
      adminPort: 0,
      logger: ops.logger,
      auditLogger: captureLogger().logger,
      defaultMetrics: false,
      watch: false,
    });
    try {
      const failed = ops
        .records()
        .find((r) => r['msg'] === 'shadow candidate invalid; keeping the last good candidate');
      expect(failed).toMatchObject({ file: candidate, code: 'ERR_CONFIG_INVALID' });
      expect(rolegate.current().settings.shadow.config).toBe('candidate.yaml');
      // The live config reloads fine and now drops the shadow section.
      writeFileSync(configFile, stringify(base));
      rolegate.reload();
      expect(rolegate.current().settings.shadow.config).toBeUndefined();
      // And adds it back with a valid candidate: loaded.
      writeFileSync(candidate, stringify(base));
      writeFileSync(configFile, stringify({ ...base, shadow: { config: 'candidate.yaml' } }));
      rolegate.reload();
      expect(
        ops
          .records()
          .some((r) => r['msg'] === 'shadow candidate loaded' && r['file'] === candidate),
      ).toBe(true);
    } finally {
      await rolegate.stop();
    }
  });
});
