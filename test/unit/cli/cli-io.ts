/** In-memory standard streams for CLI tests. */
import { PassThrough, Readable, Writable } from 'node:stream';
import type { CliIo } from '../../../src/cli/io.js';
import { main } from '../../../src/cli/main.js';

/** A writable that keeps what was written. */
export function sink(): { stream: Writable; text: () => string } {
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

/** The outcome of one CLI run. */
export interface CliRun {
  readonly status: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `rolegate argv` with `stdin` text (default: empty, not a terminal). */
export async function runCli(argv: string[], stdin = '', tty = false): Promise<CliRun> {
  const out = sink();
  const err = sink();
  const input = tty ? Object.assign(new PassThrough(), { isTTY: true }) : Readable.from([stdin]);
  const io: CliIo = { stdin: input, stdout: out.stream, stderr: err.stream };
  const status = await main(argv, io);
  return { status, out: out.text(), err: err.text() };
}

/** The non-empty lines of `text`. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}
