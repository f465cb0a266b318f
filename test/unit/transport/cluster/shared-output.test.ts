import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { PIPE_BUF, sharedOutput } from '../../../../src/transport/cluster/shared-output.js';

describe('sharedOutput', () => {
  it('batches lines, but every write holds whole lines and at most PIPE_BUF bytes', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rolegate-shared-')), 'out.log');
    const fd = openSync(file, 'w');
    const stream = sharedOutput(fd);
    const writes: number[] = [];
    stream.on('write', (n) => writes.push(n));
    const lines: string[] = [];
    for (let i = 0; i < 600; i++) {
      // 200 to 1400 bytes, like audit records with a few claims and statements.
      const line = `${JSON.stringify({ i, pad: 'x'.repeat(200 + ((i * 53) % 1200)) })}\n`;
      lines.push(line);
      stream.write(line);
    }
    // Flush until every byte is written (each flush sends at most one batch).
    const total = Buffer.byteLength(lines.join(''));
    const written = () => writes.reduce((a, b) => a + b, 0);
    for (let tries = 0; written() < total && tries < 500; tries++) {
      try {
        stream.flush();
      } catch {
        // A write in flight; try again shortly.
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    // End the stream (it closes the descriptor and stops its flush timer): a bare
    // close would leave the timer writing to a closed descriptor (EBADF) a second later.
    await new Promise((resolve) => {
      stream.once('close', resolve);
      stream.end();
    });
    const text = readFileSync(file, 'utf8');
    expect(text).toBe(lines.join(''));
    // Batched: far fewer writes than lines...
    expect(writes.length).toBeLessThan(lines.length / 2);
    // ...each at most PIPE_BUF bytes and ending where a line ends.
    let offset = 0;
    for (const n of writes) {
      expect(n).toBeLessThanOrEqual(PIPE_BUF);
      offset += n;
      expect(text[offset - 1]).toBe('\n');
    }
    expect(offset).toBe(Buffer.byteLength(text));
  });
});
