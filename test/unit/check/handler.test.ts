import { describe, expect, it } from '@jest/globals';
import {
  createCheckHandler,
  createCheckPipeline,
  type CheckHandlerDeps,
} from '../../../src/check/handler.js';
import { createHttpCheckHandler } from '../../../src/check/http-handler.js';
import { httpCheckSchema } from '../../../src/transport/options.js';
import type { Generation } from '../../../src/check/check.js';
import type { CheckOutcome } from '../../../src/decision/outcome.js';
import { compileConfig } from '../../../src/config/compile.js';
import { validateConfig } from '../../../src/config/schema.js';
import { ExpiringLru } from '../../../src/cache/expiring-lru.js';
import { TRACING_OFF } from '../../../src/observe/tracing.js';
import { createAuditor } from '../../../src/observe/audit.js';
import { createMetrics } from '../../../src/observe/metrics.js';
import { DENY_BODY } from '../../../src/response/check-response.js';
import { captureLogger } from '../../support/log-capture.js';
import type { CheckRequest } from '../../../src/wire/ext-authz.js';

const ISSUER = 'https://idp.example.com';

function runtime(): Generation {
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
    compiled: compileConfig(config, (ref) => ({
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
    generation: () => rt,
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

  it('an STS failure is a deny of the decision itself: outcome, audit record and response agree', async () => {
    const d = deps([]);
    const audit = captureLogger();
    const stsDown: CheckHandlerDeps = {
      ...d,
      observe: { metrics: createMetrics(false), auditor: createAuditor(audit.logger, () => 1) },
      aws: {
        ...d.aws,
        upstreamCredentials: async (outcome: CheckOutcome) => ({
          outcome: { ...outcome, allowed: false, status: 403, reason: 'ERR_STS_FAILED' },
          headers: {},
        }),
      },
    };
    const response = await createCheckHandler(stsDown)(message('/files/1'));
    if (!('denied_response' in response)) throw new Error('expected a deny');
    expect(response.denied_response.status.code).toBe('Forbidden');
    expect(response.denied_response.body).toBe(DENY_BODY[403]);
    const record = audit.records()[0]?.['audit'] as Record<string, unknown>;
    expect(record).toMatchObject({ decision: 'deny', reason: 'ERR_STS_FAILED' });
    // No role allowed the request as answered: the record names none.
    expect(record).not.toHaveProperty('role');
    expect(record['roles_considered']).toEqual(['r']);
    expect(d.decisions).toEqual({ allow: 0, deny: 1 });
  });

  it('a credentials phase that throws is an ERR_INTERNAL deny, not an escape', async () => {
    const d = deps([]);
    const audit = captureLogger();
    const failing: CheckHandlerDeps = {
      ...d,
      observe: { metrics: createMetrics(false), auditor: createAuditor(audit.logger, () => 1) },
      aws: { ...d.aws, upstreamCredentials: async () => Promise.reject(new Error('sts down')) },
    };
    const response = await createCheckHandler(failing)(message('/files/1'));
    expect('denied_response' in response).toBe(true);
    expect(audit.records()[0]?.['audit']).toMatchObject({
      decision: 'deny',
      reason: 'ERR_INTERNAL',
    });
    expect(audit.lines.join('\n')).not.toContain('a.b.c');
  });

  it('the audit record names the generation that decided, even when a reload lands meanwhile', async () => {
    const d = deps([]);
    const audit = captureLogger();
    const sources = (hash: string) => ({ files: [], hash });
    const a = runtime();
    const genA = { ...a, compiled: { ...a.compiled, sources: sources('aaaa') } };
    const genB = { ...genA, compiled: { ...genA.compiled, sources: sources('bbbb') } };
    let active: Generation = genA;
    const reloading: CheckHandlerDeps = {
      ...d,
      generation: () => active,
      observe: {
        metrics: createMetrics(false),
        // The auditor's own reading is the active generation's, as in main.ts.
        auditor: createAuditor(
          audit.logger,
          () => 1,
          Math.random,
          () => active.compiled.sources?.hash,
        ),
      },
      aws: {
        ...d.aws,
        upstreamCredentials: async (outcome: CheckOutcome) => {
          active = genB; // the reload lands while STS is asked
          return { outcome, headers: {} };
        },
      },
    };
    const response = await createCheckHandler(reloading)(message('/files/1'));
    expect('ok_response' in response).toBe(true);
    expect(audit.records()[0]?.['audit']).toMatchObject({ decision: 'allow', config_hash: 'aaaa' });
  });

  it('a check the caller abandoned is counted and audited as the deny the proxy gave, not the late allow', async () => {
    const d = deps([]);
    const audit = captureLogger();
    const metrics = createMetrics(false);
    const observed: CheckHandlerDeps = {
      ...d,
      observe: { metrics, auditor: createAuditor(audit.logger, () => 1) },
    };
    const handle = createCheckHandler(observed);
    await handle(message('/plain'), () => true);
    await handle(message('/plain'), () => false);
    await handle(message('/plain'));
    const records = audit.records().map((r) => r['audit'] as Record<string, unknown>);
    expect(records.map((r) => [r['decision'], r['reason']])).toEqual([
      ['deny', 'ERR_CHECK_ABANDONED'],
      ['allow', 'OK'],
      ['allow', 'OK'],
    ]);
    // The abandoned record keeps the caller but names no allowing role.
    expect(records[0]).not.toHaveProperty('role');
    expect(records[0]?.['determining']).toEqual([]);
    expect(records[1]?.['determining']).not.toEqual([]);
    expect(records[0]).toMatchObject({ subject: 'alice', action: 'files:List' });
    expect(d.decisions).toEqual({ allow: 2, deny: 1 });
    const counted = await metrics.registry.getSingleMetricAsString('rolegate_check_total');
    expect(counted).toContain('decision="deny",reason="ERR_CHECK_ABANDONED"} 1');
  });

  it('the HTTP door audits an abandoned check the same way (its caller hung up)', async () => {
    const d = deps([]);
    const audit = captureLogger();
    const observed: CheckHandlerDeps = {
      ...d,
      observe: { metrics: createMetrics(false), auditor: createAuditor(audit.logger, () => 1) },
    };
    const handle = createHttpCheckHandler(createCheckPipeline(observed));
    const options = httpCheckSchema.parse({ enabled: true });
    const call = {
      method: 'GET',
      target: '/envoy/plain',
      headers: { host: ['h'], authorization: ['Bearer a.b.c'] },
    };
    // The answer to a caller that hung up reaches no one; the record says what it got.
    await handle('envoy', call, options, () => true);
    expect((await handle('envoy', call, options, () => false)).status).toBe(200);
    const records = audit.records().map((r) => r['audit'] as Record<string, unknown>);
    expect(records.map((r) => [r['decision'], r['reason']])).toEqual([
      ['deny', 'ERR_CHECK_ABANDONED'],
      ['allow', 'OK'],
    ]);
  });
});
