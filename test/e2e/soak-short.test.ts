/**
 * Keeps `npm run soak` from rotting: the same command, for 20 s at a low
 * fixed rate, through the real Envoy binary, rolegate as its own process,
 * the issuer and the echo upstream, with a fault (invalid config, then a new
 * valid one) every 5 s. It must hold the invariants the long run holds:
 * zero errors, every bad input refused, every reload taken, and an exact
 * decision-audit reconciliation. (The p99, RSS and fd trends need minutes,
 * so the short run prints them without judging.) No Envoy binary: the soak
 * fails to start and so does this test.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';

import type { SoakResult } from '../../bench/soak/run.js';

const REPO = join(import.meta.dirname, '..', '..');

describe('npm run soak (short)', () => {
  it('holds load with zero errors, refuses every bad input, survives reloads and loses no audit record', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rolegate-soak-test-'));
    const json = join(dir, 'result.json');
    const md = join(dir, 'table.md');
    const run = spawnSync(
      'npm',
      [
        'run',
        'soak',
        '--',
        '--minutes',
        '0.34',
        '--rate',
        '100',
        '--tokens',
        '2000',
        '--fault-every',
        '5',
        '--no-peer',
        '--out',
        md,
        '--json',
        json,
      ],
      { cwd: REPO, encoding: 'utf8', timeout: 240_000 },
    );
    const output = `${run.stdout}\n${run.stderr}`;
    expect({ status: run.status, output }).toMatchObject({ status: 0 });

    const result = JSON.parse(readFileSync(json, 'utf8')) as SoakResult;
    const s = result.summary;
    expect(result.errorSamples).toEqual([]);
    expect(s.errors).toBe(0);
    expect(s.requests).toBe(Math.floor(100 * 0.34 * 60));
    // Bad inputs: one in a hundred, every one refused, none allowed.
    expect(s.badTried).toBeGreaterThanOrEqual(20);
    expect(s.badRefused).toBe(s.badTried);
    expect(Object.keys(s.badStatuses).sort()).toEqual(['400', '401', '403']);
    // Faults: every valid reload decided requests under its own generation.
    expect(s.reloads).toBeGreaterThanOrEqual(2);
    expect(s.invalidConfigs).toBeGreaterThanOrEqual(s.reloads);
    expect(s.generationsSeen).toBe(s.reloads + 1);
    // Nothing lost: client = Envoy's log; every decided request has exactly
    // one audit record with the same decision; Envoy's own refusals none.
    const r = result.reconciliation;
    expect(r.mismatches).toEqual([]);
    expect(r.envoyLines).toBe(r.clientRequests);
    expect(r.refusedByEnvoy).toBe(s.badStatuses[400]);
    expect(r.auditRecords).toBe(r.decidedByRolegate);
    expect(r.matched).toBe(r.decidedByRolegate);
    expect(result.windows.length).toBeGreaterThanOrEqual(4);
    expect(readFileSync(md, 'utf8')).toContain('| Nothing lost |');
  }, 300_000);
});
