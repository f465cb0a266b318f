/** The three streams a command uses; tests pass their own. */

/** Standard input, output and error of one CLI run. */
export interface CliIo {
  /** Standard input; `isTTY` is true when it is a terminal (nothing piped). */
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  /** Results only: help, version, findings, simulation answers, tokens. */
  readonly stdout: NodeJS.WritableStream;
  /** Every error and diagnostic message. */
  readonly stderr: NodeJS.WritableStream;
}

/** The process's own streams. */
export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
}
