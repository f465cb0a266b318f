/**
 * The operational logger (pino, JSON to stderr so stdout stays the audit
 * stream). Redaction is a second line of defence: no code logs a token, but
 * any field named like a credential is censored anyway.
 */
import { openSync } from 'node:fs';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Field paths pino censors in every record. */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  'headers["proxy-authorization"]',
  'headers["set-cookie"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["proxy-authorization"]',
  '*.headers["set-cookie"]',
  'cookie',
  '*.cookie',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'credentials',
  '*.credentials',
];

/** Where a logger writes: a file descriptor, a stream, or a file appended to. */
export type LogDestination = number | NodeJS.WritableStream | { readonly file: string };

/**
 * Creates a logger. Default level `info`, default destination fd 2 (stderr);
 * `ROLEGATE_LOG_LEVEL` in the CLI overrides the level. A `{ file }`
 * destination is opened for appending here, so a path that cannot be
 * written fails at start rather than losing records later.
 */
export function createLogger(level = 'info', destination: LogDestination = 2): Logger {
  let stream: DestinationStream;
  if (typeof destination === 'number') {
    stream = pino.destination({ fd: destination, sync: false });
  } else if ('file' in destination) {
    stream = pino.destination({ fd: openSync(destination.file, 'a', 0o640), sync: false });
  } else {
    stream = destination;
  }
  return pino(
    {
      level,
      base: { service: 'rolegate' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}

/** Writes what the logger buffered (async destinations) and resolves once it is out. */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    try {
      logger.flush(() => resolve());
    } catch {
      resolve();
    }
  });
}
