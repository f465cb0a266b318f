/**
 * How the CLI reports a failure: on stderr, one line with the command, a
 * catalogue code, what is wrong and a hint; never a stack trace or a raw
 * library message. Returns the exit status (2 for usage errors, else 1).
 */
import { ConfigError } from '../config/load.js';
import { findingLocation, formatFinding } from '../config/finding.js';
import { RolegateError, type ErrorCode } from '../errors.js';
import type { CliIo } from './io.js';
import { USAGE_EXIT, UsageError } from './usage-error.js';

/** What to try next, for codes whose message does not already say it. */
const HINTS: Partial<Record<ErrorCode, string>> = {
  ERR_CONFIG_READ: 'check the path; --config - reads the configuration from standard input',
  ERR_CONFIG_SYNTAX: 'fix the YAML or JSON at that line and column',
  ERR_AUDIT_EMPTY:
    "give the JSON Lines file that audit.file names (or rolegate serve's standard output when it names none), not the operational log",
  ERR_DECISION_NOT_FOUND:
    'check the id; allows may be sampled out (audit.allowSampleRate), and each replica writes its own audit file: give every one with --audit',
  ERR_TRACING_CONFIG: 'see docs/observability.md for the supported OTEL_* settings',
  ERR_INTERNAL: 'this is a bug; please report it with the command line that caused it',
};

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function withHint(text: string, hint: string | undefined): string {
  return hint === undefined ? text : `${text} (${hint})`;
}

/** Writes `err` to `io.stderr` and returns the exit status for it. */
export function reportError(err: unknown, io: Pick<CliIo, 'stderr'>, command?: string): number {
  const who = command === undefined ? 'rolegate' : `rolegate ${command}`;
  const write = (line: string) => io.stderr.write(`${oneLine(line)}\n`);
  if (err instanceof UsageError) {
    const prefix = err.command === undefined ? 'rolegate' : `rolegate ${err.command}`;
    write(`${prefix}: ${err.code}: ${withHint(err.message, err.hint)}`);
    return USAGE_EXIT;
  }
  if (err instanceof ConfigError) {
    const [first, ...more] = err.findings;
    if (first !== undefined && more.length === 0) {
      const where = findingLocation(first);
      const text = `${where}${where === '' ? '' : ': '}${first.message}`;
      write(`${who}: ${first.code}: ${withHint(text, HINTS[first.code])}`);
    } else {
      write(`${who}: ${err.code}: the configuration has ${err.findings.length} problems:`);
      for (const f of err.findings) io.stderr.write(`  ${oneLine(formatFinding(f))}\n`);
    }
    return 1;
  }
  if (err instanceof RolegateError) {
    write(`${who}: ${err.code}: ${withHint(err.message, HINTS[err.code])}`);
    return 1;
  }
  const message = err instanceof Error ? err.message : String(err);
  write(`${who}: ERR_INTERNAL: ${withHint(message.split('\n')[0] ?? '', HINTS.ERR_INTERNAL)}`);
  return 1;
}
