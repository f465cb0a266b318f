/**
 * The `rolegate` command line. Follows clig.dev: `--help` (also per
 * command) and `--version` print to stdout and exit 0; usage errors exit 2
 * with one line on stderr; every error goes to stderr, results to stdout.
 * Returns the exit status instead of exiting so tests can call it.
 */
import { baseDirOf, loadConfig } from '../config/load.js';
import { migrateStore } from '../serve/access.js';
import { runAccess, runCredentials } from './access.js';
import { runLogin } from './login.js';
import { parseCommandArgs, stringFlag, wantsHelp, type ParsedArgs } from './args.js';
import {
  COMMANDS,
  isCommandName,
  mainHelp,
  type CommandName,
  type CommandSpec,
} from './commands.js';
import { configSourceOf } from './config-source.js';
import { mintDevToken } from './dev-issuer.js';
import type { FailOn, FindingFormat } from './findings-output.js';
import { processIo, type CliIo } from './io.js';
import { reportError } from './report.js';
import { runServe } from './serve.js';
import { runConfigSimulate } from './simulate-config.js';
import { runDiff } from './diff.js';
import { runPolicyTests } from './policy-test.js';
import { parseDuration, readAuditFiles, requireAuditRecords } from './audit-files.js';
import { runExplain } from './explain.js';
import { formatShadowSummary, summariseShadow } from './shadow-report.js';
import { formatUsageReport, usageReport } from './usage-report.js';
import { runOneRequestSimulate, wantsOneRequest } from './simulate-one.js';
import { runRawSimulate } from './simulate-raw.js';
import { didYouMean } from './suggest.js';
import { UsageError } from './usage-error.js';
import { runValidateConfig } from './validate-config.js';
import { runValidate } from './validate.js';
import { rolegateVersion } from './version.js';

function unknownCommand(name: string): UsageError {
  const hint = didYouMean(name, Object.keys(COMMANDS));
  return new UsageError(`unknown command ${JSON.stringify(name)}${hint}`);
}

function formatOf(args: ParsedArgs): FindingFormat {
  const format = stringFlag(args, 'format', 'validate') ?? 'text';
  if (format !== 'text' && format !== 'json') {
    throw new UsageError(
      `--format must be text or json, not ${JSON.stringify(format)}`,
      'validate',
    );
  }
  return format;
}

function failOnOf(args: ParsedArgs): FailOn {
  const failOn = stringFlag(args, 'fail-on', 'validate') ?? 'error';
  if (failOn !== 'warning' && failOn !== 'error') {
    throw new UsageError(
      `--fail-on must be warning or error, not ${JSON.stringify(failOn)}`,
      'validate',
    );
  }
  return failOn;
}

async function validate(args: ParsedArgs, io: CliIo): Promise<number> {
  const format = formatOf(args);
  const failOn = failOnOf(args);
  const config = stringFlag(args, 'config', 'validate');
  if (config !== undefined && args.positionals.length > 0) {
    throw new UsageError('give either --config FILE or policy files, not both', 'validate');
  }
  if (config !== undefined) {
    return runValidateConfig(await configSourceOf(config, io, 'validate'), io, format, failOn);
  }
  if (args.positionals.length === 0) {
    throw new UsageError('missing policy files or --config FILE', 'validate');
  }
  return runValidate(args.positionals, io, format, failOn);
}

async function simulate(args: ParsedArgs, io: CliIo): Promise<number> {
  const config = stringFlag(args, 'config', 'simulate');
  if (wantsOneRequest(args)) {
    if (config === undefined) {
      throw new UsageError('a request on the command line needs --config FILE', 'simulate');
    }
    if (config === '-') {
      throw new UsageError('pass the configuration as a file, not on standard input', 'simulate');
    }
    return runOneRequestSimulate(args, () => loadConfig(config), io);
  }
  if (config === undefined) return runRawSimulate(io.stdin, io.stdout);
  if (config === '-') {
    throw new UsageError(
      'simulate reads requests from standard input, so the configuration cannot come from it too; pass --config FILE',
      'simulate',
    );
  }
  return runConfigSimulate(loadConfig(config), io.stdin, io.stdout);
}

function auditFlag(args: ParsedArgs, command: string): string[] {
  const v = args.values['audit'];
  const files = Array.isArray(v) ? v.filter((f): f is string => typeof f === 'string') : [];
  if (files.length === 0) throw new UsageError('missing required flag --audit FILE', command);
  return files;
}

function subcommand(args: ParsedArgs, command: string, expected: string): void {
  const [sub, ...extra] = args.positionals;
  if (sub !== expected || extra.length > 0) {
    throw new UsageError(`expected "${command} ${expected}"`, command);
  }
}

function reportFormat(args: ParsedArgs, command: string): FindingFormat {
  const format = stringFlag(args, 'format', command) ?? 'text';
  if (format !== 'text' && format !== 'json') {
    throw new UsageError(`--format must be text or json, not ${JSON.stringify(format)}`, command);
  }
  return format;
}

async function shadowReport(args: ParsedArgs, io: CliIo): Promise<number> {
  subcommand(args, 'shadow', 'report');
  const files = auditFlag(args, 'shadow');
  const format = reportFormat(args, 'shadow');
  const lines = await readAuditFiles(files);
  requireAuditRecords(lines, 'any');
  const summary = summariseShadow(lines);
  io.stdout.write(
    format === 'json' ? `${JSON.stringify(summary)}\n` : formatShadowSummary(summary, files.length),
  );
  return 0;
}

async function usage(args: ParsedArgs, io: CliIo, now: () => number = Date.now): Promise<number> {
  subcommand(args, 'report', 'usage');
  const files = auditFlag(args, 'report');
  const config = stringFlag(args, 'config', 'report', true);
  const format = reportFormat(args, 'report');
  const since = stringFlag(args, 'since', 'report');
  const sinceMs = since === undefined ? undefined : now() - parseDuration(since, 'report');
  const loaded = loadConfig(config);
  const lines = await readAuditFiles(files, sinceMs);
  requireAuditRecords(lines, 'decision');
  const report = usageReport(lines, loaded);
  io.stdout.write(
    format === 'json'
      ? `${JSON.stringify(report)}\n`
      : formatUsageReport(report, files.length, since),
  );
  return 0;
}

async function devToken(args: ParsedArgs, io: CliIo): Promise<number> {
  const sub = stringFlag(args, 'sub', 'dev-token', true);
  const groups =
    stringFlag(args, 'groups', 'dev-token')
      ?.split(',')
      .filter((g) => g !== '') ?? [];
  const email = stringFlag(args, 'email', 'dev-token');
  const token = await mintDevToken(sub, groups, email === undefined ? {} : { email });
  io.stdout.write(`${token}\n`);
  return 0;
}

function help(args: ParsedArgs, io: CliIo): number {
  const [topic, ...extra] = args.positionals;
  if (extra.length > 0) throw new UsageError('help takes at most one command', 'help');
  if (topic === undefined) {
    io.stdout.write(mainHelp());
    return 0;
  }
  if (!isCommandName(topic)) throw unknownCommand(topic);
  io.stdout.write(COMMANDS[topic].help);
  return 0;
}

async function run(command: CommandName, args: ParsedArgs, io: CliIo): Promise<number> {
  switch (command) {
    case 'serve': {
      const config = stringFlag(args, 'config', 'serve', true);
      const source = await configSourceOf(config, io, 'serve');
      return runServe({ source, devIssuer: args.values['dev-issuer'] === true }, io);
    }
    case 'validate':
      return validate(args, io);
    case 'simulate':
      return simulate(args, io);
    case 'dev-token':
      return devToken(args, io);
    case 'shadow':
      return shadowReport(args, io);
    case 'report':
      return usage(args, io);
    case 'explain':
      return runExplain(args, io, auditFlag(args, 'explain'), reportFormat(args, 'explain'));
    case 'test': {
      const config = stringFlag(args, 'config', 'test');
      const junit = stringFlag(args, 'junit', 'test');
      return runPolicyTests(
        {
          paths: args.positionals,
          ...(config === undefined ? {} : { config }),
          ...(junit === undefined ? {} : { junit }),
        },
        io,
      );
    }
    case 'access':
      return runAccess(args, io);
    case 'credentials':
      return runCredentials(args, io);
    case 'login':
      return runLogin(args, io);
    case 'migrate': {
      const file = stringFlag(args, 'config', 'migrate', true);
      const source = await configSourceOf(file, io, 'migrate');
      const loaded = loadConfig(source);
      const kind = await migrateStore(loaded.settings.access, baseDirOf(source));
      io.stdout.write(`access store (${kind}) is up to date\n`);
      return 0;
    }
    case 'diff':
      return runDiff(args, io);
    case 'version':
      io.stdout.write(`${rolegateVersion()}\n`);
      return 0;
    case 'help':
      return help(args, io);
  }
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') {
    io.stdout.write(mainHelp());
    return 0;
  }
  if (first === '--version' || first === '-V') {
    io.stdout.write(`${rolegateVersion()}\n`);
    return 0;
  }
  if (first.startsWith('-')) throw new UsageError(`unknown flag ${first}; give a command first`);
  if (!isCommandName(first)) throw unknownCommand(first);
  const spec: CommandSpec = COMMANDS[first];
  if (wantsHelp(rest)) {
    io.stdout.write(spec.help);
    return 0;
  }
  const args = parseCommandArgs(first, rest, spec.flags, spec.positionals ?? false);
  return run(first, args, io);
}

/**
 * Runs the CLI with `argv` (without node and script) on `io` (default: the
 * process's streams). Resolves to the exit status: 0 success, 1 failure,
 * 2 usage error. Never rejects: every error is reported on stderr.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (err) {
    const command = argv[0] !== undefined && isCommandName(argv[0]) ? argv[0] : undefined;
    return reportError(err, io, command);
  }
}
