/**
 * Parses one subcommand's flags with `node:util` parseArgs, turning its
 * errors into {@link UsageError}s that name the flag in plain words.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { didYouMean } from './suggest.js';
import { UsageError } from './usage-error.js';

/** The options of one command, as parseArgs takes them. */
export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

/** Parsed flags (strings or booleans by name) and positional arguments. */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  readonly positionals: readonly string[];
}

/** A JWS or JWE compact serialization: a JSON header (`{"` is `eyJ`) and dot-joined parts. */
const LOOKS_LIKE_TOKEN = /^eyJ[\w-]*\.[\w-]*\./;

function flagName(message: string): string | undefined {
  const long = /--([A-Za-z0-9][\w-]*)/.exec(message)?.[1];
  if (long !== undefined) return `--${long}`;
  const short = /'(-[A-Za-z0-9])'/.exec(message)?.[1];
  return short;
}

function usageMessage(err: unknown, flags: FlagSpec): string {
  const code =
    typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
  const message = err instanceof Error ? err.message : String(err);
  const flag = flagName(message) ?? 'a flag';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${flag}${didYouMean(
        flag,
        Object.keys(flags).map((name) => `--${name}`),
      )}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return message.includes('does not take an argument')
        ? `flag ${flag} takes no value`
        : `flag ${flag} needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const arg = /argument '([^']*)'/.exec(message)?.[1];
      // A credential typed without its flag is never echoed back.
      if (arg !== undefined && LOOKS_LIKE_TOKEN.test(arg)) {
        return 'unexpected argument (it looks like a token, so it is not shown; pass it with --token)';
      }
      return `unexpected argument${arg === undefined ? '' : ` ${JSON.stringify(arg)}`}`;
    }
    default:
      return message.split('\n')[0] ?? message;
  }
}

/** True when `-h`/`--help` appears before any `--` terminator. */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/**
 * Parses `argv` for `command` against `flags` (strict: unknown flags are
 * refused). `positionals` defaults to false. Throws {@link UsageError}.
 */
export function parseCommandArgs(
  command: string,
  argv: readonly string[],
  flags: FlagSpec,
  positionals = false,
): ParsedArgs {
  try {
    const parsed = parseArgs({
      args: [...argv],
      options: flags,
      allowPositionals: positionals,
      strict: true,
    });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (err) {
    throw new UsageError(usageMessage(err, flags), command);
  }
}

/** The string value of `name`, or a {@link UsageError} when a required one is missing. */
export function stringFlag(args: ParsedArgs, name: string, command: string, required: true): string;
export function stringFlag(
  args: ParsedArgs,
  name: string,
  command: string,
  required?: false,
): string | undefined;
export function stringFlag(
  args: ParsedArgs,
  name: string,
  command: string,
  required = false,
): string | undefined {
  const value = args.values[name];
  if (typeof value === 'string') return value;
  if (required) throw new UsageError(`missing required flag --${name}`, command);
  return undefined;
}
