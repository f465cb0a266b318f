import { describe, expect, it } from '@jest/globals';
import { RolegateError } from '../../../../src/errors.js';
import { resolveWorkers } from '../../../../src/transport/cluster/workers.js';

const cpus = () => 6;

describe('resolveWorkers', () => {
  it('defaults to the usable CPUs, or server.workers when set', () => {
    expect(resolveWorkers(undefined, {}, cpus)).toBe(6);
    expect(resolveWorkers(1, {}, cpus)).toBe(1);
    expect(resolveWorkers(3, {}, cpus)).toBe(3);
  });
  it('lets ROLEGATE_WORKERS override the config; auto means the CPUs', () => {
    expect(resolveWorkers(1, { ROLEGATE_WORKERS: '4' }, cpus)).toBe(4);
    expect(resolveWorkers(2, { ROLEGATE_WORKERS: 'auto' }, cpus)).toBe(6);
    expect(resolveWorkers(2, { ROLEGATE_WORKERS: ' ' }, cpus)).toBe(2);
  });
  it.each(['0', '-1', '1.5', 'two', '257', '1e2'])('refuses ROLEGATE_WORKERS=%s', (value) => {
    let caught: unknown;
    try {
      resolveWorkers(undefined, { ROLEGATE_WORKERS: value }, cpus);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RolegateError);
    expect((caught as RolegateError).code).toBe('ERR_WORKERS_INVALID');
  });
  it('never starts more than 256 on a huge machine', () => {
    expect(resolveWorkers(undefined, {}, () => 1000)).toBe(256);
  });
});
