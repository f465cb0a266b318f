import { describe, expect, it } from '@jest/globals';
import { closest, didYouMean } from '../../../src/cli/suggest.js';

describe('closest', () => {
  const commands = ['serve', 'validate', 'simulate', 'dev-token', 'version', 'help'];

  it('suggests a near command (typo or prefix) and nothing for a far one', () => {
    expect(closest('serv', commands)).toBe('serve');
    expect(closest('valdiate', commands)).toBe('validate');
    expect(closest('sim', commands)).toBe('simulate');
    expect(closest('deploy', commands)).toBeUndefined();
    expect(didYouMean('--confg', ['--config', '--help'])).toBe('; did you mean --config?');
    expect(didYouMean('--zzz', ['--config'])).toBe('');
  });
});
