import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { ConfigError, loadConfig } from '../../../src/config/load.js';

const trust = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Federated: 'https://idp' },
      Action: 'sts:AssumeRoleWithWebIdentity',
    },
  ],
};

function dirWith(files: Record<string, string | object>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rolegate-load-'));
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, typeof content === 'string' ? content : stringify(content));
  }
  return dir;
}

function problemsOf(file: string): { code: string; problems: readonly string[] } {
  try {
    loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) return { code: err.code, problems: err.problems };
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('loads policies inline and from files next to the config', () => {
    const dir = dirWith({
      'rolegate.yaml': {
        issuers: [{ issuer: 'https://idp', audiences: ['api'] }],
        roles: [
          {
            name: 'r',
            trustPolicy: { file: 'policies/trust.json' },
            policies: { p: { file: 'policies/p.yaml' } },
          },
        ],
      },
      'policies/trust.json': JSON.stringify(trust),
      'policies/p.yaml': stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:Get*', Resource: '*' }],
      }),
    });
    const runtime = loadConfig(join(dir, 'rolegate.yaml'));
    expect(runtime.roles.map((r) => r.name)).toEqual(['r']);
    expect(runtime.statementCount).toBe(2);
  });

  it('names the file, the statement and the JSON path of a policy error inside the config', () => {
    const dir = dirWith({
      'rolegate.yaml': {
        roles: [
          {
            name: 'r',
            trustPolicy: trust,
            policies: {
              broken: {
                Version: '2012-10-17',
                Statement: [
                  {
                    Sid: 'Net',
                    Effect: 'Allow',
                    Action: 's3:*',
                    Resource: '*',
                    Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } },
                  },
                ],
              },
            },
          },
        ],
      },
    });
    const { code, problems } = problemsOf(join(dir, 'rolegate.yaml'));
    expect(code).toBe('ERR_CONFIG_INVALID');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(join(dir, 'rolegate.yaml'));
    expect(problems[0]).toContain('Net');
    expect(problems[0]).toContain('$.roles[0].policies.broken.Statement[0].Condition.IpAddress');
    expect(problems[0]).toContain('ERR_POLICY_BAD_CIDR');
  });

  it('names the policy file of an error in a referenced file', () => {
    const dir = dirWith({
      'rolegate.yaml': {
        roles: [{ name: 'r', trustPolicy: trust, policies: { p: { file: 'p.json' } } }],
      },
      'p.json': JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Maybe', Action: 's3:*', Resource: '*' }],
      }),
    });
    const { problems } = problemsOf(join(dir, 'rolegate.yaml'));
    expect(problems.join('\n')).toContain(join(dir, 'p.json'));
    expect(problems.join('\n')).toContain('ERR_POLICY_EFFECT');
  });

  it('reports YAML syntax errors as ERR_CONFIG_SYNTAX and unreadable files as ERR_CONFIG_READ', () => {
    const dir = dirWith({ 'bad.yaml': 'roles: [ {name: x' });
    expect(problemsOf(join(dir, 'bad.yaml')).code).toBe('ERR_CONFIG_SYNTAX');
    expect(problemsOf(join(dir, 'missing.yaml')).code).toBe('ERR_CONFIG_READ');
  });

  it('reads a JWKS file and an HMAC secret from the environment only', () => {
    const dir = dirWith({
      'rolegate.yaml': {
        issuers: [
          { issuer: 'https://a', audiences: ['x'], jwksFile: 'keys.json' },
          {
            issuer: 'https://b',
            audiences: ['x'],
            algorithms: ['HS256'],
            hmacSecretEnv: 'ROLEGATE_TEST_SECRET',
          },
        ],
      },
      'keys.json': JSON.stringify({ keys: [] }),
    });
    expect(problemsOf(join(dir, 'rolegate.yaml')).problems.join('\n')).toContain(
      'ROLEGATE_TEST_SECRET',
    );
    process.env['ROLEGATE_TEST_SECRET'] = 'k'.repeat(40);
    const runtime = loadConfig(join(dir, 'rolegate.yaml'));
    expect(runtime.issuers[0]?.jwks).toEqual({ keys: [] });
    expect(runtime.issuers[1]?.hmacSecret?.length).toBe(40);
  });

  it('refuses HS* algorithms without a secret', () => {
    const dir = dirWith({
      'rolegate.yaml': {
        issuers: [{ issuer: 'https://a', audiences: ['x'], algorithms: ['HS256', 'none'] }],
      },
    });
    const { problems } = problemsOf(join(dir, 'rolegate.yaml'));
    expect(
      problems.some((p) => p.includes('$.issuers[0].algorithms[0]') && p.includes('hmacSecretEnv')),
    ).toBe(true);
    expect(problems.some((p) => p.includes('$.issuers[0].algorithms[1]'))).toBe(true);
  });

  it('gives every finding its file, JSON path, line and column, in the config and in referenced files', () => {
    const dir = dirWith({
      'rolegate.yaml': [
        'roles:',
        '  - name: r',
        '    trustPolicy: { file: trust.json }',
        '    policies:',
        '      p:',
        '        Version: "2012-10-17"',
        '        Statement: [{ Effect: Allow, Action: s3, Resource: "*" }]',
      ].join('\n'),
      'trust.json': '{\n  "Version": "2012-10-17",\n  "Statement": {"Effect": "No"}\n}',
    });
    let error: ConfigError | undefined;
    try {
      loadConfig(join(dir, 'rolegate.yaml'));
    } catch (err) {
      if (err instanceof ConfigError) error = err;
    }
    expect(error?.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          code: 'ERR_POLICY_EFFECT',
          file: join(dir, 'trust.json'),
          line: 3,
          column: 17,
          path: '$.Statement.Effect',
        }),
        expect.objectContaining({
          code: 'ERR_POLICY_MISSING_ELEMENT',
          file: join(dir, 'trust.json'),
          line: 3,
        }),
        expect.objectContaining({
          code: 'ERR_POLICY_ACTION',
          file: join(dir, 'rolegate.yaml'),
          line: 7,
          column: 38,
          path: '$.roles[0].policies.p.Statement[0].Action',
        }),
      ]),
    );
    expect(error?.problems[0]).toMatch(/trust\.json:3:17: r\/trust: statement #0: /);
  });

  it('loads config text (standard input) with relative files resolved from baseDir', () => {
    const dir = dirWith({ 'trust.json': JSON.stringify(trust) });
    const text = 'roles:\n  - name: r\n    trustPolicy: { file: trust.json }\n';
    const runtime = loadConfig({ file: '<stdin>', text, baseDir: dir });
    expect(runtime.roles.map((r) => r.name)).toEqual(['r']);
    let error: unknown;
    try {
      loadConfig({ file: '<stdin>', text, baseDir: join(dir, 'elsewhere') });
    } catch (err) {
      error = err;
    }
    expect((error as ConfigError).findings).toEqual([
      expect.objectContaining({
        code: 'ERR_POLICY_READ',
        file: '<stdin>',
        line: 3,
        column: 20,
        path: '$.roles[0].trustPolicy.file',
      }),
    ]);
  });
});
