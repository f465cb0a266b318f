/**
 * The audit destination of a cluster worker writing to standard output,
 * which all workers share (in a container, usually one pipe). Lines are
 * still batched, but every write(2) carries whole lines and at most
 * {@link PIPE_BUF} bytes: the kernel writes that much to a pipe atomically,
 * so lines of different workers never interleave mid-line. (The single
 * process's destination writes batches of 4 KiB and more, which a pipe may
 * split between writers.) A single line longer than PIPE_BUF is written
 * alone; audit records are far shorter.
 */
import pino from 'pino';

/** Bytes a pipe write is atomic up to (POSIX minimum 512; 4096 on Linux). */
export const PIPE_BUF = 4096;

/** Buffered lines are written at least this often (ms), so a quiet worker holds nothing back. */
const FLUSH_MS = 1000;

/** pino's own file-descriptor destination (SonicBoom): write, flush, end and events. */
export type SharedOutput = ReturnType<typeof pino.destination>;

/**
 * A line-atomic, batched destination on `fd` (default 1, standard output),
 * typed as the stream pino and `createAuditLogger` accept.
 */
export function sharedOutput(fd = 1): SharedOutput & NodeJS.WritableStream {
  const stream = pino.destination({
    fd,
    sync: false,
    // Write once half a pipe buffer is queued; a batch never exceeds PIPE_BUF.
    minLength: PIPE_BUF / 2,
    maxWrite: PIPE_BUF,
  });
  const timer = setInterval(() => {
    try {
      stream.flush();
    } catch {
      // Nothing queued, or a write in flight: the next tick will do.
    }
  }, FLUSH_MS);
  timer.unref();
  stream.on('close', () => clearInterval(timer));
  // SonicBoom is what pino.destination() hands to pino everywhere; it lacks
  // only the Writable bookkeeping fields the Node stream type lists.
  return stream as SharedOutput & NodeJS.WritableStream;
}
