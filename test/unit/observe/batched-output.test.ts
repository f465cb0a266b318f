import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { BatchedOutput, PIPE_BUF, sharedPipeOutput } from '../../../src/observe/batched-output.js';
import { ensureBuilt } from '../../support/rolegate-process.js';
import { REPO } from '../../support/quickstart.js';

const tempFile = (name: string) => join(mkdtempSync(join(tmpdir(), 'rolegate-batched-')), name);

/** Ends `out` and resolves once it has written everything and closed. */
const ended = (out: BatchedOutput) =>
  new Promise<void>((resolve) => {
    out.once('close', () => resolve());
    out.end();
  });

/** Seeded lines of 1 to `max` characters, some with 2-, 3- and 4-byte UTF-8 characters. */
function seededLines(count: number, max: number, seed = 7): string[] {
  const alphabet = ['a', 'z', '"', 'é', '€', '😀', ' ', '0'];
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    return state >>> 16;
  };
  return Array.from({ length: count }, (_, i) => {
    let body = `${i}:`;
    const len = 1 + (next() % max);
    for (let k = 0; k < len; k++) body += alphabet[next() % alphabet.length];
    return `${body}\n`;
  });
}

/** Checks that every write ended where a line ends; returns the written byte count. */
function expectWholeLines(text: string, writes: readonly number[]): number {
  const bytes = Buffer.from(text, 'utf8');
  let offset = 0;
  for (const n of writes) {
    offset += n;
    expect(bytes[offset - 1]).toBe(0x0a);
  }
  return offset;
}

describe('BatchedOutput', () => {
  it('sharedPipeOutput batches lines, but every write holds whole lines and at most PIPE_BUF bytes', async () => {
    const file = tempFile('out.log');
    const out = sharedPipeOutput(openSync(file, 'w'));
    const writes: number[] = [];
    out.on('write', (n: number) => writes.push(n));
    const lines: string[] = [];
    for (let i = 0; i < 600; i++) {
      // 200 to 1400 bytes, like audit records with a few claims and statements.
      const line = `${JSON.stringify({ i, pad: 'x'.repeat(200 + ((i * 53) % 1200)) })}\n`;
      lines.push(line);
      out.write(line);
    }
    await out.flushed();
    const text = readFileSync(file, 'utf8');
    expect(text).toBe(lines.join(''));
    // Batched: far fewer writes than lines, each at most PIPE_BUF bytes and ending a line.
    expect(writes.length).toBeLessThan(lines.length / 2);
    expect(Math.max(...writes)).toBeLessThanOrEqual(PIPE_BUF);
    expect(expectWholeLines(text, writes)).toBe(Buffer.byteLength(text));
    await ended(out);
  });

  it('keeps order and bytes for multi-byte text across chunk edges; a line longer than a chunk goes alone', async () => {
    const file = tempFile('utf8.log');
    const fd = openSync(file, 'w');
    const out = new BatchedOutput(fd, { chunkBytes: 128, minWriteBytes: 64, closeFd: true });
    const writes: number[] = [];
    out.on('write', (n: number) => writes.push(n));
    // Up to 120 characters of up to 4 bytes: many lines exceed the 128-byte chunk.
    const lines = seededLines(3000, 120);
    for (const [i, line] of lines.entries()) {
      // Some as bytes, the way a caller holding an encoded line would write it.
      out.write(i % 5 === 0 ? Buffer.from(line, 'utf8') : line);
    }
    await ended(out);
    const text = readFileSync(file, 'utf8');
    expect(text).toBe(lines.join(''));
    expect(expectWholeLines(text, writes)).toBe(Buffer.byteLength(text));
    const longest = Math.max(...lines.map((l) => Buffer.byteLength(l)));
    expect(longest).toBeGreaterThan(128);
    // A write longer than a chunk is one oversized line, alone.
    const bytes = Buffer.from(text, 'utf8');
    let offset = 0;
    const oversized: number[] = [];
    for (const n of writes) {
      if (n > 128)
        oversized.push(bytes.subarray(offset, offset + n).filter((b) => b === 0x0a).length);
      offset += n;
    }
    expect(oversized.length).toBeGreaterThan(0);
    expect(oversized.every((newlines) => newlines === 1)).toBe(true);
  });

  it('writes a chunk sealed by a line that did not fit at once, not at the next flush', async () => {
    const file = tempFile('sealed.log');
    const out = new BatchedOutput(openSync(file, 'w'), {
      chunkBytes: 128,
      minWriteBytes: 128,
      flushMs: 60_000,
      closeFd: true,
    });
    const line = `${'x'.repeat(99)}\n`;
    out.write(line);
    out.write(line);
    const started = Date.now();
    while (readFileSync(file, 'utf8') === '' && Date.now() - started < 2000) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(readFileSync(file, 'utf8')).toBe(line);
    await ended(out);
    expect(readFileSync(file, 'utf8')).toBe(line + line);
  });

  it('writes a short line within the flush interval without being asked', async () => {
    const file = tempFile('quiet.log');
    const out = new BatchedOutput(openSync(file, 'w'), { flushMs: 100, closeFd: true });
    out.write('quiet\n');
    expect(readFileSync(file, 'utf8')).toBe('');
    const started = Date.now();
    while (readFileSync(file, 'utf8') === '' && Date.now() - started < 3000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(readFileSync(file, 'utf8')).toBe('quiet\n');
    await ended(out);
  });

  it('waits out a full non-blocking pipe (EAGAIN) and delivers every line, in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rolegate-fifo-'));
    const fifo = join(dir, 'audit.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    const out = sharedPipeOutput(writer);
    const lines = seededLines(8000, 200, 11);
    for (const line of lines) out.write(line);
    out.flush();
    // Nobody reads for a while: the pipe (64 KiB) fills and writes are refused.
    await new Promise((r) => setTimeout(r, 200));
    const total = Buffer.byteLength(lines.join(''));
    expect(total).toBeGreaterThan(4 * 65_536);
    expect(out.queuedBytes).toBeGreaterThan(total / 2);

    const received: Buffer[] = [];
    const chunk = Buffer.alloc(65_536);
    const drained = out.flushed();
    let done = false;
    void drained.then(() => (done = true));
    let got = 0;
    while (got < total) {
      try {
        const n = readSync(reader, chunk, 0, chunk.length, null);
        received.push(Buffer.from(chunk.subarray(0, n)));
        got += n;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    await drained;
    expect(done).toBe(true);
    expect(Buffer.concat(received).toString('utf8')).toBe(lines.join(''));
    await ended(out);
    closeSync(writer);
    closeSync(reader);
  }, 30_000);

  it('reports a failed write as an error event; flushed() still resolves and later lines are refused', async () => {
    const file = tempFile('ro.log');
    closeSync(openSync(file, 'w'));
    const out = new BatchedOutput(openSync(file, 'r'), { closeFd: true });
    const errors: string[] = [];
    out.on('error', (err: NodeJS.ErrnoException) => errors.push(err.code ?? 'none'));
    out.write('never\n');
    await out.flushed();
    expect(errors).toEqual(['EBADF']);
    // Nothing more is taken once a write failed: memory does not grow behind a dead output.
    const queued = out.queuedBytes;
    expect(out.write('more\n')).toBe(false);
    expect(out.queuedBytes).toBe(queued);
    await ended(out);
  });

  it('writes what is still queued when the process exits', () => {
    ensureBuilt();
    const file = tempFile('exit.log');
    const script = `
      import { openSync } from 'node:fs';
      import { BatchedOutput } from ${JSON.stringify(join(REPO, 'dist', 'src', 'observe', 'batched-output.js'))};
      const out = new BatchedOutput(openSync(process.argv[1], 'w'), { minWriteBytes: 1 << 20, chunkBytes: 1 << 21 });
      for (let i = 0; i < 5000; i++) out.write('line ' + i + '\\n');
      process.exit(0);
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script, file], {
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines).toHaveLength(5001);
    expect(lines[4999]).toBe('line 4999');
  });
});
