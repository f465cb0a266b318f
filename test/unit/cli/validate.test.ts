import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { documentsOf, runValidate } from '../../../src/cli/validate.js';

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk.toString());
        cb();
      },
    }),
    text: () => chunks.join(''),
  };
}

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
  const status = await runValidate(files, out.stream, err.stream);
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
      `${p}: bad.json: statement A: $.Statement[0].Condition.IpAddress["aws:SourceIp"][1]: ERR_POLICY_BAD_CIDR "300.0.0.0/8" is not an IPv4 or IPv6 address or CIDR block`,
    );
    expect(lines.some((l) => l.includes('$.Statement[1].Sid: ERR_POLICY_DUPLICATE_SID'))).toBe(
      true,
    );
    expect(lines.some((l) => l.includes('$.Statement[1].Action: ERR_POLICY_ACTION'))).toBe(true);
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
    expect(r.out).toContain(': read: statement #0: $.Statement[0]: WARN_POLICY_ALLOW_ALL');
    expect(r.out).toContain('2 policies: 0 error(s), 1 warning(s)');
  });

  it('reads lists of documents', async () => {
    const r = await validate([
      await file('list.json', JSON.stringify([good, { ...good, Version: '1999' }])),
    ]);
    expect(r.status).toBe(1);
    expect(r.out).toContain('list.json[1]: $.Version: ERR_POLICY_VERSION');
  });

  it('reports syntax errors and unreadable files', async () => {
    const r = await validate([
      await file('broken.json', '{"Version": '),
      join(dir, 'missing.json'),
    ]);
    expect(r.status).toBe(1);
    expect(r.out).toContain('ERR_POLICY_SYNTAX');
    expect(r.err).toContain('missing.json: ERR_CONFIG_READ');
    expect(r.out).toContain('2 file(s), 0 policies: 2 error(s)');
  });

  it('needs at least one file', async () => {
    const r = await validate([]);
    expect(r.status).toBe(1);
    expect(r.err).toContain('no files');
  });

  it('classifies file contents', () => {
    expect(documentsOf('a/x.json', good)).toEqual([{ name: 'x.json', doc: good }]);
    expect(documentsOf('x.json', [good]).map((d) => d.name)).toEqual(['x.json[0]']);
    expect(documentsOf('x.json', { one: good }).map((d) => d.name)).toEqual(['one']);
  });
});
