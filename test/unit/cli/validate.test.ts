import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { documentsOf, runValidate } from '../../../src/cli/validate.js';
import { sink } from './cli-io.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rolegate-validate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, content);
  return p;
}

async function validate(files: string[]): Promise<{ status: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const status = await runValidate(files, { stdout: out.stream, stderr: err.stream });
  return { status, out: out.text(), err: err.text() };
}

const good = {
  Version: '2012-10-17',
  Statement: [
    { Sid: 'Read', Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' },
  ],
};

describe('runValidate', () => {
  it('accepts a valid JSON policy and prints a summary', async () => {
    const r = await validate([await file('good.json', JSON.stringify(good))]);
    expect(r.status).toBe(0);
    expect(r.out).toBe('1 file(s), 1 policy: 0 error(s), 0 warning(s)\n');
  });

  it('prints every error with its location and exits 1', async () => {
    const bad = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'A',
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: '*',
          Condition: { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '300.0.0.0/8'] } },
        },
        { Sid: 'A', Effect: 'Allow', Action: 'GetObject', Resource: '*' },
      ],
    };
    const p = await file('bad.json', JSON.stringify(bad));
    const r = await validate([p]);
    expect(r.status).toBe(1);
    const lines = r.out.trim().split('\n');
    expect(lines).toContain(
      `${p}:1:160: bad.json: statement A: $.Statement[0].Condition.IpAddress["aws:SourceIp"][1]: ERR_POLICY_BAD_CIDR "300.0.0.0/8" is not an IPv4 or IPv6 address or CIDR block`,
    );
    expect(lines.some((l) => l.includes('$.Statement[1].Sid: ERR_POLICY_DUPLICATE_SID'))).toBe(
      true,
    );
    expect(lines).toContain(
      `${p}:1:206: bad.json: statement A: $.Statement[1].Action: ERR_POLICY_ACTION "GetObject" is not "*" or of the form service:ActionName`,
    );
    expect(lines[lines.length - 1]).toBe('1 file(s), 1 policy: 3 error(s), 0 warning(s)');
  });

  it('reads YAML maps of name to document and reports warnings without failing', async () => {
    const yaml = [
      'read:',
      '  Version: "2012-10-17"',
      '  Statement:',
      '    - Effect: Allow',
      '      Action: "*"',
      '      Resource: "*"',
      'trust:',
      '  Version: "2012-10-17"',
      '  Statement:',
      '    Effect: Allow',
      '    Principal: { Federated: idp }',
      '    Action: sts:AssumeRoleWithWebIdentity',
    ].join('\n');
    const r = await validate([await file('roles.yaml', yaml)]);
    expect(r.status).toBe(0);
    // The path and position are in the file: the document sits under its name.
    expect(r.out).toContain(':4:7: read: statement #0: $.read.Statement[0]: WARN_POLICY_ALLOW_ALL');
    expect(r.out).toContain('2 policies: 0 error(s), 1 warning(s)');
  });

  it('reads lists of documents', async () => {
    const r = await validate([
      await file('list.json', JSON.stringify([good, { ...good, Version: '1999' }])),
    ]);
    expect(r.status).toBe(1);
    expect(r.out).toContain('list.json[1]: $[1].Version: ERR_POLICY_VERSION');
  });

  it('reports syntax errors and unreadable files', async () => {
    const r = await validate([
      await file('broken.json', '{"Version": '),
      join(dir, 'missing.json'),
    ]);
    expect(r.status).toBe(1);
    expect(r.out).toContain('ERR_POLICY_SYNTAX');
    expect(r.err).toBe(
      `rolegate validate: ERR_POLICY_READ: ${join(dir, 'missing.json')}: cannot read the policy file: no such file or directory\n`,
    );
    expect(r.out).toContain('2 file(s), 0 policies: 2 error(s)');
  });

  it('classifies file contents', () => {
    expect(documentsOf('a/x.json', good)).toEqual([{ name: 'x.json', doc: good, path: '$' }]);
    expect(documentsOf('x.json', [good]).map((d) => [d.name, d.path])).toEqual([
      ['x.json[0]', '$[0]'],
    ]);
    expect(documentsOf('x.json', { 'one-a': good }).map((d) => [d.name, d.path])).toEqual([
      ['one-a', '$["one-a"]'],
    ]);
  });
});
