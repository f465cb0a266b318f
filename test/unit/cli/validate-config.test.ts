/**
 * `rolegate validate --config FILE` refuses, at load time and with the file
 * and JSON path, what IAM itself would refuse or what could only be used
 * literally at runtime.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { lines, runCli, type CliRun } from './cli-io.js';

const ISSUER = 'https://idp.example.com';

const trust = (statement: Record<string, unknown>) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRoleWithWebIdentity', ...statement }],
});

function config(overrides: { trustPolicy?: unknown; routes?: unknown[] } = {}) {
  return {
    issuers: [{ issuer: ISSUER, audiences: ['api'] }],
    roles: [
      {
        name: 'reader',
        trustPolicy: overrides.trustPolicy ?? trust({ Principal: { Federated: ISSUER } }),
        policies: {
          read: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'items:Get*', Resource: '*' }],
          },
        },
      },
    ],
    routes: overrides.routes ?? [
      {
        method: 'GET',
        path: '/items/{id}',
        action: 'items:GetItem',
        resource: 'arn:rolegate:items:::item/{id}',
      },
    ],
  };
}

function configFile(content: object): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rolegate-validate-')), 'rolegate.yaml');
  writeFileSync(file, stringify(content));
  return file;
}

/** Runs `rolegate validate --config FILE`; the exit status and what it printed. */
function validate(file: string): Promise<CliRun> {
  return runCli(['validate', '--config', file]);
}

/** The finding lines (`FILE:LINE:COL: ... PATH: CODE message`) for a JSON path, joined. */
function finding(out: string, file: string, path: string): string {
  return lines(out)
    .filter((l) => /^.+:\d+:\d+: /.test(l) && l.startsWith(`${file}:`) && l.includes(`${path}: `))
    .join('\n');
}

describe('rolegate validate --config', () => {
  it('accepts a valid configuration, exit status 0', async () => {
    const file = configFile(config());
    const r = await validate(file);
    expect(r).toMatchObject({ status: 0, err: '' });
    expect(r.out).toContain(`${file}: ok (1 roles`);
  });

  it('refuses NotPrincipal in a role trust policy, naming the file and the JSON path', async () => {
    const file = configFile(
      config({ trustPolicy: trust({ NotPrincipal: { Federated: ISSUER } }) }),
    );
    const r = await validate(file);
    expect(r.status).toBe(1);
    // Findings are validate's output (stdout), one per line, file:line:col first.
    expect(r.out).toContain(`${file}: invalid`);
    expect(finding(r.out, file, '$.roles[0].trustPolicy.Statement[0].NotPrincipal')).toContain(
      'ERR_POLICY_PRINCIPAL',
    );
  });

  it('refuses a route resource naming a placeholder its path does not have', async () => {
    const routes = [
      {
        method: 'GET',
        path: '/items',
        action: 'items:ListItems',
        resource: 'arn:rolegate:items:::item/*',
      },
      {
        method: 'GET',
        path: '/items/{id}',
        action: 'items:GetItem',
        resource: 'arn:rolegate:items:::item/{id}',
      },
      {
        method: 'PUT',
        path: '/items/{id}',
        action: 'items:PutItem',
        resource: 'arn:rolegate:items:::{warehouse}/item/{id}',
      },
    ];
    const file = configFile(config({ routes }));
    const r = await validate(file);
    expect(r.status).toBe(1);
    expect(finding(r.out, file, '$.routes[2].resource')).toContain(
      'ERR_CONFIG_INVALID names {warehouse}',
    );
    expect(r.out).not.toContain('$.routes[1]');
  });

  it('refuses a route action naming a placeholder its path does not have', async () => {
    const routes = [
      {
        method: 'GET',
        path: '/items/{id}',
        action: 'items:{op}',
        resource: 'arn:rolegate:items:::item/{id}',
      },
    ];
    const file = configFile(config({ routes }));
    const r = await validate(file);
    expect(r.status).toBe(1);
    expect(finding(r.out, file, '$.routes[0].action')).toMatch(/ERR_CONFIG_INVALID .*names \{op\}/);
  });
});
