import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
import { lines, runCli } from './cli-io.js';

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
    expect(lines(run.out)[1]).toBe(
      'Read 10 lines in 1 file: 7 decision records, 3 shadow disagreements, none skipped',
    );
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
    expect(lines(run.out).slice(0, 2)).toEqual([
      'Usage from 7 decision(s) in 1 file(s)',
      'Read 10 lines in 1 file: 7 decision records, 3 shadow disagreements, none skipped',
    ]);
  });

  it('--since keeps only recent records', async () => {
    const recent = await readAuditFiles([AUDIT], Date.parse('2026-06-01T09:04:30Z'));
    expect(recent.decisions.map((d) => d.record['decision_id'])).toEqual([
      'd-005',
      'd-006',
      'd-007',
    ]);
    const report = usageReport(recent, loadConfig(EXAMPLE));
    expect(report.roles.find((r) => r.role === 'orders-reader')?.actions).toEqual({
      'orders:ListOrders': 1,
    });
    // Through the CLI: the recorded file is months old, so the last hour holds nothing; the
    // file does hold decision records, so it is a report of an empty window, saying why.
    const run = await runCli(['report', 'usage', '-c', EXAMPLE, '--audit', AUDIT, '--since', '1h']);
    expect(run.status).toBe(0);
    expect(lines(run.out).slice(0, 2)).toEqual([
      'Usage from 0 decision(s) in 1 file(s) (last 1h)',
      'Read 10 lines in 1 file: 7 decision records, 3 shadow disagreements, 10 of them before the last 1h, none skipped',
    ]);
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
        request_id: 'req-1',
        config_hash: 'h',
        method: 'GET',
        path: '/orders/42',
        host: 'api.example.com',
        issuer: 'https://idp.example.com',
        subject: 'alice',
        roles_considered: ['orders-reader'],
        role: 'arn:rolegate:iam:::role/orders-reader',
        action: 'orders:GetOrder',
        resource: 'arn:rolegate:orders:::order/42',
        decision: 'allow',
        reason: 'OK',
        determining: ['identity:read/Read:Allow'],
        source_address: '203.0.113.7',
        route: 'route[0]',
      },
    ]);
    const reader = usageReport(lines, loadConfig(EXAMPLE)).roles.find(
      (r) => r.role === 'orders-reader',
    );
    expect(reader?.actions).toEqual({ 'orders:GetOrder': 1 });
  });
});

/** Lines that are no audit record: what an operational log or a wrong file holds. */
const OPS_LOG = [
  '{"level":30,"time":"2026-06-01T09:00:00.000Z","service":"rolegate","msg":"rolegate serving"}',
  '{"level":40,"time":"2026-06-01T09:00:01.000Z","service":"rolegate","msg":"policy warning"}',
  'Error: something went wrong',
  '    at somewhere (file.js:1:1)',
  '',
].join('\n');

function temp(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rolegate-reports-')), name);
  writeFileSync(file, text);
  return file;
}

const HINT =
  "(give the JSON Lines file that audit.file names (or rolegate serve's standard output when it names none), not the operational log)";

describe('reports refuse files that hold no audit record', () => {
  const ops = temp('ops.log', OPS_LOG);
  const empty = temp('empty.jsonl', '');

  it.each([
    [['report', 'usage', '-c', EXAMPLE, '--audit', ops], 'report', 'decision'],
    [['shadow', 'report', '--audit', ops], 'shadow', 'audit'],
  ])('%j: exit 1, ERR_AUDIT_EMPTY, counting what was skipped', async (argv, command, what) => {
    const run = await runCli(argv);
    expect(run.status).toBe(1);
    expect(run.out).toBe('');
    expect(lines(run.err)).toEqual([
      `rolegate ${command}: ERR_AUDIT_EMPTY: no ${what} record in ${ops}: 4 lines read: 4 skipped (2 not JSON, 2 not an audit record) ${HINT}`,
    ]);
  });

  it.each([
    [['report', 'usage', '-c', EXAMPLE, '--audit', empty], 'report', 'decision'],
    [['shadow', 'report', '--audit', empty, '--format', 'json'], 'shadow', 'audit'],
  ])('%j: an empty file is refused too', async (argv, command, what) => {
    const run = await runCli(argv);
    expect(run.status).toBe(1);
    expect(lines(run.err)).toEqual([
      `rolegate ${command}: ERR_AUDIT_EMPTY: no ${what} record in ${empty}: the file is empty ${HINT}`,
    ]);
  });

  it('report usage needs decision records: shadow disagreements alone are not enough', async () => {
    const shadows = temp(
      'shadows.jsonl',
      readFileSync(AUDIT, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"shadow":'))
        .join('\n'),
    );
    const run = await runCli(['report', 'usage', '-c', EXAMPLE, '--audit', shadows]);
    expect(run.status).toBe(1);
    expect(lines(run.err)).toEqual([
      `rolegate report: ERR_AUDIT_EMPTY: no decision record in ${shadows}: 3 lines read: 3 shadow disagreements, none skipped ${HINT}`,
    ]);
    // A shadow report of the same file is a report of its disagreements.
    const shadow = await runCli(['shadow', 'report', '--audit', shadows]);
    expect(shadow.status).toBe(0);
  });

  it('one good file among others is read; the counts cover every file, skips included', async () => {
    const run = await runCli(['report', 'usage', '-c', EXAMPLE, '--audit', AUDIT, '--audit', ops]);
    expect(run.status).toBe(0);
    expect(lines(run.out)[1]).toBe(
      'Read 14 lines in 2 files: 7 decision records, 3 shadow disagreements, 4 skipped (2 not JSON, 2 not an audit record)',
    );
    const json = await runCli([
      'report',
      'usage',
      '-c',
      EXAMPLE,
      '--audit',
      AUDIT,
      '--audit',
      ops,
      '-o',
      'json',
    ]);
    expect((JSON.parse(json.out) as { read: unknown }).read).toEqual({
      files: 2,
      lines: 14,
      decisions: 7,
      shadows: 3,
      notJson: 2,
      notAudit: 2,
      beforeSince: 0,
    });
    const shadow = await runCli([
      'shadow',
      'report',
      '--audit',
      AUDIT,
      '--audit',
      ops,
      '-o',
      'json',
    ]);
    expect((JSON.parse(shadow.out) as { read: { notJson: number } }).read.notJson).toBe(2);
  });

  it('a shadow report of decision records without disagreements says so, with what it read', async () => {
    const decisions = temp(
      'decisions.jsonl',
      readFileSync(AUDIT, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"audit":'))
        .join('\n'),
    );
    const run = await runCli(['shadow', 'report', '--audit', decisions]);
    expect(run.status).toBe(0);
    expect(lines(run.out)).toEqual([
      '0 shadow disagreement(s) in 1 file(s): the candidate decides every recorded request as live does',
      'Read 7 lines in 1 file: 7 decision records, 0 shadow disagreements, none skipped',
    ]);
  });
});
