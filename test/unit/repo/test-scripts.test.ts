/**
 * `npm run test:unit -- PATH` (and `test:e2e`) runs only PATH. Jest's
 * `--selectProjects` takes a list and reads on until the next flag, so a
 * path right after `--selectProjects unit` became a second project name and
 * every suite ran. The scripts end the list with another flag
 * (`--config jest.config.js`); this runs them as npm does, with `--listTests`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { REPO } from '../../support/quickstart.js';

/** The test files `npm run <script> -- <args> --listTests` lists, relative to the repository root. */
function listed(script: string, args: readonly string[]): string[] {
  const result = spawnSync('npm', ['run', '--silent', script, '--', ...args, '--listTests'], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.status !== 0) {
    throw new Error(`npm run ${script} failed (${String(result.status)}): ${result.stderr}`);
  }
  return result.stdout
    .split('\n')
    .filter((line) => line.startsWith(REPO))
    .map((line) => line.slice(REPO.length).replace(/^\//, ''));
}

describe('the npm test scripts', () => {
  it.each([
    ['test:unit', 'test/unit/errors.test.ts'],
    ['test:e2e', 'test/e2e/nginx.test.ts'],
  ])(
    'npm run %s -- %s runs that one suite',
    (script, path) => {
      expect(listed(script, [path])).toEqual([path]);
    },
    60_000,
  );

  it('npm run test:unit without a path runs every suite of its project, and none of the other', () => {
    const all = listed('test:unit', []);
    expect(all.length).toBeGreaterThan(50);
    expect(all.filter((file) => file.startsWith('test/e2e/'))).toEqual([]);
    expect(all).toContain('test/unit/errors.test.ts');
  }, 60_000);

  it('npm test is lint, typecheck, test:unit, test:e2e, test:backstage', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts['test']).toBe(
      'npm run lint && npm run typecheck && npm run test:unit && npm run test:e2e && npm run test:backstage',
    );
  });
});
