import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { watchConfig } from '../../../src/config/watch.js';
import type { RuntimeConfig } from '../../../src/config/compile.js';

const role = (name: string) => ({
  name,
  trustPolicy: {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRoleWithWebIdentity' }],
  },
});

function waitFor<T>(list: T[], n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (list.length >= n) resolve();
      else if (Date.now() - started > 5000) reject(new Error(`timed out waiting for ${n} events`));
      else setTimeout(poll, 20);
    };
    poll();
  });
}

describe('watchConfig', () => {
  it('reloads a changed file and reports a bad change without swapping', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rolegate-watch-'));
    const file = join(dir, 'rolegate.yaml');
    writeFileSync(file, stringify({ roles: [role('a')] }));
    const loaded: RuntimeConfig[] = [];
    const errors: Error[] = [];
    const watcher = watchConfig(
      file,
      { onReload: (c) => loaded.push(c), onReloadError: (e) => errors.push(e) },
      20,
    );
    try {
      writeFileSync(file, stringify({ roles: [role('a'), role('b')] }));
      await waitFor(loaded, 1);
      expect(loaded.at(-1)?.roles.map((r) => r.name)).toEqual(['a', 'b']);
      writeFileSync(file, 'roles: [');
      await waitFor(errors, 1);
      expect(errors[0]).toMatchObject({ code: 'ERR_CONFIG_SYNTAX' });
    } finally {
      watcher.close();
    }
  });
});
