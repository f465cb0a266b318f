/**
 * `rolegate validate --config FILE` refuses, at load time and with the file
 * and JSON path, what IAM itself would refuse or what could only be used
 * literally at runtime.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, jest } from '@jest/globals';
import { stringify } from 'yaml';
import { main } from '../../../src/cli/main.js';

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
async function validate(file: string): Promise<{ status: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  const error = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    err.push(args.map(String).join(' '));
  });
  try {
    const status = await main(['validate', '--config', file]);
    return { status, out: out.join(''), err: err.join('\n') };
  } finally {
    write.mockRestore();
    error.mockRestore();
  }
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
    expect(r.err).toContain('ERR_CONFIG_INVALID');
    expect(r.err).toContain(file);
    expect(r.err).toContain(
      '$.roles[0].trustPolicy.Statement[0].NotPrincipal: ERR_POLICY_PRINCIPAL',
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
    expect(r.err).toContain('ERR_CONFIG_INVALID');
    expect(r.err).toContain(`${file}: $.routes[2].resource: names {warehouse}`);
    expect(r.err).not.toContain('$.routes[1]');
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
    expect(r.err).toContain('ERR_CONFIG_INVALID');
    expect(r.err).toContain(`${file}: $.routes[0].action: names {op}`);
  });
});
