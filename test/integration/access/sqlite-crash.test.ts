/**
 * The embedded store survives `kill -9` in the middle of approvals: a child
 * process approves requests one transaction each, as fast as it can, and is
 * killed with SIGKILL while doing so (three times, at different points).
 * After each kill the file opens cleanly and holds no lost approval (every
 * approval the child reported done is there) and no half-written one (an
 * approval row without its grant, a grant without its approved request).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from '@jest/globals';
import { grantIdFor } from '../../../src/access/model.js';
import { openSqliteStore } from '../../../src/access/sqlite-store.js';

const CHILD = new URL('../../support/sqlite-approver.mjs', import.meta.url);

/** Runs the approver on `file` and SIGKILLs it once it reported `after` approvals; resolves to how many it reported. */
function approveThenKill(file: string, after: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD.pathname, file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let done = 0;
    let err = '';
    let buffered = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.stdout.on('data', (b: Buffer) => {
      buffered += b.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const l of lines) if (/^\d+$/.test(l)) done = Number(l);
      if (done >= after && child.exitCode === null) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) =>
      signal === 'SIGKILL' ? resolve(done) : reject(new Error(`approver exited ${code}: ${err}`)),
    );
  });
}

describe('the embedded store under kill -9', () => {
  it('loses no approval and writes none by half', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rolegate-crash-')), 'access.db');
    const store = openSqliteStore(file);
    const now = Date.now();
    for (let i = 0; i < 3000; i++) {
      await store.createRequest({
        id: `r${String(i).padStart(5, '0')}`,
        role: 'staging-admin',
        roleArn: 'arn:rolegate:iam:::role/staging-admin',
        issuer: 'https://idp.test',
        requester: 'alice',
        groups: ['engineers'],
        durationSeconds: 600,
        reason: 'crash test',
        breakGlass: false,
        status: 'pending',
        createdAt: now,
        approvals: [],
      });
    }
    await store.close();

    let reported = 0;
    for (const after of [25, 200, 600]) {
      reported += await approveThenKill(file, after);
      const db = new DatabaseSync(file);
      expect(db.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
      db.close();

      const reopened = openSqliteStore(file);
      const all = await reopened.listRequests();
      const approved = all.filter((r) => r.status === 'approved');
      const grants = await reopened.activeGrants(0);
      // Nothing reported done is lost (the kill may land after a commit and before its report).
      expect(approved.length).toBeGreaterThanOrEqual(reported);
      reported = approved.length;
      // Nothing half-written: approved <=> one approval and its grant; pending <=> neither.
      expect(grants.length).toBe(approved.length);
      const shape = all.map((r) => ({
        id: r.id,
        status: r.status,
        approvers: r.approvals.map((x) => x.approver),
        grantId: r.grantId ?? null,
      }));
      const whole = all.map((r) =>
        r.status === 'approved'
          ? { id: r.id, status: 'approved', approvers: ['carol'], grantId: grantIdFor(r.id) }
          : { id: r.id, status: 'pending', approvers: [], grantId: null },
      );
      expect(shape).toEqual(whole);
      for (const g of grants) {
        expect(g.expiresAt - g.startsAt).toBe(600_000);
        expect(all.find((r) => r.id === g.requestId)?.status).toBe('approved');
      }
      await reopened.close();
    }
    expect(reported).toBeGreaterThanOrEqual(825);
  }, 60_000);
});
