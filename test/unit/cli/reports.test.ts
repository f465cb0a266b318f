import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { readAuditFiles } from '../../../src/cli/audit-files.js';
import { collapseResources, usageReport } from '../../../src/cli/usage-report.js';
import { loadConfig } from '../../../src/config/load.js';
import { createAuditor } from '../../../src/observe/audit.js';
import { captureLogger } from '../../support/log-capture.js';
import { allowOutcome, request } from '../observe/fixtures.js';
import { runCli } from './cli-io.js';

// Recorded by the real handler on examples/rolegate.yaml with the shadow
// candidate test/fixtures/safety/candidate.yaml (readers lose GetOrder).
const AUDIT = fileURLToPath(new URL('../../fixtures/safety/audit.jsonl', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../../examples/rolegate.yaml', import.meta.url));

describe('rolegate shadow report', () => {
  it('groups the recorded disagreements by role, route and determining statement with sample ids', async () => {
    const run = await runCli(['shadow', 'report', '--audit', AUDIT]);
    expect(run.err).toBe('');
    expect(run.status).toBe(0);
    expect(run.out).toContain('3 shadow disagreement(s) in 1 file(s): allow -> deny: 3');
    expect(run.out).toMatch(/By role:\n {2}orders-reader +3 {2}e\.g\. d-001, d-002, d-004\n/);
    expect(run.out).toMatch(/By route:\n {2}GET route\[1\] orders:GetOrder +3 {2}e\.g\. d-001/);
    expect(run.out).toMatch(/live: identity:read-orders\/ReadOrders:Allow +3/);
    expect(run.out).toMatch(/candidate: identity:ImplicitDeny +3/);
  });

  it('--format json prints the same summary as one object', async () => {
    const run = await runCli(['shadow', 'report', '--audit', AUDIT, '--format', 'json']);
    const summary = JSON.parse(run.out) as Record<string, unknown>;
    expect(summary).toMatchObject({
      disagreements: 3,
      byDirection: [{ key: 'allow -> deny', count: 3, samples: ['d-001', 'd-002', 'd-004'] }],
      byRole: [{ key: 'orders-reader', count: 3 }],
    });
  });

  it('an unreadable audit file is ERR_AUDIT_READ; a missing --audit is a usage error', async () => {
    const missing = await runCli(['shadow', 'report', '--audit', '/nonexistent/audit.jsonl']);
    expect(missing.status).toBe(1);
    expect(missing.err).toContain('ERR_AUDIT_READ');
    const usage = await runCli(['shadow', 'report']);
    expect(usage.status).toBe(2);
  });
});

describe('rolegate report usage', () => {
  it('per role: allowed actions and resources, unused statements, unassumed roles, a least-privilege policy', async () => {
    const run = await runCli([
      'report',
      'usage',
      '--config',
      EXAMPLE,
      '--audit',
      AUDIT,
      '--format',
      'json',
    ]);
    expect(run.err).toBe('');
    const report = JSON.parse(run.out) as ReturnType<typeof usageReport>;
    expect(report.decisions).toBe(7);
    expect(report.unassumedRoles).toEqual(['orders-admin']);
    const reader = report.roles.find((r) => r.role === 'orders-reader');
    expect(reader).toMatchObject({
      assumed: 6,
      allowed: 5,
      actions: { 'orders:GetOrder': 3, 'orders:ListOrders': 2 },
      unusedStatements: ['guardrail:orders-only/NoPurge:Deny'],
      policy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'Observed1',
            Effect: 'Allow',
            Action: ['orders:GetOrder', 'orders:ListOrders'],
            Resource: ['arn:rolegate:orders:::order/*'],
          },
        ],
      },
    });
    const admin = report.roles.find((r) => r.role === 'orders-admin');
    expect(admin?.unusedStatements).toContain('identity:manage-orders/ManageOrders:Allow');
    expect(admin?.unusedStatements).toContain('boundary:orders-admin/boundary/DeleteOnlyOwn:Deny');
    expect(admin?.policy).toBeUndefined();
  });

  it('prints the text report', async () => {
    const run = await runCli(['report', 'usage', '-c', EXAMPLE, '--audit', AUDIT]);
    expect(run.status).toBe(0);
    expect(run.out).toContain(
      'role orders-reader (arn:rolegate:iam:::role/orders-reader): assumed in 6, allowed 5',
    );
    expect(run.out).toContain('actions allowed:   orders:GetOrder (3), orders:ListOrders (2)');
    expect(run.out).toContain('Roles nobody assumed: orders-admin');
  });

  it('--since keeps only recent records', async () => {
    const lines = await readAuditFiles([AUDIT], Date.parse('2026-06-01T09:04:30Z'));
    expect(lines.decisions.map((d) => d.record['decision_id'])).toEqual([
      'd-005',
      'd-006',
      'd-007',
    ]);
    const report = usageReport(lines, loadConfig(EXAMPLE));
    expect(report.roles.find((r) => r.role === 'orders-reader')?.actions).toEqual({
      'orders:ListOrders': 1,
    });
    // Through the CLI: the recorded file is months old, so the last hour holds nothing.
    const run = await runCli(['report', 'usage', '-c', EXAMPLE, '--audit', AUDIT, '--since', '1h']);
    expect(run.out).toContain('Usage from 0 decision(s) in 1 file(s) (last 1h)');
    const bad = await runCli([
      'report',
      'usage',
      '-c',
      EXAMPLE,
      '--audit',
      AUDIT,
      '--since',
      'soon',
    ]);
    expect(bad.status).toBe(2);
  });

  it('collapses resources under a shared prefix only when more than one was seen', () => {
    expect(
      collapseResources([
        'arn:rolegate:orders:::order/1',
        'arn:rolegate:orders:::order/2',
        'arn:rolegate:files:::docs/a.txt',
      ]),
    ).toEqual(['arn:rolegate:files:::docs/a.txt', 'arn:rolegate:orders:::order/*']);
  });
});

describe('reports on CloudTrail-shaped audit files', () => {
  it('read the decisions of audit.format: cloudtrail as the rolegate format', async () => {
    const capture = captureLogger();
    const auditor = createAuditor(
      capture.logger,
      () => 1,
      Math.random,
      () => 'h',
      () => 'cloudtrail',
    );
    auditor.record(request(), { ...allowOutcome(), determiningRoles: ['orders-reader'] }, 1);
    const file = join(mkdtempSync(join(tmpdir(), 'rolegate-ct-')), 'audit.jsonl');
    writeFileSync(file, `${capture.lines.join('\n')}\n`);
    const lines = await readAuditFiles([file]);
    expect(lines.decisions.map((d) => d.record)).toEqual([
      {
        decision_id: 'dec-allow',
        roles_considered: ['orders-reader'],
        role: 'arn:rolegate:iam:::role/orders-reader',
        action: 'orders:GetOrder',
        resource: 'arn:rolegate:orders:::order/42',
        decision: 'allow',
        reason: 'OK',
        determining: ['identity:read/Read:Allow'],
      },
    ]);
    const reader = usageReport(lines, loadConfig(EXAMPLE)).roles.find(
      (r) => r.role === 'orders-reader',
    );
    expect(reader?.actions).toEqual({ 'orders:GetOrder': 1 });
  });
});
