import { describe, expect, it } from '@jest/globals';
import { validateConfig } from '../../../src/config/schema.js';

const trust = { Version: '2012-10-17', Statement: [] };

describe('validateConfig', () => {
  it('fills documented defaults', () => {
    const { config } = validateConfig({});
    expect(config?.server.grpc).toEqual({ host: '127.0.0.1', port: 9001 });
    expect(config?.unmatchedRoutes).toBe('deny');
    expect(config?.headers.requestedRole).toBe('x-rolegate-role');
    expect(config?.tokens).toEqual({
      maxBytes: 16384,
      cacheEntries: 10000,
      cacheMaxBytes: 64 * 1024 * 1024,
    });
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

  it('fills the issuer time, key and cache bound defaults', () => {
    const { config, problems } = validateConfig({
      issuers: [{ issuer: 'https://idp.example', audiences: ['api'] }],
    });
    expect(problems).toEqual([]);
    expect(config?.issuers[0]?.maxTokenLifetimeSeconds).toBe(86_400);
    expect(config?.issuers[0]?.keys).toEqual({
      maxAgeSeconds: 600,
      cooldownSeconds: 30,
      staleSeconds: 3600,
      maxWaitMs: 250,
      maxDocumentBytes: 256 * 1024,
      maxKeys: 100,
    });
  });

  it('reads the issuer bounds and refuses out-of-range values with their paths', () => {
    const issuer = { issuer: 'https://idp.example', audiences: ['api'] };
    const ok = validateConfig({
      issuers: [
        {
          ...issuer,
          maxTokenLifetimeSeconds: 3600,
          keys: { maxWaitMs: 100, maxDocumentBytes: 65536, maxKeys: 10 },
        },
      ],
      tokens: { cacheMaxBytes: 1048576 },
    });
    expect(ok.problems).toEqual([]);
    expect(ok.config?.issuers[0]?.maxTokenLifetimeSeconds).toBe(3600);
    expect(ok.config?.issuers[0]?.keys).toMatchObject({
      maxWaitMs: 100,
      maxDocumentBytes: 65536,
      maxKeys: 10,
    });
    expect(ok.config?.tokens.cacheMaxBytes).toBe(1048576);

    const { problems } = validateConfig({
      issuers: [
        {
          ...issuer,
          maxTokenLifetimeSeconds: 0,
          keys: { maxWaitMs: 60_000, maxDocumentBytes: 10, maxKeys: 0, maxWait: 1 },
        },
        { ...issuer, issuer: 'https://other.example', maxTokenLifetimeSeconds: '1h' },
      ],
      tokens: { cacheMaxBytes: -1 },
    });
    expect(problems.map((p) => p.path).sort()).toEqual(
      [
        '$.issuers[0].maxTokenLifetimeSeconds',
        '$.issuers[0].keys.maxWaitMs',
        '$.issuers[0].keys.maxDocumentBytes',
        '$.issuers[0].keys.maxKeys',
        '$.issuers[0].keys.maxWait',
        '$.issuers[1].maxTokenLifetimeSeconds',
        '$.tokens.cacheMaxBytes',
      ].sort(),
    );
    expect(problems).toContainEqual({
      path: '$.issuers[0].maxTokenLifetimeSeconds',
      message: 'must be an integer from 60 to 31536000',
    });
  });
});
