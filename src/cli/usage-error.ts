/**
 * Usage errors: an unknown command or flag, a missing or conflicting flag.
 * Exit status 2, one line on stderr with a hint to the right help.
 */
import { RolegateError } from '../errors.js';

/** Exit status of a usage error (as `opa`, `kubectl` and most POSIX tools use). */
export const USAGE_EXIT = 2;

/** A wrong command line; `command` names the subcommand whose help the hint points to. */
export class UsageError extends RolegateError {
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super('ERR_USAGE', message);
    this.name = 'UsageError';
    this.command = command;
  }

  /** `run 'rolegate serve --help'` (or `rolegate --help` without a command). */
  get hint(): string {
    return `run 'rolegate ${this.command === undefined ? '' : `${this.command} `}--help'`;
  }
}
