import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { createAuditLogger, createLogger, flushLogger } from '../../../src/observe/logger.js';
import { captureLogger } from '../../support/log-capture.js';

describe('logger', () => {
  it('appends JSON lines to a file destination', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rolegate-log-')), 'audit.log');
    const first = createLogger('info', { file });
    first.info({ audit: { decision: 'deny' } }, 'decision');
    await flushLogger(first);
    const second = createLogger('info', { file });
    second.info({ audit: { decision: 'allow' } }, 'decision');
    await flushLogger(second);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(
      lines.map((l) => (JSON.parse(l) as { audit: { decision: string } }).audit.decision),
    ).toEqual(['deny', 'allow']);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ service: 'rolegate', msg: 'decision' });
  });

  it('the audit logger writes info lines with an ISO time to its file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rolegate-log-')), 'audit.log');
    const audit = createAuditLogger({ file });
    audit.info({ audit: { decision: 'deny' } }, 'decision');
    await flushLogger(audit);
    const line = JSON.parse(readFileSync(file, 'utf8').trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, service: 'rolegate', msg: 'decision' });
    expect(new Date(line['time'] as string).toISOString()).toBe(line['time']);
  });

  it('the audit file batches writes but never holds a record back for long', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rolegate-audit-')), 'audit.log');
    const logger = createAuditLogger({ file });
    logger.info({ audit: { decision_id: 'quiet' } }, 'decision');
    // Far below the 4 KiB batch: the periodic (1 s) flush must still write it.
    const started = Date.now();
    let text = '';
    while (!text.includes('"decision_id":"quiet"') && Date.now() - started < 5000) {
      await new Promise((r) => setTimeout(r, 100));
      text = readFileSync(file, 'utf8');
    }
    expect(text).toContain('"decision_id":"quiet"');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('fails at creation when the file cannot be opened', () => {
    expect(() => createLogger('info', { file: join(tmpdir(), 'no-such-dir-71', 'a.log') })).toThrow(
      /ENOENT/,
    );
  });

  it('censors credential-named fields as a second line of defence', () => {
    const capture = captureLogger();
    capture.logger.info(
      {
        token: 'T1',
        authorization: 'A1',
        cookie: 'C1',
        headers: { authorization: 'A2', cookie: 'C2', 'proxy-authorization': 'P1' },
        req: { headers: { 'set-cookie': 'S1' }, secret: 'X1', password: 'W1' },
      },
      'careless',
    );
    const line = capture.lines[0] ?? '';
    for (const v of ['T1', 'A1', 'C1', 'A2', 'C2', 'P1', 'S1', 'X1', 'W1']) {
      expect(line).not.toContain(`"${v}"`);
    }
    expect(line).toContain('[redacted]');
  });
});
