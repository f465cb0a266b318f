import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { COMMANDS, mainHelp } from '../../../src/cli/commands.js';
import { lines, runCli, type CliRun } from './cli-io.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

function configFile(content: object | string, name = 'rolegate.yaml'): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rolegate-cli-')), name);
  writeFileSync(file, typeof content === 'string' ? content : stringify(content));
  return file;
}

/** A usage error: exit 2, nothing on stdout, exactly one stderr line with the code and hint. */
function expectUsageError(r: CliRun, command: string | undefined, message: string): void {
  expect(r.status).toBe(2);
  expect(r.out).toBe('');
  const who = command === undefined ? 'rolegate' : `rolegate ${command}`;
  const hint = command === undefined ? 'rolegate --help' : `rolegate ${command} --help`;
  expect(lines(r.err)).toEqual([`${who}: ERR_USAGE: ${message} (run '${hint}')`]);
}

/** A single-line failure: exit 1, nothing on stdout, one stderr line with `code`. */
function expectOneLineError(r: CliRun, command: string, code: string): string {
  expect(r.status).toBe(1);
  expect(r.out).toBe('');
  const [line, ...more] = lines(r.err);
  expect(more).toEqual([]);
  expect(line?.startsWith(`rolegate ${command}: ${code}: `)).toBe(true);
  return line ?? '';
}

async function busyPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port };
}

describe('help and version', () => {
  it.each([[[]], [['--help']], [['-h']], [['help']]])(
    'rolegate %j prints the overview on stdout and exits 0',
    async (argv) => {
      const r = await runCli(argv);
      expect(r).toEqual({ status: 0, out: mainHelp(), err: '' });
      for (const name of Object.keys(COMMANDS)) expect(r.out).toContain(`  ${name} `);
    },
  );

  it.each(Object.keys(COMMANDS))(
    'rolegate %s --help prints that command’s own help and exits 0',
    async (name) => {
      const help = COMMANDS[name as keyof typeof COMMANDS].help;
      expect(help).toContain(`rolegate ${name}`);
      // Required flags need not be given to ask for help; -h works anywhere before `--`.
      expect(await runCli([name, '--help'])).toEqual({ status: 0, out: help, err: '' });
      expect(await runCli([name, '--bogus', '-h'])).toEqual({ status: 0, out: help, err: '' });
      expect(await runCli(['help', name])).toEqual({ status: 0, out: help, err: '' });
    },
  );

  it.each([[['--version']], [['-V']], [['version']]])(
    'rolegate %j prints the package.json version',
    async (argv) => {
      expect(await runCli(argv)).toEqual({ status: 0, out: `${VERSION}\n`, err: '' });
    },
  );
});

describe('usage errors: exit 2, one line on stderr naming the help to read', () => {
  it('an unknown command or top-level flag', async () => {
    expectUsageError(await runCli(['frobnicate']), undefined, 'unknown command "frobnicate"');
    expectUsageError(
      await runCli(['serv', '--config', 'x']),
      undefined,
      'unknown command "serv"; did you mean serve?',
    );
    expectUsageError(
      await runCli(['--config', 'x']),
      undefined,
      'unknown flag --config; give a command first',
    );
    expectUsageError(await runCli(['help', 'nope']), undefined, 'unknown command "nope"');
  });

  it('an unknown flag, a flag without its value, a value for a switch, a stray argument', async () => {
    expectUsageError(await runCli(['serve', '--bogus']), 'serve', 'unknown flag --bogus');
    expectUsageError(
      await runCli(['serve', '--confg', 'x']),
      'serve',
      'unknown flag --confg; did you mean --config?',
    );
    expectUsageError(await runCli(['serve', '--config']), 'serve', 'flag --config needs a value');
    expectUsageError(
      await runCli(['serve', '--config', 'x', '--dev-issuer=yes']),
      'serve',
      'flag --dev-issuer takes no value',
    );
    expectUsageError(
      await runCli(['serve', '--config', 'x', 'extra']),
      'serve',
      'unexpected argument "extra"',
    );
  });

  it('a missing required flag', async () => {
    expectUsageError(await runCli(['serve']), 'serve', 'missing required flag --config');
    expectUsageError(await runCli(['dev-token']), 'dev-token', 'missing required flag --sub');
    expectUsageError(
      await runCli(['validate']),
      'validate',
      'missing policy files or --config FILE',
    );
  });

  it('flags that exclude each other or have no such value', async () => {
    expectUsageError(
      await runCli(['validate', '--config', 'a.yaml', 'p.json']),
      'validate',
      'give either --config FILE or policy files, not both',
    );
    expectUsageError(
      await runCli(['validate', '--format', 'xml', 'p.json']),
      'validate',
      '--format must be text or json, not "xml"',
    );
  });

  it('simulate refuses --config - because the requests come from standard input', async () => {
    expectUsageError(
      await runCli(['simulate', '--config', '-'], '{}\n'),
      'simulate',
      'simulate reads requests from standard input, so the configuration cannot come from it too; pass --config FILE',
    );
  });

  it('--config - refuses a terminal on standard input instead of waiting', async () => {
    expectUsageError(
      await runCli(['serve', '--config', '-'], '', true),
      'serve',
      '--config - reads the configuration from standard input, but standard input is a terminal; pipe the configuration in',
    );
  });
});

describe('serve', () => {
  const saved = { ...process.env };
  // One process, in this one: the worker cluster (server.workers > 1) runs
  // the compiled CLI and is covered by test/e2e/workers.test.ts.
  beforeEach(() => {
    process.env['ROLEGATE_WORKERS'] = '1';
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  it('an unreadable config: exit 1, one line with ERR_CONFIG_READ and a hint', async () => {
    const missing = join(tmpdir(), 'rolegate-no-such-dir', 'rolegate.yaml');
    const line = expectOneLineError(
      await runCli(['serve', '--config', missing]),
      'serve',
      'ERR_CONFIG_READ',
    );
    expect(line).toBe(
      `rolegate serve: ERR_CONFIG_READ: ${missing}: cannot read the configuration file: no such file or directory (check the path; --config - reads the configuration from standard input)`,
    );
  });

  it('an invalid config: exit 1 and every problem with its path, line and column on stderr', async () => {
    const file = configFile('issuers: nope\nroles: 3\n');
    const r = await runCli(['serve', '--config', file]);
    expect(r.status).toBe(1);
    expect(r.out).toBe('');
    expect(lines(r.err)).toEqual([
      'rolegate serve: ERR_CONFIG_INVALID: the configuration has 2 problems:',
      `  ${file}:1:1: $.issuers: ERR_CONFIG_INVALID must be a list`,
      `  ${file}:2:1: $.roles: ERR_CONFIG_INVALID must be a list`,
    ]);
  });

  it.each([
    ['gRPC', 'grpc', 'server.grpc.port'],
    ['admin', 'admin', 'server.admin.port'],
  ])(
    'a busy %s port: exit 1, one line with ERR_LISTEN_ADDRESS_IN_USE',
    async (name, key, setting) => {
      const { server, port } = await busyPort();
      try {
        const ports = { grpc: { port: 0 }, admin: { port: 0 }, [key]: { port } };
        const r = await runCli(['serve', '--config', configFile({ server: ports })]);
        const line = expectOneLineError(r, 'serve', 'ERR_LISTEN_ADDRESS_IN_USE');
        expect(line).toBe(
          `rolegate serve: ERR_LISTEN_ADDRESS_IN_USE: the ${name} listener cannot bind 127.0.0.1:${port}: the address is already in use (stop the other process, or choose another ${setting})`,
        );
      } finally {
        server.close();
      }
    },
  );

  it('an invalid ROLEGATE_LISTEN_HOST: exit 1, one line with ERR_LISTEN_HOST_INVALID', async () => {
    process.env['ROLEGATE_LISTEN_HOST'] = 'all-interfaces';
    const file = configFile({ server: { grpc: { port: 0 }, admin: { port: 0 } } });
    const line = expectOneLineError(
      await runCli(['serve', '--config', file]),
      'serve',
      'ERR_LISTEN_HOST_INVALID',
    );
    expect(line).toContain('ROLEGATE_LISTEN_HOST="all-interfaces" is not an IP address');
  });

  it('binds both listeners to ROLEGATE_LISTEN_HOST: a host that is not local fails as one line', async () => {
    process.env['ROLEGATE_LISTEN_HOST'] = '192.0.2.1'; // TEST-NET-1: never an address of this machine
    const file = configFile({ server: { grpc: { port: 0 }, admin: { port: 0 } } });
    const line = expectOneLineError(
      await runCli(['serve', '--config', file]),
      'serve',
      'ERR_LISTEN_ADDRESS_UNAVAILABLE',
    );
    expect(line).toContain('cannot bind 192.0.2.1:0');
  });

  it('reads the config from standard input with --config -, then drains and exits 0 on SIGTERM', async () => {
    // The file's hosts cannot be bound; ROLEGATE_LISTEN_HOST replaces both, so serving works.
    process.env['ROLEGATE_LISTEN_HOST'] = '127.0.0.1';
    const config = stringify({
      server: {
        grpc: { host: '192.0.2.1', port: 0 },
        admin: { host: '192.0.2.1', port: 0 },
        drainSeconds: 1,
        shutdownDelaySeconds: 0,
      },
    });
    const exit = runCli(['serve', '--config', '-'], config);
    await new Promise((r) => setTimeout(r, 500));
    process.emit('SIGTERM');
    expect(await exit).toEqual({ status: 0, out: '', err: '' });
  });
});

describe('validate', () => {
  const policy = [
    'Version: "2012-10-17"', // line 1
    'Statement:',
    '  - Sid: Read',
    '    Effect: Allow',
    '    Action: GetObject', // line 5: not service:Name
    '    Resource: "*"',
  ].join('\n');

  it('--format json: one object per finding with code, severity, file, line, column, path, message (YAML)', async () => {
    const file = configFile(policy, 'read.yaml');
    const r = await runCli(['validate', '--format', 'json', file]);
    expect(r.status).toBe(1);
    expect(r.err).toBe('');
    expect(lines(r.out).map((l) => JSON.parse(l) as unknown)).toEqual([
      {
        code: 'ERR_POLICY_ACTION',
        severity: 'error',
        file,
        line: 5,
        column: 5,
        path: '$.Statement[0].Action',
        message: '"GetObject" is not "*" or of the form service:ActionName',
        policy: 'read.yaml',
        statement: 'Read',
      },
    ]);
  });

  it('--format json reports lines and columns in JSON files, warnings included, and a syntax error', async () => {
    const json = [
      '{',
      '  "Version": "2012-10-17",',
      '  "Statement": [',
      '    { "Effect": "Allow", "Action": "*", "Resource": "*" },',
      '    { "Effect": "Allow", "Action": "s3:GetObject", "Resource": "bucket" }',
      '  ]',
      '}',
    ].join('\n');
    const file = configFile(json, 'p.json');
    const broken = configFile('{\n  "Version": "2012-10-17",\n  "Statement": [\n', 'broken.json');
    const r = await runCli(['validate', '-o', 'json', file, broken]);
    expect(r.status).toBe(1);
    const findings = lines(r.out).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(findings).toEqual([
      expect.objectContaining({
        code: 'WARN_POLICY_ALLOW_ALL',
        severity: 'warning',
        file,
        line: 4,
        column: 5,
        path: '$.Statement[0]',
      }),
      expect.objectContaining({
        code: 'ERR_POLICY_ARN',
        severity: 'error',
        file,
        line: 5,
        column: 52,
        path: '$.Statement[1].Resource',
      }),
      expect.objectContaining({ code: 'ERR_POLICY_SYNTAX', file: broken, line: 4 }),
    ]);
  });

  it('text format: file:line:column before each finding and a summary', async () => {
    const file = configFile(policy, 'read.yaml');
    const r = await runCli(['validate', file]);
    expect(r.status).toBe(1);
    expect(lines(r.out)).toEqual([
      `${file}:5:5: read.yaml: statement Read: $.Statement[0].Action: ERR_POLICY_ACTION "GetObject" is not "*" or of the form service:ActionName`,
      '1 file(s), 1 policy: 1 error(s), 0 warning(s)',
    ]);
  });

  it('--config --format json: findings in the config and in the policy files it references', async () => {
    const file = configFile(
      [
        'server:',
        '  grpc: { prot: 9001 }', // line 2: unknown field
        'roles:',
        '  - name: reader',
        '    trustPolicy: { file: missing-trust.json }', // line 5
      ].join('\n'),
    );
    const r = await runCli(['validate', '--config', file, '--format', 'json']);
    expect(r.status).toBe(1);
    expect(r.err).toBe('');
    expect(lines(r.out).map((l) => JSON.parse(l) as unknown)).toEqual([
      {
        code: 'ERR_CONFIG_INVALID',
        severity: 'error',
        file,
        line: 2,
        column: 11,
        path: '$.server.grpc.prot',
        message: 'unknown field; expected one of: host, port',
      },
    ]);
    const fixed = configFile(
      [
        'roles:',
        '  - name: reader',
        '    trustPolicy: { file: missing-trust.json }', // line 3
        '    policies:',
        '      inline:',
        '        Version: "2012-10-17"',
        '        Statement:',
        '          - Effect: Sometimes', // line 8
        '            Action: s3:GetObject',
        '            Resource: "*"',
      ].join('\n'),
    );
    const r2 = await runCli(['validate', '--config', fixed, '--format', 'json']);
    expect(r2.status).toBe(1);
    const findings = lines(r2.out).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(findings).toEqual([
      expect.objectContaining({
        code: 'ERR_POLICY_READ',
        file: fixed,
        line: 3,
        column: 20,
        path: '$.roles[0].trustPolicy.file',
      }),
      expect.objectContaining({
        code: 'ERR_POLICY_EFFECT',
        file: fixed,
        line: 8,
        column: 13,
        path: '$.roles[0].policies.inline.Statement[0].Effect',
        policy: 'inline',
      }),
    ]);
  });

  it('--config - validates a configuration read from standard input', async () => {
    const ok = await runCli(['validate', '--config', '-'], 'unmatchedRoutes: deny\n');
    expect(ok).toEqual({
      status: 0,
      out: '<stdin>: ok (0 roles, 0 statements, 0 warning(s))\n',
      err: '',
    });
    const bad = await runCli(['validate', '--config', '-', '--format', 'json'], 'roles: {}\n');
    expect(bad.status).toBe(1);
    expect(JSON.parse(lines(bad.out)[0] ?? '')).toMatchObject({
      code: 'ERR_CONFIG_INVALID',
      file: '<stdin>',
      line: 1,
      column: 1,
      path: '$.roles',
    });
  });

  it('an unreadable file is an error on stderr, never on stdout', async () => {
    const missing = join(tmpdir(), 'rolegate-no-such-dir', 'p.json');
    const r = await runCli(['validate', '--format', 'json', missing]);
    expect(r.status).toBe(1);
    expect(r.out).toBe('');
    expect(lines(r.err)).toEqual([
      `rolegate validate: ERR_POLICY_READ: ${missing}: cannot read the policy file: no such file or directory`,
    ]);
    const c = await runCli(['validate', '--config', missing]);
    expectOneLineError(c, 'validate', 'ERR_CONFIG_READ');
  });
});

describe('simulate and dev-token', () => {
  it('simulate --config FILE answers requests from standard input on stdout', async () => {
    const file = configFile({ unmatchedRoutes: 'deny' });
    const r = await runCli(['simulate', '--config', file], '{"claims": 1}\n');
    expect(r.status).toBe(1);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toEqual({
      error: { code: 'ERR_INPUT_SHAPE', message: 'claims must be an object' },
    });
  });

  it('simulate with an unreadable config: exit 1, one line', async () => {
    const missing = join(tmpdir(), 'rolegate-no-such-dir', 'rolegate.yaml');
    expectOneLineError(
      await runCli(['simulate', '--config', missing], '{}\n'),
      'simulate',
      'ERR_CONFIG_READ',
    );
  });

  it('dev-token prints only the token on stdout', async () => {
    const r = await runCli(['dev-token', '--sub', 'alice', '--groups', 'a,b']);
    expect(r.status).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });
});
