import { describe, expect, it } from '@jest/globals';
import { WORKER_SEMI_SPACE_FLAG, workerExecArgv } from '../../../src/serve/worker-flags.js';

describe('workerExecArgv', () => {
  it('adds the semi-space flag after the primary flags when none is set', () => {
    expect(workerExecArgv(['--enable-source-maps'], undefined)).toEqual([
      '--enable-source-maps',
      WORKER_SEMI_SPACE_FLAG,
    ]);
    expect(workerExecArgv([], '--max-old-space-size=512')).toEqual([WORKER_SEMI_SPACE_FLAG]);
  });

  it.each([
    [['--max-semi-space-size=8'], undefined],
    [['--max_semi_space_size=8'], undefined],
    [['--min-semi-space-size=1'], undefined],
    [[], '--trace-warnings --max-semi-space-size=16'],
  ])('keeps the user choice (%j, NODE_OPTIONS %j)', (argv, env) => {
    expect(workerExecArgv(argv, env)).toEqual(argv);
  });

  it('does not mistake another flag for a semi-space flag', () => {
    expect(workerExecArgv(['--max-old-space-size=64'], '--semi-space-growth-factor=2')).toEqual([
      '--max-old-space-size=64',
      WORKER_SEMI_SPACE_FLAG,
    ]);
  });
});
