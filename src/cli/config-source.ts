/** `--config FILE` or `--config -` (standard input) as a {@link ConfigSource}. */
import { ConfigError, STDIN_NAME, type ConfigSource } from '../config/load.js';
import type { CliIo } from './io.js';
import { UsageError } from './usage-error.js';

/** Largest configuration accepted on standard input: 16 MiB. */
export const MAX_STDIN_CONFIG_BYTES = 16 * 1024 * 1024;

async function readAll(stream: NodeJS.ReadableStream, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > maxBytes) {
      throw new ConfigError('ERR_CONFIG_READ', [
        {
          code: 'ERR_CONFIG_READ',
          severity: 'error',
          file: STDIN_NAME,
          message: `standard input holds more than ${maxBytes} bytes`,
        },
      ]);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The source `--config value` names: the file, or for `-` the text of
 * standard input (refused with a {@link UsageError} when it is a terminal,
 * rather than waiting for typing).
 */
export async function configSourceOf(
  value: string,
  io: Pick<CliIo, 'stdin'>,
  command: string,
): Promise<ConfigSource> {
  if (value !== '-') return { file: value };
  if (io.stdin.isTTY === true) {
    throw new UsageError(
      '--config - reads the configuration from standard input, but standard input is a terminal; pipe the configuration in',
      command,
    );
  }
  return { file: STDIN_NAME, text: await readAll(io.stdin, MAX_STDIN_CONFIG_BYTES) };
}
