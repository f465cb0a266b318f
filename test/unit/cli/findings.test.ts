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
      // issuer https://login.example.com/ gives keys login.example.com:..., never login.example.com/:...
      [
        'WARN_TRUST_KEY_UNPROVIDED',
        '$.roles[1].trustPolicy.Statement[0].Condition.StringEquals["login.example.com/:sub"]',
        '#0',
      ],
      ['WARN_STATEMENT_UNREACHABLE', '$.roles[1].policies.invoices.Statement[0]', 'ReadInvoices'],
      ['WARN_ROUTE_SHADOWED', '$.routes[1]', null],
      ['WARN_ROUTE_UNUSABLE', '$.routes[4]', null],
      ['WARN_ROLE_TRUST_UNSATISFIABLE', '$.roles[1].trustPolicy', null],
      ['WARN_ROLE_UNREACHED', '$.roles[1]', null],
    ]);
    for (const f of found) {
      expect(f['severity']).toBe('warning');
      expect(f['file']).toBe(RISKY);
      expect(typeof f['line']).toBe('number');
      expect(f['doc']).toBe(`docs/findings.md#${String(f['code']).toLowerCase()}`);
    }
    expect(found[4]?.['message']).toContain('the unconditional Deny no-purge/NoPurge');
    expect(found[5]?.['message']).toContain('did you mean login.example.com:sub');
    expect(found[7]?.['message']).toContain('routes[0] (GET /orders/{id}) matches first');
    // Warnings alone pass by default.
    expect(run.status).toBe(0);
  });

  it('--fail-on warning fails on them; the text form links the doc section', async () => {
    const run = await runCli(['validate', '--config', RISKY, '--fail-on', 'warning']);
    expect(run.status).toBe(1);
    expect(run.out).toMatch(
      /risky\.yaml:\d+:\d+: wide-trust\/trust: statement #0: \$\.roles\[0\]\.trustPolicy\.Statement\[0\]: WARN_TRUST_ISSUER_WIDE .* \(see docs\/findings\.md#warn_trust_issuer_wide\)/,
    );
    expect(run.out).toContain('ok (2 roles, 8 statements, 11 warning(s))');
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

/** Writes `text` as rolegate.yaml in a fresh directory and validates it with --fail-on warning. */
async function validateText(text: string): Promise<{ status: number; lines: string[] }> {
  const file = join(mkdtempSync(join(tmpdir(), 'rolegate-findings-')), 'rolegate.yaml');
  writeFileSync(file, text);
  const run = await runCli(['validate', '--config', file, '--fail-on', 'warning']);
  expect(run.err).toBe('');
  return { status: run.status, lines: lines(run.out.replaceAll(file, 'rolegate.yaml')) };
}

const ROUTE = `routes:
  - { method: GET, path: '/orders/{id}', action: 'orders:GetOrder', resource: 'arn:rolegate:orders:::order/{id}' }
`;
const READ = `    policies:
      read-orders:
        Version: '2012-10-17'
        Statement:
          - { Sid: ReadOrders, Effect: Allow, Action: 'orders:Get*', Resource: 'arn:rolegate:orders:::order/*' }
`;

describe('trust policies that can never match: the lines validate prints', () => {
  it('a condition key naming localhost:9100 while the issuer is http://127.0.0.1:9100', async () => {
    const r = await validateText(`issuers:
  - { issuer: 'http://127.0.0.1:9100', audiences: [rolegate-dev] }
roles:
  - name: orders-reader
    trustPolicy:
      Version: '2012-10-17'
      Statement:
        - Effect: Allow
          Principal: { Federated: 'http://127.0.0.1:9100' }
          Action: sts:AssumeRoleWithWebIdentity
          Condition:
            StringEquals: { 'localhost:9100:aud': rolegate-dev }
${READ}${ROUTE}`);
    expect(r.status).toBe(1);
    expect(r.lines).toEqual([
      'rolegate.yaml:12:29: orders-reader/trust: statement #0: $.roles[0].trustPolicy.Statement[0].Condition.StringEquals["localhost:9100:aud"]: WARN_TRUST_KEY_UNPROVIDED condition key localhost:9100:aud is never present (localhost:9100 names no configured issuer), so StringEquals on it never holds and the statement admits no one; did you mean 127.0.0.1:9100:aud (issuer http://127.0.0.1:9100)? (see docs/findings.md#warn_trust_key_unprovided)',
      'rolegate.yaml:5:5: $.roles[0].trustPolicy: WARN_ROLE_TRUST_UNSATISFIABLE role orders-reader can never be assumed: no configured identity satisfies its trust policy (statement #0: it needs localhost:9100:aud, which no admitted token has) (see docs/findings.md#warn_role_trust_unsatisfiable)',
      'rolegate.yaml: ok (1 roles, 2 statements, 2 warning(s))',
    ]);
  });

  it('a Federated principal naming an issuer that is not configured', async () => {
    const r = await validateText(`issuers:
  - { issuer: 'https://login.example.com', audiences: [orders-api] }
roles:
  - name: orders-reader
    trustPolicy:
      Version: '2012-10-17'
      Statement:
        - Sid: Staff
          Effect: Allow
          Principal: { Federated: 'https://login.example.org' }
          Action: sts:AssumeRoleWithWebIdentity
          Condition:
            StringEquals: { 'jwt:sub': alice }
${READ}${ROUTE}`);
    expect(r.status).toBe(1);
    expect(r.lines).toEqual([
      "rolegate.yaml:10:24: orders-reader/trust: statement Staff: $.roles[0].trustPolicy.Statement[0].Principal.Federated: WARN_TRUST_FEDERATED_UNKNOWN Principal.Federated https://login.example.org is no configured issuer (a token matches its issuer's URL with or without the scheme, or a name in its federatedPrincipals), so this statement matches no token; did you mean https://login.example.com? (see docs/findings.md#warn_trust_federated_unknown)",
      'rolegate.yaml:5:5: $.roles[0].trustPolicy: WARN_ROLE_TRUST_UNSATISFIABLE role orders-reader can never be assumed: no configured identity satisfies its trust policy (statement Staff: Principal.Federated https://login.example.org is no configured issuer) (see docs/findings.md#warn_role_trust_unsatisfiable)',
      'rolegate.yaml: ok (1 roles, 2 statements, 2 warning(s))',
    ]);
  });

  it('an access role whose rolegate:* actions a guardrail blocks', async () => {
    const r = await validateText(`issuers:
  - { issuer: 'https://login.example.com', audiences: [orders-api], groupsClaim: groups }
guardrails:
  orders-only:
    Version: '2012-10-17'
    Statement:
      - { Sid: AllowOrders, Effect: Allow, Action: 'orders:*', Resource: '*' }
roles:
  - name: approver
    trustPolicy:
      Version: '2012-10-17'
      Statement:
        - Effect: Allow
          Principal: { Federated: 'https://login.example.com' }
          Action: sts:AssumeRoleWithWebIdentity
          Condition:
            StringEquals: { 'login.example.com:aud': orders-api }
            ForAnyValue:StringEquals: { 'rolegate:groups': [admins] }
    policies:
      approve:
        Version: '2012-10-17'
        Statement:
          - Sid: AdminsApproveUpToFourHours
            Effect: Allow
            Action: ['rolegate:ApproveAccessRequest', 'rolegate:ListAccessRequests']
            Resource: 'arn:rolegate:iam:::role/*'
            Condition: { NumericLessThanEquals: { 'rolegate:RequestedDuration': 14400 } }
      read-orders:
        Version: '2012-10-17'
        Statement:
          - { Sid: ReadOrders, Effect: Allow, Action: 'orders:Get*', Resource: 'arn:rolegate:orders:::order/*' }
${ROUTE}unmatchedRoutes: deny
access: { enabled: true }
`);
    expect(r.status).toBe(1);
    expect(r.lines).toEqual([
      'rolegate.yaml:23:13: approve: statement AdminsApproveUpToFourHours: $.roles[0].policies.approve.Statement[0]: WARN_ACCESS_ACTION_BLOCKED role approver allows the access API actions rolegate:ApproveAccessRequest, rolegate:ListAccessRequests, but guardrail orders-only blocks them: it allows only orders:*. Every such call through this role is refused (ERR_ACCESS_FORBIDDEN); allow the actions in a guardrail (an Allow in any one guardrail is enough) (see docs/findings.md#warn_access_action_blocked)',
      'rolegate.yaml: ok (1 roles, 4 statements, 1 warning(s))',
    ]);
  });
});
