import { describe, expect, it } from '@jest/globals';
import { validateConfig } from '../../../src/config/schema.js';

const trust = { Version: '2012-10-17', Statement: [] };

describe('validateConfig', () => {
  it('fills documented defaults', () => {
    const { config } = validateConfig({});
    expect(config?.server.grpc).toEqual({ host: '127.0.0.1', port: 9001 });
    expect(config?.unmatchedRoutes).toBe('deny');
    expect(config?.headers.requestedRole).toBe('x-rolegate-role');
    expect(config?.tokens).toEqual({ maxBytes: 16384, cacheEntries: 10000 });
  });

  it('reports every problem with its JSON path', () => {
    const { problems } = validateConfig({
      serverr: {},
      issuers: [{ issuer: 'not a url', audiences: [], algorithms: ['HS256'] }],
      roles: [
        { name: 'r', trustPolicy: trust, arn: 'nope' },
        { name: 'r', trustPolicy: trust },
      ],
      routes: [{ method: 'FETCH', path: 'x', action: 'bad', resource: 'arn:x' }],
      unmatchedRoutes: 'allow',
    });
    const paths = problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '$.serverr',
        '$.issuers[0].issuer',
        '$.issuers[0].audiences',
        '$.issuers[0].algorithms[0]',
        '$.roles[0].arn',
        '$.roles[1].name',
        '$.routes[0].method',
        '$.routes[0].path',
        '$.routes[0].action',
        '$.unmatchedRoutes',
      ]),
    );
  });

  it('requires a trust policy on every role', () => {
    const { problems } = validateConfig({ roles: [{ name: 'r' }] });
    expect(problems).toContainEqual({ path: '$.roles[0].trustPolicy', message: 'is required' });
  });

  it('accepts policies inline, as a list, or as file references', () => {
    const { config, problems } = validateConfig({
      guardrails: [trust, { file: 'g.json' }],
      roles: [{ name: 'r', trustPolicy: { file: 't.yaml' }, policies: { p1: trust } }],
    });
    expect(problems).toEqual([]);
    expect(config?.guardrails.map((g) => g.name)).toEqual(['guardrail[0]', 'guardrail[1]']);
    expect(config?.roles[0]?.trustPolicy.file).toBe('t.yaml');
    expect(config?.roles[0]?.policies[0]?.path).toBe('$.roles[0].policies.p1');
  });
});
