import { describe, expect, it } from '@jest/globals';
import { metricValue } from '../../support/metrics.js';

const TEXT = [
  '# HELP rolegate_sts_calls_total STS calls.',
  '# TYPE rolegate_sts_calls_total counter',
  'rolegate_sts_calls_total{result="success",role="a"} 4',
  'rolegate_sts_calls_total{result="failure",role="a"} 2',
  'rolegate_sts_calls_total{result="failure",role="b,c"} 3',
  'rolegate_sts_calls_total_extra{result="failure"} 100',
  'rolegate_policy_statements 7',
  'rolegate_check_duration_seconds_bucket{le="0.1"} 9',
].join('\n');

describe('metricValue', () => {
  it('sums the samples of one name whose labels include all those asked for', () => {
    expect(metricValue(TEXT, 'rolegate_sts_calls_total', { result: 'failure' })).toBe(5);
    expect(metricValue(TEXT, 'rolegate_sts_calls_total', { result: 'failure', role: 'b,c' })).toBe(
      3,
    );
    expect(metricValue(TEXT, 'rolegate_sts_calls_total')).toBe(9);
  });

  it('reads a series without labels, and 0 for one that is absent or does not match', () => {
    expect(metricValue(TEXT, 'rolegate_policy_statements')).toBe(7);
    expect(metricValue(TEXT, 'rolegate_absent_total')).toBe(0);
    expect(metricValue(TEXT, 'rolegate_sts_calls_total', { result: 'fail' })).toBe(0);
    expect(metricValue(TEXT, 'rolegate_check_duration_seconds')).toBe(0);
  });
});
