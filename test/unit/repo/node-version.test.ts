/**
 * An unsupported Node says so: bin/rolegate.js checks `process.versions.node`
 * against package.json `engines.node` before it imports dist/ (which needs
 * node:sqlite and more), and prints one line naming the Node it needs and
 * the one it found, exit status 1, no stack trace. Run with a real older
 * Node: `ROLEGATE_OLD_NODE_BIN`, else the machine's `/usr/bin/node`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { enginesNode, lowestVersion, unsupportedNode } from '../../../bin/node-check.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'bin/rolegate.js');
const ENGINES = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    engines: { node: string };
  }
).engines.node;

/** A Node older than `engines.node`, or an error that says how to provide one. */
function oldNode(): { bin: string; version: string } {
  const bin = process.env['ROLEGATE_OLD_NODE_BIN'] ?? '/usr/bin/node';
  const version = existsSync(bin)
    ? spawnSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim()
    : '';
  if (version === '' || unsupportedNode(ENGINES, version, bin) === undefined) {
    throw new Error(
      `no Node older than ${ENGINES} at ${bin} (found ${version || 'nothing'}): install one (Debian: apt-get install nodejs, Node 20) or name it with ROLEGATE_OLD_NODE_BIN`,
    );
  }
  return { bin, version };
}

describe('the Node version check', () => {
  it('reads engines.node of package.json, and points to a README section that exists', () => {
    expect(enginesNode(new URL('../../../package.json', import.meta.url))).toBe(ENGINES);
    expect(lowestVersion(ENGINES)).toEqual([22]);
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('**Supported:** Node 22');
  });

  it.each([
    [
      '20.20.2',
      '>=22',
      'rolegate needs Node >= 22; this is Node 20.20.2 (/usr/bin/node). See README "Supported".',
    ],
    [
      '21.7.3',
      '>=22',
      'rolegate needs Node >= 22; this is Node 21.7.3 (/usr/bin/node). See README "Supported".',
    ],
    [
      '22.4.0',
      '>=22.5',
      'rolegate needs Node >= 22.5; this is Node 22.4.0 (/usr/bin/node). See README "Supported".',
    ],
    ['22.0.0', '>=22', undefined],
    ['24.22.3', '>=22', undefined],
    ['100.0.0', '>=22.5.1', undefined],
    ['20.20.2', '^22 || ^24', undefined],
  ])('Node %s against %s', (version, range, line) => {
    expect(unsupportedNode(range, version, '/usr/bin/node')).toBe(line);
  });

  it('refuses with one line and status 1 on an older Node, before importing anything', () => {
    const { bin, version } = oldNode();
    for (const argv of [['--version'], ['access', 'list'], ['serve', '--config', 'x.yaml']]) {
      const run = spawnSync(bin, [BIN, ...argv], { encoding: 'utf8', timeout: 30_000 });
      expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({
        status: 1,
        stdout: '',
        stderr: `rolegate needs Node >= 22; this is Node ${version} (${bin}). See README "Supported".\n`,
      });
    }
  });

  it('runs the CLI on a supported Node', () => {
    const run = spawnSync(process.execPath, [BIN, '--version'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  });
});
