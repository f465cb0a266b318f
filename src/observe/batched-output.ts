/**
 * The audit destination: lines are encoded once into fixed byte chunks and
 * written with one asynchronous write(2) per chunk.
 *
 * pino's SonicBoom destination kept the batch as one JavaScript string built
 * by `+=`; every write then flattened that string, measured its UTF-8 length
 * and encoded it again on the main thread. Under load that cost about 8 µs per
 * decision (docs/performance.md). Encoding each line straight into a reused
 * Buffer costs a copy, and the chunks are off the JavaScript heap, so the
 * garbage collector never scans them.
 *
 * A chunk is cut where a line ends, so every write holds whole lines and at
 * most `chunkBytes` bytes: with `chunkBytes` = PIPE_BUF the kernel writes each
 * batch to a shared pipe in one piece, and the lines of processes sharing
 * standard output never interleave mid-line. A line longer than a chunk is
 * written alone.
 */
import { EventEmitter } from 'node:events';
import { close, write, writeSync } from 'node:fs';

/** Options of {@link BatchedOutput}. */
export interface BatchedOutputOptions {
  /** Bytes per chunk, the largest write(2) apart from a single longer line. Default 64 KiB. */
  readonly chunkBytes?: number;
  /** A write starts once this many bytes are queued and none is in flight. Default 4 KiB. */
  readonly minWriteBytes?: number;
  /** Queued bytes are written at least this often (ms), so a quiet service holds nothing back. Default 1000. */
  readonly flushMs?: number;
  /** Close `fd` on {@link BatchedOutput.end}. Default false (standard output stays open). */
  readonly closeFd?: boolean;
}

/** Chunks kept for reuse once written; more than this are left to the allocator. */
const SPARE_CHUNKS = 4;
/** Wait before retrying a write that a full non-blocking pipe refused (EAGAIN), ms. */
const EAGAIN_RETRY_MS = 10;

/** Outputs not yet ended: what they still hold is written synchronously when the process exits. */
const open = new Set<BatchedOutput>();
let exitHookInstalled = false;
function writeAllAtExit(): void {
  for (const output of open) output.flushSync();
}

/**
 * A batched, ordered writer of text lines to a file descriptor. It has the
 * methods pino calls on a destination (`write`, `flush`, `end`) and emits
 * `write` (bytes written by one write(2)), `drain` (nothing left queued),
 * `close` (after `end`) and `error` (a write failed other than EAGAIN; an
 * audit destination that cannot be written is not ignored).
 */
export class BatchedOutput extends EventEmitter {
  private readonly chunkBytes: number;
  private readonly minWriteBytes: number;
  private readonly closeFd: boolean;
  private current: Buffer;
  private used = 0;
  /** Sealed chunks (with their used length) waiting for their write, oldest first. */
  private readonly queue: { buf: Buffer; len: number }[] = [];
  private readonly spare: Buffer[] = [];
  private writing = false;
  private ending = false;
  private closed = false;
  private failed: Error | undefined;
  private readonly timer: NodeJS.Timeout;
  /** Callers awaiting {@link flushed}: while there are any, even a short chunk is written at once. */
  private waiters = 0;
  /** A flush asked for while a write was in flight: done when it completes. */
  private flushAfterWrite = false;

  constructor(
    private readonly fd: number,
    options: BatchedOutputOptions = {},
  ) {
    super();
    this.chunkBytes = options.chunkBytes ?? 65_536;
    this.minWriteBytes = Math.min(options.minWriteBytes ?? 4096, this.chunkBytes);
    this.closeFd = options.closeFd ?? false;
    this.current = Buffer.allocUnsafe(this.chunkBytes);
    this.timer = setInterval(() => this.flush(), options.flushMs ?? 1000);
    this.timer.unref();
    open.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', writeAllAtExit);
    }
  }

  /** Bytes accepted but not yet handed to write(2). */
  get queuedBytes(): number {
    let n = this.used;
    for (const q of this.queue) n += q.len;
    return n;
  }

  /**
   * Queues `line` (whole lines, newline included). Returns true, as a stream
   * without backpressure does; false once ended, or once a write failed (the
   * `error` event said so, and nothing more would ever be written).
   */
  write(line: string | Uint8Array): boolean {
    if (this.closed || this.ending || this.failed !== undefined) return false;
    const room = this.current.length - this.used;
    if (typeof line === 'string' && line.length * 3 <= room) {
      // At most 3 bytes per UTF-16 unit: it fits without measuring.
      this.used += this.current.write(line, this.used, 'utf8');
    } else {
      const bytes = typeof line === 'string' ? Buffer.byteLength(line, 'utf8') : line.length;
      if (bytes > room) {
        this.seal();
        if (bytes > this.current.length) {
          // Longer than a chunk: written alone, in one write of its own.
          const own = typeof line === 'string' ? Buffer.from(line, 'utf8') : Buffer.from(line);
          this.queue.push({ buf: own, len: own.length });
          this.pump();
          return true;
        }
      }
      if (typeof line === 'string') this.used += this.current.write(line, this.used, 'utf8');
      else {
        this.current.set(line, this.used);
        this.used += line.length;
      }
    }
    // A chunk sealed because this line did not fit is due now, however little follows it.
    if (!this.writing && (this.queue.length > 0 || this.used >= this.minWriteBytes)) this.pump();
    return true;
  }

  /** Starts writing whatever is queued, however little (after the write in flight, if any). */
  flush(): void {
    if (this.closed) return;
    if (this.writing) {
      this.flushAfterWrite = true;
      return;
    }
    this.seal();
    this.pump();
  }

  /** Resolves once everything accepted so far is written (or a write failed). */
  flushed(): Promise<void> {
    this.flush();
    // After a failed write nothing more is written: there is nothing to wait for.
    if (this.failed !== undefined || (!this.writing && this.queuedBytes === 0)) {
      return Promise.resolve();
    }
    this.waiters++;
    return new Promise((resolve) => {
      const done = () => {
        this.waiters--;
        this.off('drain', done);
        this.off('error', done);
        resolve();
      };
      this.on('drain', done);
      this.on('error', done);
    });
  }

  /** Writes what is queued, then closes (the fd too with `closeFd`) and emits `close`. */
  end(): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    clearInterval(this.timer);
    void this.flushed().then(() => this.finish());
  }

  private finish(): void {
    this.closed = true;
    open.delete(this);
    if (!this.closeFd) {
      this.emit('close');
      return;
    }
    close(this.fd, () => this.emit('close'));
  }

  /** Moves the current chunk, if it holds anything, to the write queue. */
  private seal(): void {
    if (this.used === 0) return;
    this.queue.push({ buf: this.current, len: this.used });
    this.current = this.spare.pop() ?? Buffer.allocUnsafe(this.chunkBytes);
    this.used = 0;
  }

  private pump(): void {
    if (this.writing || this.failed !== undefined) return;
    if (this.queue.length === 0 && this.used >= this.minWriteBytes) this.seal();
    const next = this.queue[0];
    if (next === undefined) {
      this.emit('drain');
      return;
    }
    this.writing = true;
    this.writeFrom(next, 0);
  }

  private writeFrom(chunk: { buf: Buffer; len: number }, offset: number): void {
    write(this.fd, chunk.buf, offset, chunk.len - offset, null, (err, n) => {
      if (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          // A full pipe whose reader is slow: the same bytes again shortly, order kept.
          setTimeout(() => this.writeFrom(chunk, offset), EAGAIN_RETRY_MS).unref();
          return;
        }
        this.writing = false;
        this.failed = err;
        this.emit('error', err);
        return;
      }
      this.emit('write', n);
      if (offset + n < chunk.len) {
        this.writeFrom(chunk, offset + n);
        return;
      }
      this.queue.shift();
      if (chunk.buf.length === this.chunkBytes && this.spare.length < SPARE_CHUNKS) {
        this.spare.push(chunk.buf);
      }
      this.writing = false;
      if (this.ending || this.waiters > 0 || this.flushAfterWrite) this.seal();
      this.flushAfterWrite = false;
      if (this.queue.length > 0 || this.used >= this.minWriteBytes) this.pump();
      else if (this.used === 0) this.emit('drain');
    });
  }

  /**
   * At process exit: what is queued, written synchronously after any write in
   * flight (which the kernel already has or is about to have).
   */
  flushSync(): void {
    if (this.closed || this.failed !== undefined) return;
    this.seal();
    const pending = this.writing ? this.queue.slice(1) : this.queue;
    for (const { buf, len } of pending) {
      let offset = 0;
      for (let tries = 0; offset < len && tries < 1000; tries++) {
        try {
          offset += writeSync(this.fd, buf, offset, len - offset);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return;
        }
      }
    }
    this.queue.length = 0;
  }
}

/** Bytes a pipe write is atomic up to (POSIX minimum 512; 4096 on Linux). */
export const PIPE_BUF = 4096;

/**
 * The audit destination of a cluster worker writing to standard output, which
 * all workers share (in a container, usually one pipe): chunks of PIPE_BUF
 * bytes, so every write holds whole lines and is atomic on the pipe; a write
 * from half of that on, flushed every second. (The single process's chunks
 * are larger, which a pipe may split between writers.)
 */
export function sharedPipeOutput(fd = 1): BatchedOutput {
  return new BatchedOutput(fd, { chunkBytes: PIPE_BUF, minWriteBytes: PIPE_BUF / 2 });
}
