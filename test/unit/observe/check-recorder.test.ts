import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  CHECK_DURATION_BUCKETS,
  createMetrics,
  type Metrics,
} from '../../../src/observe/metrics.js';
import type { Determining } from '../../../src/policy/types.js';

/** What the handler did per call before the recorder: each metric updated directly. */
function direct(
  m: Metrics,
  decision: 'allow' | 'deny',
  reason: string,
  seconds: number,
  determining: readonly Determining[],
  roles: readonly string[],
): void {
  m.checks.inc({ decision, reason });
  m.checkDuration.observe({ decision }, seconds);
  determining.forEach((d, i) => {
    if (d.policy === undefined || d.statement === undefined) return;
    m.statementMatches.inc({ role: roles[i] ?? '', policy: d.policy, statement: d.statement });
  });
}

// Shared statement objects, as a policy set hands them out, and look-alike copies.
const STATEMENTS: Determining[] = [
  Object.freeze({ layer: 'identity', effect: 'Allow', policy: 'read', statement: 'Read' }),
  Object.freeze({ layer: 'identity', effect: 'Deny', policy: 'guard', statement: '#0' }),
  Object.freeze({ layer: 'boundary', effect: 'Allow', policy: 'b', statement: 'All' }),
  { layer: 'identity', effect: 'Allow', policy: 'read', statement: 'Read' },
  { layer: 'identity', effect: 'ImplicitDeny' },
];

const call = fc.record({
  decision: fc.constantFrom('allow' as const, 'deny' as const),
  reason: fc.constantFrom('OK', 'ERR_IMPLICIT_DENY', 'ERR_NO_ROLE', 'ERR_INTERNAL'),
  seconds: fc.oneof(
    fc.constantFrom(...CHECK_DURATION_BUCKETS, 0, 6, 1e-9),
    fc.double({ min: 0, max: 10, noNaN: true }),
  ),
  determining: fc.array(fc.nat({ max: STATEMENTS.length - 1 }), { maxLength: 3 }),
  roles: fc.array(fc.constantFrom('reader', 'admin', ''), { maxLength: 3 }),
  scrape: fc.boolean(),
});

/**
 * The exposition with each histogram `_sum` value split off: sums are added
 * in another order (pending calls first, then into the series), so they may
 * differ in the last bits of a double, never more.
 */
function expectSameExposition(fast: string, slow: string): void {
  const split = (text: string) => {
    const sums: number[] = [];
    const rest = text.replace(
      /^(rolegate_check_duration_seconds_sum\{[^}]*\}) (\S+)$/gm,
      (_m, name: string, v: string) => {
        sums.push(Number(v));
        return name;
      },
    );
    return { rest, sums };
  };
  const a = split(fast);
  const b = split(slow);
  expect(a.rest).toBe(b.rest);
  expect(a.sums).toHaveLength(b.sums.length);
  a.sums.forEach((x, i) => expect(x).toBeCloseTo(b.sums[i] ?? NaN, 9));
}

describe('the check recorder', () => {
  it('exposes what per-call updates expose, scrape after scrape', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(call, { maxLength: 40 }), async (calls) => {
        const fast = createMetrics(false);
        const slow = createMetrics(false);
        for (const c of calls) {
          const determining = c.determining.map((i) => STATEMENTS[i] as Determining);
          fast.recordCheck(c.decision, c.reason, c.seconds, determining, c.roles);
          direct(slow, c.decision, c.reason, c.seconds, determining, c.roles);
          // A scrape in the middle folds what is pending; the end result must not change.
          const [a, b] = c.scrape
            ? [await fast.registry.metrics(), await slow.registry.metrics()]
            : ['', ''];
          expectSameExposition(a, b);
        }
        expectSameExposition(await fast.registry.metrics(), await slow.registry.metrics());
        // The cluster aggregation reads the JSON form: same series, same order.
        const names = (json: Awaited<ReturnType<Metrics['registry']['getMetricsAsJSON']>>) =>
          json.map((m) => [m.name, m.values.map((v) => JSON.stringify(v.labels))]);
        expect(names(await fast.registry.getMetricsAsJSON())).toEqual(
          names(await slow.registry.getMetricsAsJSON()),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('adds up with direct updates of the same metrics', async () => {
    const m = createMetrics(false);
    m.recordCheck('deny', 'ERR_INTERNAL', 0.00002, [], []);
    m.checks.inc({ decision: 'deny', reason: 'ERR_INTERNAL' });
    m.checkDuration.observe({ decision: 'deny' }, 0.00002);
    const text = await m.registry.metrics();
    expect(text).toContain('rolegate_check_total{decision="deny",reason="ERR_INTERNAL"} 2');
    expect(text).toContain(
      'rolegate_check_duration_seconds_bucket{le="0.000025",decision="deny"} 2',
    );
    expect(text).toContain('rolegate_check_duration_seconds_count{decision="deny"} 2');
  });

  it('starts with no check series, as before any call', async () => {
    const text = await createMetrics(false).registry.metrics();
    expect(text).not.toContain('rolegate_check_total{');
    expect(text).not.toContain('rolegate_check_duration_seconds_count{');
  });
});
