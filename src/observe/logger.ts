/**
 * The operational logger (pino, JSON to stderr so stdout stays the audit
 * stream). Redaction is a second line of defence: no code logs a token, but
 * any field named like a credential is censored anyway.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Field paths pino censors in every record. */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'credentials',
  '*.credentials',
];

/** Creates the logger. Default level `info`; `ROLEGATE_LOG_LEVEL` in the CLI overrides it. */
export function createLogger(
  level = 'info',
  destination: number | NodeJS.WritableStream = 2,
): Logger {
  const stream =
    typeof destination === 'number'
      ? pino.destination({ fd: destination, sync: false })
      : destination;
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
