import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../../src/config/load.js';
import { securityFindings } from '../../../src/config/security.js';
import { lines, runCli } from './cli-io.js';

const RISKY = fileURLToPath(new URL('../../fixtures/safety/risky.yaml', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../../examples/rolegate.yaml', import.meta.url));

describe('security findings of rolegate validate --config', () => {
  it('finds each risk of the recorded config with its code, JSON path, position and doc link', async () => {
    const run = await runCli(['validate', '--config', RISKY, '--format', 'json']);
    expect(run.err).toBe('');
    const found = lines(run.out).map((l) => JSON.parse(l) as Record<string, unknown>);
    const brief = found.map((f) => [f['code'], f['path'], f['statement'] ?? null]);
    expect(brief).toEqual([
      ['WARN_TRUST_ISSUER_WIDE', '$.roles[0].trustPolicy.Statement[0]', '#0'],
      [
        'WARN_ALLOW_NOT_ACTION',
        '$.roles[0].policies["everything-but"].Statement[0]',
        'AllButAdmin',
      ],
      ['WARN_ALLOW_NOT_RESOURCE', '$.roles[0].policies["everything-but"].Statement[1]', 'AnyOrder'],
      [
        'WARN_WRITE_ON_ALL_RESOURCES',
        '$.roles[0].policies["everything-but"].Statement[2]',
        'WriteEverywhere',
      ],
      [
        'WARN_STATEMENT_UNREACHABLE',
        '$.roles[0].policies["everything-but"].Statement[3]',
        'PurgeOrders',
      ],
      ['WARN_STATEMENT_UNREACHABLE', '$.roles[1].policies.invoices.Statement[0]', 'ReadInvoices'],
      ['WARN_ROUTE_SHADOWED', '$.routes[1]', null],
      ['WARN_ROUTE_UNUSABLE', '$.routes[4]', null],
      ['WARN_ROLE_UNREACHED', '$.roles[1]', null],
    ]);
    for (const f of found) {
      expect(f['severity']).toBe('warning');
      expect(f['file']).toBe(RISKY);
      expect(typeof f['line']).toBe('number');
      expect(f['doc']).toBe(`docs/findings.md#${String(f['code']).toLowerCase()}`);
    }
    expect(found[4]?.['message']).toContain('the unconditional Deny no-purge/NoPurge');
    expect(found[6]?.['message']).toContain('routes[0] (GET /orders/{id}) matches first');
    // Warnings alone pass by default.
    expect(run.status).toBe(0);
  });

  it('--fail-on warning fails on them; the text form links the doc section', async () => {
    const run = await runCli(['validate', '--config', RISKY, '--fail-on', 'warning']);
    expect(run.status).toBe(1);
    expect(run.out).toMatch(
      /risky\.yaml:\d+:\d+: wide-trust\/trust: statement #0: \$\.roles\[0\]\.trustPolicy\.Statement\[0\]: WARN_TRUST_ISSUER_WIDE .* \(see docs\/findings\.md#warn_trust_issuer_wide\)/,
    );
    expect(run.out).toContain('ok (2 roles, 8 statements, 9 warning(s))');
    const bad = await runCli(['validate', '--config', RISKY, '--fail-on', 'info']);
    expect(bad.status).toBe(2);
  });

  it('the example configuration has no findings, so CI can use --fail-on warning on it', async () => {
    expect(securityFindings(loadConfig(EXAMPLE), EXAMPLE)).toEqual([]);
    const run = await runCli(['validate', '--config', EXAMPLE, '--fail-on', 'warning']);
    expect(run.status).toBe(0);
  });
});

describe('validate --config checks the shadow candidate', () => {
  it('reports a candidate that cannot be loaded as an error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rolegate-validate-shadow-'));
    writeFileSync(join(dir, 'candidate.yaml'), 'roles: [{ name: 7 }]\n');
    const live = join(dir, 'rolegate.yaml');
    writeFileSync(
      live,
      "issuers: [{ issuer: 'https://idp.example.com', audiences: [api] }]\nshadow: { config: candidate.yaml }\n",
    );
    const run = await runCli(['validate', '--config', live]);
    expect(run.status).toBe(1);
    expect(run.out).toContain('invalid shadow candidate');
    expect(run.out).toContain('ERR_CONFIG_INVALID');
    writeFileSync(join(dir, 'candidate.yaml'), readFileSync(RISKY, 'utf8'));
    const ok = await runCli(['validate', '--config', live, '--format', 'json']);
    expect(ok.status).toBe(0);
    expect(ok.out).toContain('WARN_TRUST_ISSUER_WIDE');
  });
});
