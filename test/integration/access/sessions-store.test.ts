/**
 * Sign-in sessions in both stores (embedded sqlite and a real PostgreSQL):
 * a session opens, is found by its cookie value, ends at sign-out and at its
 * expiry; the store keeps only a hash of the id and the token sealed under a
 * key derived from it, so neither the id nor the token is in any row; a
 * cookie value that was never issued, or a row read with another id, finds
 * nothing. Slack replay nonces are claimed once until they expire.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openPostgresStore } from '../../../src/access/postgres-store.js';
import { createSessions, sessionIdHash } from '../../../src/access/sessions.js';
import { openSqliteStore } from '../../../src/access/sqlite-store.js';
import type { AccessStore } from '../../../src/access/store.js';
import { PostgresPeer } from '../../harness/postgres.js';

const db = new PostgresPeer();
const T0 = Date.UTC(2026, 11, 7, 12);
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYXJvbCJ9.c2lnbmF0dXJl';
let sqlite: AccessStore;
let postgres: AccessStore;

/** Every text cell of the sessions table, read with the driver of `kind`. */
async function sessionCells(kind: 'sqlite' | 'postgres', file: string): Promise<string> {
  if (kind === 'postgres') {
    const client = new pg.Client({ connectionString: db.url() });
    await client.connect();
    const { rows } = await client.query('SELECT * FROM access_sessions');
    await client.end();
    return JSON.stringify(rows);
  }
  const { DatabaseSync } = await import('node:sqlite');
  const raw = new DatabaseSync(file);
  const rows = raw.prepare('SELECT * FROM access_sessions').all();
  raw.close();
  return JSON.stringify(rows);
}

const sqliteFile = join(mkdtempSync(join(tmpdir(), 'rolegate-sessions-')), 'access.db');

beforeAll(async () => {
  await db.start();
  sqlite = openSqliteStore(sqliteFile);
  postgres = await openPostgresStore(db.url());
}, 60_000);

afterAll(async () => {
  await sqlite?.close();
  await postgres?.close();
  await db.stop();
}, 30_000);

describe.each(['sqlite', 'postgres'] as const)('sessions in %s', (kind) => {
  const store = () => (kind === 'sqlite' ? sqlite : postgres);

  it('open, find, end; expiry; nothing usable in the rows', async () => {
    let now = T0;
    const sessions = createSessions(store(), () => now);
    const who = { issuer: 'https://idp.example.com', subject: 'carol', token: TOKEN };
    const id = await sessions.open(who, T0 + 60_000);
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await expect(sessions.find(id)).resolves.toEqual({ ...who, expiresAt: T0 + 60_000 });
    const cells = await sessionCells(kind, sqliteFile);
    expect(cells).toContain(sessionIdHash(id));
    expect(cells).not.toContain(id);
    expect(cells).not.toContain(TOKEN.split('.')[1] as string);
    const altered = `${id.slice(0, 42)}${id.endsWith('A') ? 'B' : 'A'}`;
    await expect(sessions.find(altered)).resolves.toBeUndefined();
    await expect(sessions.find('not-a-session')).resolves.toBeUndefined();
    now = T0 + 60_000;
    await expect(sessions.find(id)).resolves.toBeUndefined();
    now = T0;
    const other = await sessions.open(who, T0 + 60_000);
    await sessions.end(other);
    await sessions.end(other);
    await expect(sessions.find(other)).resolves.toBeUndefined();
  });

  it('claims a nonce once until it expires', async () => {
    const nonce = `slack:${kind}`;
    await expect(store().claimNonce(nonce, T0 + 300_000, T0)).resolves.toBe(true);
    await expect(store().claimNonce(nonce, T0 + 300_000, T0 + 1000)).resolves.toBe(false);
    await expect(store().claimNonce(nonce, T0 + 900_000, T0 + 300_000)).resolves.toBe(true);
  });
});
