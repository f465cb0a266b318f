import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import type { Generation } from '../../../src/check/check.js';
import { createCheckHandler, type CheckHandlerDeps } from '../../../src/check/handler.js';
import { disagrees, shadowDecide, shadowLabel } from '../../../src/check/shadow.js';
import { loadConfig } from '../../../src/config/load.js';
import type { LoadedConfig } from '../../../src/config/compile.js';
import { ExpiringLru } from '../../../src/cache/expiring-lru.js';
import { createAuditor } from '../../../src/observe/audit.js';
import { createMetrics } from '../../../src/observe/metrics.js';
import { TRACING_OFF } from '../../../src/observe/tracing.js';
import { canonicalRequest } from '../../../src/request/normalize.js';
import type { CheckRequest } from '../../../src/wire/ext-authz.js';
import { captureLogger } from '../../support/log-capture.js';
import type { CatalogLookup, TagsAnswer } from '../../../src/catalog/snapshot.js';

const LIVE = fileURLToPath(new URL('../../../examples/rolegate.yaml', import.meta.url));
const CANDIDATE = fileURLToPath(new URL('../../fixtures/safety/candidate.yaml', import.meta.url));
const ISSUER = 'http://127.0.0.1:9100';
const NOW = Date.parse('2026-06-01T00:00:00Z');

/** `GET /orders/42`, canonical. */
const ordersRequest = () =>
  canonicalRequest({
    method: 'GET',
    target: '/orders/42',
    host: 'h',
    headers: {},
    secure: false,
    contextExtensions: {},
  });

/** The live outcome's principal: alice, a reader. */
const alice = () => ({
  kind: 'jwt' as const,
  issuer: ISSUER,
  subject: 'alice',
  claims: { iss: ISSUER, sub: 'alice', aud: 'rolegate-dev', groups: ['readers'] },
  federated: [ISSUER],
});

/** What live answered alice: allowed as orders-reader. */
const aliceAllowed = (decisionId: string) => ({
  decisionId,
  allowed: true,
  status: 200 as const,
  reason: 'OK' as const,
  principal: alice(),
  rolesConsidered: ['orders-reader'],
  determining: [],
});

function runtime(config: LoadedConfig): Generation {
  return {
    compiled: config,
    verifier: {
      locations: [{ kind: 'bearer' }],
      cache: new ExpiringLru({ maxEntries: 0, maxBytes: 0 }),
      verify: async () => ({
        kind: 'jwt',
        issuer: ISSUER,
        subject: 'alice',
        claims: { iss: ISSUER, sub: 'alice', aud: 'rolegate-dev', groups: ['readers'] },
        federated: [ISSUER],
      }),
    },
  };
}

const message = (method: string, path: string, token = true): CheckRequest =>
  ({
    attributes: {
      request: {
        http: {
          method,
          path,
          host: 'h',
          headers: token ? { authorization: 'Bearer a.b.c' } : {},
          header_map: null,
        },
      },
      context_extensions: {},
      source: null,
      tls_session: null,
    },
  }) as unknown as CheckRequest;

function handler(candidate: () => LoadedConfig) {
  const live = runtime(loadConfig(LIVE));
  const audit = captureLogger();
  const metrics = createMetrics(false);
  let ids = 0;
  const deps: CheckHandlerDeps = {
    generation: () => live,
    now: () => NOW,
    newId: () => `id-${++ids}`,
    tracing: TRACING_OFF,
    decisions: { allow: 0, deny: 0 },
    aws: {
      ownedHeaders: () => [],
      upstreamCredentials: async (outcome) => ({ outcome, headers: {} }),
    },
    observe: {
      metrics,
      auditor: createAuditor(
        audit.logger,
        () => 1,
        Math.random,
        () => 'livehash',
      ),
    },
    shadow: () => ({ compiled: candidate(), hash: 'candhash' }),
  };
  return { handle: createCheckHandler(deps), audit, metrics };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function shadowSeries(metrics: ReturnType<typeof createMetrics>): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return (text.match(/^rolegate_shadow_decisions_total\{.*\} [1-9]\d*$/gm) ?? []).sort();
}

describe('shadow mode', () => {
  it('shadowDecide: the candidate denies what live allows, with its own determining statements', () => {
    const live = loadConfig(LIVE);
    const candidate = loadConfig(CANDIDATE);
    const request = ordersRequest();
    const liveOutcome = aliceAllowed('d1');
    const result = shadowDecide(request, liveOutcome, candidate, NOW);
    expect(shadowLabel(result)).toBe('deny');
    expect(disagrees(liveOutcome, result)).toBe(true);
    if (result.kind !== 'decided') throw new Error('expected a decision');
    expect(result.outcome.reason).toBe('ERR_IMPLICIT_DENY');
    expect(result.outcome.decisionId).toBe('d1');
    // Same candidate as live: agreement.
    const same = shadowDecide(request, liveOutcome, live, NOW);
    expect(disagrees(liveOutcome, same)).toBe(false);
  });

  it('shadowDecide: a candidate route with an entity reads the live catalog, and denies without one', () => {
    const live = loadConfig(LIVE);
    // The candidate ties every route to a catalog entity; its policies do not read the tags.
    const candidate = {
      ...live,
      routes: live.routes.map((r) => ({ ...r, entity: 'component:default/orders' })),
    };
    const request = ordersRequest();
    const liveOutcome = aliceAllowed('d2');
    const asked: [string, number][] = [];
    const catalog = (answer: TagsAnswer): CatalogLookup => ({
      tagsFor: (entity, nowMs) => {
        asked.push([entity, nowMs]);
        return answer;
      },
    });
    const fresh = shadowDecide(
      request,
      liveOutcome,
      candidate,
      NOW,
      catalog({ ok: true, tags: { owner: 'group:default/orders' } }),
    );
    expect(disagrees(liveOutcome, fresh)).toBe(false);
    expect(asked).toEqual([['component:default/orders', NOW]]);
    const stale = shadowDecide(
      request,
      liveOutcome,
      candidate,
      NOW,
      catalog({ ok: false, code: 'ERR_CATALOG_STALE', detail: 'last read 700 s ago' }),
    );
    if (stale.kind !== 'decided') throw new Error('expected a decision');
    expect(stale.outcome.reason).toBe('ERR_CATALOG_STALE');
    const none = shadowDecide(request, liveOutcome, candidate, NOW);
    if (none.kind !== 'decided') throw new Error('expected a decision');
    expect(none.outcome.reason).toBe('ERR_CATALOG_UNAVAILABLE');
  });

  it('answers with the live decision first, then counts and records the disagreement', async () => {
    const { handle, audit, metrics } = handler(() => loadConfig(CANDIDATE));
    const response = await handle(message('GET', '/orders/42'));
    // The live answer: allowed, and nothing of the candidate has run yet.
    expect('ok_response' in response).toBe(true);
    expect(await shadowSeries(metrics)).toEqual([]);
    await tick();
    expect(await shadowSeries(metrics)).toEqual([
      'rolegate_shadow_decisions_total{live="allow",candidate="deny"} 1',
    ]);
    const records = audit.records().filter((r) => r['msg'] === 'shadow disagreement');
    expect(records).toHaveLength(1);
    expect(records[0]?.['shadow']).toEqual({
      decision_id: 'id-1',
      request_id: '',
      config_hash: 'livehash',
      candidate_config_hash: 'candhash',
      method: 'GET',
      path: '/orders/42',
      issuer: ISSUER,
      subject: 'alice',
      live: {
        decision: 'allow',
        reason: 'OK',
        role: 'orders-reader',
        action: 'orders:GetOrder',
        resource: 'arn:rolegate:orders:::order/42',
        route: 'route[1]',
        determining: [
          'guardrail:orders-only/AllowOrders:Allow',
          'identity:read-orders/ReadOrders:Allow',
        ],
        determining_roles: ['orders-reader', 'orders-reader'],
      },
      candidate: {
        decision: 'deny',
        reason: 'ERR_IMPLICIT_DENY',
        action: 'orders:GetOrder',
        resource: 'arn:rolegate:orders:::order/42',
        route: 'route[1]',
        determining: ['identity:ImplicitDeny'],
        determining_roles: ['orders-reader'],
      },
    });
  });

  it('an agreement is counted but not recorded; a request without a token is the same for both', async () => {
    const { handle, audit, metrics } = handler(() => loadConfig(CANDIDATE));
    await handle(message('GET', '/orders'));
    await handle(message('GET', '/orders', false));
    await tick();
    expect(await shadowSeries(metrics)).toEqual([
      'rolegate_shadow_decisions_total{live="allow",candidate="allow"} 1',
      'rolegate_shadow_decisions_total{live="deny",candidate="deny"} 1',
    ]);
    expect(audit.records().filter((r) => r['msg'] === 'shadow disagreement')).toEqual([]);
  });

  it('a candidate that throws never changes the live answer: it is counted as an error', async () => {
    const broken = loadConfig(CANDIDATE);
    const throwing = {
      ...broken,
      get roles(): never {
        throw new Error('candidate exploded');
      },
    } as LoadedConfig;
    const { handle, metrics, audit } = handler(() => throwing);
    const response = await handle(message('GET', '/orders/42'));
    expect('ok_response' in response).toBe(true);
    await tick();
    expect(await shadowSeries(metrics)).toEqual([
      'rolegate_shadow_decisions_total{live="allow",candidate="error"} 1',
    ]);
    const record = audit.records().find((r) => r['msg'] === 'shadow disagreement');
    expect(record?.['shadow']).toMatchObject({
      live: { decision: 'allow' },
      candidate: { decision: 'error', reason: 'ERR_INTERNAL' },
    });
  });

  it('counts the determining statements per role, policy and statement', async () => {
    const { handle, metrics } = handler(() => loadConfig(LIVE));
    await handle(message('GET', '/orders/42'));
    await handle(message('GET', '/orders/7'));
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'rolegate_statement_matches_total{role="orders-reader",policy="read-orders",statement="ReadOrders"} 2',
    );
    expect(text).toContain(
      'rolegate_statement_matches_total{role="orders-reader",policy="orders-only",statement="AllowOrders"} 2',
    );
  });
});
