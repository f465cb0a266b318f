import { describe, expect, it } from '@jest/globals';
import { createCheckHandler, type CheckHandlerDeps } from '../../../src/check/handler.js';
import type { CheckRuntime } from '../../../src/check/check.js';
import type { CheckOutcome } from '../../../src/decision/outcome.js';
import { compileConfig } from '../../../src/config/compile.js';
import { validateConfig } from '../../../src/config/schema.js';
import { ExpiringLru } from '../../../src/cache/expiring-lru.js';
import { TRACING_OFF } from '../../../src/observe/tracing.js';
import type { CheckRequest } from '../../../src/transport/grpc/messages.js';

const ISSUER = 'https://idp.example.com';

function runtime(): CheckRuntime {
  const { config } = validateConfig({
    issuers: [{ issuer: ISSUER, audiences: ['api'] }],
    roles: [
      {
        name: 'r',
        trustPolicy: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Federated: ISSUER },
              Action: 'sts:AssumeRoleWithWebIdentity',
            },
          ],
        },
        policies: {
          p: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'files:*', Resource: '*' }],
          },
        },
      },
    ],
    routes: [
      {
        method: 'GET',
        path: '/files/{id}',
        action: 'files:Get',
        resource: '*',
        credentials: 'required',
      },
      { method: 'GET', path: '/plain', action: 'files:List', resource: '*' },
    ],
  });
  if (!config) throw new Error('invalid test config');
  return {
    config: compileConfig(config, (ref) => ({
      ref,
      document: ref.document,
      file: 't.yaml',
      basePath: ref.path,
    })),
    verifier: {
      locations: [{ kind: 'bearer' }],
      cache: new ExpiringLru({ maxEntries: 0, maxBytes: 0 }),
      verify: async () => ({
        kind: 'jwt',
        issuer: ISSUER,
        subject: 'alice',
        claims: { sub: 'alice' },
        federated: [ISSUER],
      }),
    },
  };
}

const message = (path: string): CheckRequest =>
  ({
    attributes: {
      request: {
        http: {
          method: 'GET',
          path,
          host: 'h',
          headers: { authorization: 'Bearer a.b.c' },
          header_map: null,
        },
      },
      context_extensions: {},
      source: null,
      tls_session: null,
    },
  }) as unknown as CheckRequest;

function deps(tokens: (string | undefined)[]): CheckHandlerDeps {
  const rt = runtime();
  return {
    runtime: () => rt,
    now: () => Date.parse('2026-06-01T00:00:00Z'),
    newId: () => 'id',
    tracing: TRACING_OFF,
    decisions: { allow: 0, deny: 0 },
    aws: {
      ownedHeaders: () => ['x-rolegate-aws-session-token'],
      upstreamCredentials: async (outcome: CheckOutcome, _config, token) => {
        tokens.push(token);
        return { outcome, headers: { 'x-rolegate-aws-session-token': 'minted' } };
      },
    },
  };
}

describe('createCheckHandler', () => {
  it('asks for upstream credentials only on routes that want them, with the caller token', async () => {
    const tokens: (string | undefined)[] = [];
    const d = deps(tokens);
    const handle = createCheckHandler(d);
    const withCreds = await handle(message('/files/1'));
    const plain = await handle(message('/plain'));
    expect(tokens).toEqual(['a.b.c']);
    const headerKeys = (r: typeof withCreds) =>
      'ok_response' in r ? (r.ok_response.headers ?? []).map((h) => h.header.key) : [];
    expect(headerKeys(withCreds)).toContain('x-rolegate-aws-session-token');
    expect(headerKeys(plain)).not.toContain('x-rolegate-aws-session-token');
    expect(d.decisions).toEqual({ allow: 2, deny: 0 });
  });

  it('lets a credentials failure escape so the server answers its fail-closed deny', async () => {
    const d = deps([]);
    const failing: CheckHandlerDeps = {
      ...d,
      aws: { ...d.aws, upstreamCredentials: async () => Promise.reject(new Error('sts down')) },
    };
    await expect(createCheckHandler(failing)(message('/files/1'))).rejects.toThrow('sts down');
  });
});
