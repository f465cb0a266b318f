/**
 * The operational logger (pino, JSON to stderr so stdout stays the audit
 * stream). Redaction is a second line of defence: no code logs a token, but
 * any field named like a credential is censored anyway.
 */
import { openSync } from 'node:fs';
import { pino, type DestinationStream, type Logger } from 'pino';
import { settledWithin } from '../settled-within.js';
import { BatchedOutput } from './batched-output.js';

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
export type LogDestination =
  number | NodeJS.WritableStream | BatchedOutput | { readonly file: string };

/**
 * Creates a logger. Default level `info`, default destination fd 2 (stderr);
 * `ROLEGATE_LOG_LEVEL` in the CLI overrides the level. A `{ file }`
 * destination is opened for appending here, so a path that cannot be
 * written fails at start rather than losing records later.
 */
export function createLogger(level = 'info', destination: LogDestination = 2): Logger {
  const stream = toStream(destination);
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

/**
 * Creates the audit logger (level `info`; default destination fd 1,
 * stdout). Unlike {@link createLogger} it has no redaction: it only ever
 * logs `{ audit: AuditRecord }`, whose fields are chosen one by one and
 * hold no credential, so censoring paths would never match anything and
 * would cost several microseconds per decision.
 */
export function createAuditLogger(destination: LogDestination = 1): Logger {
  const stream =
    // A pino/SonicBoom stream has a `file` property too (null for a descriptor).
    typeof destination === 'number' || typeof (destination as { file?: unknown }).file === 'string'
      ? bufferedDestination(destination as number | { readonly file: string })
      : (destination as NodeJS.WritableStream | BatchedOutput);
  const logger = pino(
    { level: 'info', base: { service: 'rolegate' }, timestamp: pino.stdTimeFunctions.isoTime },
    stream,
  );
  // A multistream wants each line's level alongside: only pino may write to it.
  if ((stream as unknown as Record<symbol, unknown>)[pino.symbols.needsMetadataGsym] !== true) {
    auditStreams.set(logger, stream);
  }
  return logger;
}

/** The destination of each logger made by {@link createAuditLogger}: lines written there are its lines. */
const auditStreams = new WeakMap<
  Logger,
  DestinationStream | NodeJS.WritableStream | BatchedOutput
>();

/**
 * For a logger made by {@link createAuditLogger}: a function that writes one
 * finished JSON line (with its newline) to the logger's own destination, as
 * pino would, or does nothing while the logger's level is above `info`.
 * `undefined` for any other logger (its options may change the line: use it).
 */
export function auditLineWriter(logger: Logger): ((line: string) => void) | undefined {
  const stream = auditStreams.get(logger);
  if (stream === undefined) return undefined;
  return (line) => {
    if (logger.levelVal > 30) return;
    stream.write(line);
  };
}

/**
 * A write starts once this many bytes of audit lines are queued and none is in
 * flight (32 KiB: at 4 KiB a fast destination took a write per dozen lines, and
 * each asynchronous write costs more than the lines it carries; 4-5 µs per
 * decision measured)...
 */
const AUDIT_MIN_WRITE_BYTES = 32_768;
/** ...and while one is, lines gather in chunks of up to this many bytes (one write each). */
const AUDIT_CHUNK_BYTES = 65_536;

/**
 * The audit file or descriptor: lines encoded once into reused 64 KiB chunks,
 * written asynchronously from 32 KiB on (one write per line cost a system call
 * per decision under load), flushed every second; `flushLogger` writes the
 * rest on shutdown.
 */
function bufferedDestination(destination: number | { readonly file: string }): BatchedOutput {
  const opened = typeof destination !== 'number';
  const fd = opened ? openSync(destination.file, 'a', 0o640) : destination;
  return new BatchedOutput(fd, {
    chunkBytes: AUDIT_CHUNK_BYTES,
    minWriteBytes: AUDIT_MIN_WRITE_BYTES,
    closeFd: opened,
  });
}

function toStream(destination: LogDestination): DestinationStream {
  if (typeof destination === 'number') return pino.destination({ fd: destination, sync: false });
  if ('file' in destination) {
    return pino.destination({ fd: openSync(destination.file, 'a', 0o640), sync: false });
  }
  return destination;
}

/**
 * Resolves once everything the logger was given is written (async
 * destinations), or after `timeoutMs` (default 5000). pino's own `flush`
 * returns before an in-flight asynchronous write has finished, so this
 * waits for the destination's `drain` instead.
 */
export async function flushLogger(logger: Logger, timeoutMs = 5000): Promise<void> {
  const own = auditStreams.get(logger);
  if (own instanceof BatchedOutput) {
    await settledWithin(own.flushed(), timeoutMs);
    return;
  }
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    { _writing?: unknown; _len?: unknown; once?: unknown; flush?: unknown } | undefined;
  if (stream === undefined || typeof stream.once !== 'function') return;
  const busy = () =>
    stream._writing === true || (typeof stream._len === 'number' && stream._len > 0);
  if (!busy()) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    (stream.once as (event: string, listener: () => void) => void).call(stream, 'drain', () => {
      clearTimeout(timer);
      resolve();
    });
    if (stream._writing !== true && typeof stream.flush === 'function') {
      (stream.flush as () => void).call(stream);
    }
  });
}
