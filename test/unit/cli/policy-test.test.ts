import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { runCli } from './cli-io.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));
const EXAMPLE_CONFIG = join(EXAMPLES, 'rolegate.yaml');

function testFile(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'rolegate-test-'));
  const file = join(dir, 'orders.test.yaml');
  writeFileSync(file, body);
  return file;
}

const FAILING = `config: ${JSON.stringify(EXAMPLE_CONFIG)}
time: '2026-06-01T00:00:00Z'
cases:
  - name: reader deletes (wrong on purpose)
    claims: { iss: 'http://127.0.0.1:9100', sub: alice, aud: rolegate-dev, groups: [readers] }
    method: DELETE
    path: /orders/42
    expect: { decision: allow, role: orders-reader, sid: ReadOrders }
  - name: reader reads
    claims: { iss: 'http://127.0.0.1:9100', sub: alice, aud: rolegate-dev, groups: [readers] }
    path: /orders/42
    expect: { decision: allow, reason: OK }
`;

describe('rolegate test', () => {
  it('passes the example configuration’s own test file (this is how npm test runs it)', async () => {
    const run = await runCli(['test', EXAMPLES]);
    expect(run.err).toBe('');
    expect(run.out).toContain('PASS');
    expect(run.out).toMatch(/Tests: 7 passed, 7 total \(1 file\)/);
    expect(run.status).toBe(0);
  });

  it('reports every failed expectation, exits 1 and writes JUnit XML', async () => {
    const file = testFile(FAILING);
    const junit = join(mkdtempSync(join(tmpdir(), 'rolegate-junit-')), 'out.xml');
    const run = await runCli(['test', '--junit', junit, file]);
    expect(run.status).toBe(1);
    expect(run.out).toContain('✕ reader deletes (wrong on purpose)');
    expect(run.out).toContain('expected decision allow, got deny (ERR_IMPLICIT_DENY)');
    expect(run.out).toContain('expected role orders-reader, got none');
    expect(run.out).toContain('expected determining Sid ReadOrders, got none');
    expect(run.out).toContain('✓ reader reads');
    expect(run.out).toContain('Tests: 1 failed, 1 passed, 2 total (1 file)');
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain('<testsuites name="rolegate test" tests="2" failures="1">');
    expect(xml).toMatch(
      /<testcase [^>]*name="reader deletes \(wrong on purpose\)"[^>]*>\s*<failure /,
    );
    expect(xml).toMatch(/<testcase [^>]*name="reader reads"[^>]*\/>/);
  });

  it('--config decides a file against another configuration', async () => {
    const file = testFile(FAILING.replace(/^config: .*$/m, 'config: missing.yaml'));
    const run = await runCli(['test', '--config', EXAMPLE_CONFIG, file]);
    expect(run.out).toContain('Tests: 1 failed, 1 passed, 2 total');
  });

  it('fails a file that does not match the schema, naming the JSON path', async () => {
    const file = testFile(
      `config: x.yaml\ncases:\n  - name: no expectation\n    path: /orders\n    claims: {}\n`,
    );
    const run = await runCli(['test', file]);
    expect(run.status).toBe(1);
    expect(run.out).toMatch(/cannot run: .*\$\.cases\[0\]\.expect /);
  });

  it('fails when no test file is found', async () => {
    const run = await runCli(['test', mkdtempSync(join(tmpdir(), 'rolegate-empty-'))]);
    expect(run.status).toBe(1);
    expect(run.err).toContain('ERR_TEST_FILE');
  });
});
