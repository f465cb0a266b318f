/**
 * `rolegate migrate --config FILE` creates the embedded store next to the
 * config file on first run, records the migrations it applied, and is a
 * no-op the second time.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from '@jest/globals';
import { MIGRATIONS } from '../../../src/access/migrations.js';
import { writeTempConfig } from '../../support/rolegate.js';
import { runCli } from '../../unit/cli/cli-io.js';

describe('rolegate migrate', () => {
  it('fails, creating nothing, when the store directory does not exist', async () => {
    const file = writeTempConfig({
      issuers: [{ issuer: 'https://idp.test', audiences: ['api'] }],
      access: { enabled: true, store: { file: 'state/access.db' } },
    });
    const db = join(dirname(file), 'state', 'access.db');
    await expect(runCli(['migrate', '--config', file])).resolves.toMatchObject({ status: 1 });
    expect(existsSync(db)).toBe(false);
  });

  it('applies every migration, and nothing the second time', async () => {
    const file = writeTempConfig({
      issuers: [{ issuer: 'https://idp.test', audiences: ['api'] }],
      access: { enabled: true, store: { file: 'access.db' } },
    });
    const first = await runCli(['migrate', '--config', file]);
    expect(first).toEqual({ status: 0, out: 'access store (sqlite) is up to date\n', err: '' });
    const second = await runCli(['migrate', '--config', file]);
    expect(second.status).toBe(0);
    const db = new DatabaseSync(join(dirname(file), 'access.db'));
    const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
    db.close();
    expect(versions.map((v) => v['version'])).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });
});
