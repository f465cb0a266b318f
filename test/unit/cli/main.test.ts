import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, jest } from '@jest/globals';
import { stringify } from 'yaml';
import { main } from '../../../src/cli/main.js';

function configFile(content: object | string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rolegate-cli-')), 'rolegate.yaml');
  writeFileSync(file, typeof content === 'string' ? content : stringify(content));
  return file;
}

describe('rolegate CLI', () => {
  it('refuses to serve an invalid config, exit status 1', async () => {
    const err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await main(['serve', '--config', configFile({ issuers: 'nope' })])).toBe(1);
      expect(String(err.mock.calls[0]?.[0])).toContain('$.issuers');
    } finally {
      err.mockRestore();
    }
  });

  it('serves, then drains and exits 0 on SIGTERM', async () => {
    const file = configFile({ server: { grpc: { port: 0 }, admin: { port: 0 }, drainSeconds: 1 } });
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const exit = main(['serve', '--config', file]);
      await new Promise((r) => setTimeout(r, 300));
      process.emit('SIGTERM');
      expect(await exit).toBe(0);
    } finally {
      write.mockRestore();
    }
  });

  it('prints usage with exit status 2 for an unknown command', async () => {
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['frobnicate'])).toBe(2);
    } finally {
      write.mockRestore();
    }
  });
});
