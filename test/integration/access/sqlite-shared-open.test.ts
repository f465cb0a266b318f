/**
 * Cluster workers open one SQLite access store at the same moment. Here a
 * second process opens the store while this one holds an exclusive lock on
 * a new database file (what the first worker holds while it switches the file
 * to WAL and migrates): the opener must wait for the lock, within the busy
 * timeout, not fail at once with "database is locked".
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from '@jest/globals';
import { REPO } from '../../support/quickstart.js';
import { ensureBuilt } from '../../support/rolegate-process.js';

const HOLD_MS = 400;

describe('the SQLite store shared by processes', () => {
  it('waits for another process that holds the new file locked, then opens and migrates', async () => {
    ensureBuilt();
    const file = join(mkdtempSync(join(tmpdir(), 'rolegate-sqlite-')), 'access.db');
    const holder = new DatabaseSync(file);
    holder.exec('CREATE TABLE held (x INTEGER)');
    holder.exec('BEGIN EXCLUSIVE');
    holder.exec('INSERT INTO held VALUES (1)');

    const script = `
      import { openSqliteStore } from ${JSON.stringify(join(REPO, 'dist', 'src', 'access', 'sqlite-store.js'))};
      const started = Date.now();
      const store = openSqliteStore(process.argv[1]);
      console.log(JSON.stringify({ waitedMs: Date.now() - started, grants: (await store.activeGrants(Date.now())).length }));
      await store.close();
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // Node's own start-up takes part of the hold; the lock goes HOLD_MS after the spawn.
    await new Promise((r) => setTimeout(r, HOLD_MS));
    holder.exec('COMMIT');
    holder.close();

    expect({ code: await exited, err }).toEqual({ code: 0, err: '' });
    const result = JSON.parse(out) as { waitedMs: number; grants: number };
    expect(result.grants).toBe(0);
  }, 30_000);
});
