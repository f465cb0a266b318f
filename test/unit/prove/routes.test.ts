/**
 * The path dimension: one canonical path per cell of route patterns and
 * resource patterns (IAM User Guide, "IAM JSON policy elements: Resource":
 * wildcards within the first five ARN segments never cross a colon; in the
 * resource part they match any run of characters).
 */
import { describe, expect, it } from '@jest/globals';
import { ProveUnknown } from '../../../src/prove/unknown.js';
import { arnMatches, pathReps, routeShape, type RouteSpec } from '../../../src/prove/routes.js';

const route = (method: string, path: string, resource: string): RouteSpec => ({
  method,
  path,
  action: 'orders:GetOrder',
  resource,
  place: { file: 'r.yaml', path: '$.routes[0]' },
});
const res = (text: string) => ({ text, place: { path: '$.Resource' } });

describe('pathReps', () => {
  it('splits a parameter by every resource pattern the route can meet', () => {
    const paths = pathReps({
      routes: [route('GET', '/orders/{id}', 'arn:rolegate:orders:::order/{id}')],
      resources: [
        res('arn:rolegate:orders:::order/1*'),
        res('arn:rolegate:orders:::order/1'),
        res('arn:rolegate:other:::order/2'),
      ],
      pathConditions: [],
    });
    const ids = paths.map((p) => p.slice('/orders/'.length));
    expect(ids).toContain('1');
    expect(ids.some((i) => i.startsWith('1') && i !== '1')).toBe(true);
    expect(ids.some((i) => !i.startsWith('1'))).toBe(true);
    // The other service's pattern never matches this route's resource: no cell of its own.
    expect(ids).toHaveLength(3);
  });

  it('keeps apart the paths an earlier route catches', () => {
    const paths = pathReps({
      routes: [
        route('GET', '/orders/{id}', 'arn:rolegate:orders:::order/*'),
        route('GET', '/orders/new', 'arn:rolegate:orders:::order/*'),
      ],
      resources: [],
      pathConditions: [],
    });
    expect(paths).toEqual(expect.arrayContaining(['/orders/new']));
    expect(paths.some((p) => p !== '/orders/new' && p.startsWith('/orders/'))).toBe(true);
  });

  it('never gives a path that is not canonical (no . or .. segment)', () => {
    const paths = pathReps({
      routes: [route('GET', '/files/{key+}', 'arn:rolegate:files:::f/{key+}')],
      resources: [res('arn:rolegate:files:::f/.*'), res('arn:rolegate:files:::f/a/*')],
      pathConditions: [],
    });
    for (const p of paths) expect(p.split('/').every((s) => s !== '.' && s !== '..')).toBe(true);
    expect(paths.some((p) => p.startsWith('/files/.'))).toBe(true);
    expect(paths.some((p) => p.startsWith('/files/a/'))).toBe(true);
  });
});

describe('routeShape', () => {
  it('is unknown for two parameters, naming the route', () => {
    const spec = route('GET', '/a/{x}/b/{y}', 'arn:rolegate:a:::x/{x}');
    let caught: unknown;
    try {
      routeShape(spec);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ProveUnknown);
    expect((caught as ProveUnknown).code).toBe('ERR_DIFF_UNKNOWN');
    expect((caught as ProveUnknown).place).toEqual({ file: 'r.yaml', path: '$.routes[0]' });
  });
});

describe('arnMatches', () => {
  it('matches segment by segment', () => {
    expect(arnMatches('arn:rolegate:orders:::order/*', 'arn:rolegate:orders:::order/7')).toBe(true);
    expect(arnMatches('arn:rolegate:*:::order/*', 'arn:rolegate:a:b:::order/7')).toBe(false);
    expect(arnMatches('*', 'anything')).toBe(true);
  });
});
