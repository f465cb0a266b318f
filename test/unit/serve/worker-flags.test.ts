import { describe, expect, it } from '@jest/globals';
import { ROLEGATE_GC_FLAGS, workerExecArgv } from '../../../src/serve/worker-flags.js';

describe('workerExecArgv', () => {
  it('adds the GC flags after the primary flags when none is set', () => {
    expect(workerExecArgv(['--enable-source-maps'], undefined)).toEqual([
      '--enable-source-maps',
      ...ROLEGATE_GC_FLAGS,
    ]);
    expect(workerExecArgv([], '--max-old-space-size=512')).toEqual([...ROLEGATE_GC_FLAGS]);
  });

  it.each([
    [['--max-semi-space-size=8'], undefined, '--max-semi-space-size=2'],
    [['--max_semi_space_size=8'], undefined, '--max-semi-space-size=2'],
    [['--min-semi-space-size=1'], undefined, '--max-semi-space-size=2'],
    [[], '--trace-warnings --max-semi-space-size=16', '--max-semi-space-size=2'],
    [['--allocation-site-pretenuring'], undefined, '--no-allocation-site-pretenuring'],
    [['--no_allocation_site_pretenuring'], undefined, '--no-allocation-site-pretenuring'],
    [['--no-single-threaded-gc'], undefined, '--single-threaded-gc'],
  ])('keeps the user choice (%j, NODE_OPTIONS %j) instead of %s', (argv, env, left) => {
    const got = workerExecArgv(argv, env);
    expect(got.slice(0, argv.length)).toEqual(argv);
    expect(got).not.toContain(left);
    expect(got.slice(argv.length)).toEqual(ROLEGATE_GC_FLAGS.filter((f) => f !== left));
  });

  it('does not mistake another flag for one of its own', () => {
    expect(workerExecArgv(['--max-old-space-size=64'], '--semi-space-growth-factor=2')).toEqual([
      '--max-old-space-size=64',
      ...ROLEGATE_GC_FLAGS,
    ]);
  });
});
