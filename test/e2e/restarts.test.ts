/**
 * Restarts under load (issue 16): two rolegate processes behind one Envoy
 * ext_authz cluster (active gRPC health checks, retries on the ext_authz
 * call), a continuous stream of allowed and denied requests through Envoy,
 * and then (1) a SIGTERM rolling restart of both replicas with zero failed
 * requests, (2) a kill -9 of one replica whose cost is bounded by the calls
 * it had in flight and that never turns a deny into an allow.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { DENY_BODY } from '../../src/response/check-response.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { cluster, extAuthzFilter, type JsonObject } from '../harness/envoy-config.js';
import { assertEnvoyImage, EnvoyPeer } from '../harness/envoy.js';
import { JwksIssuer } from '../harness/jwks.js';
import { allowPolicy, ORDER_ROUTES, webIdentityTrust } from '../support/fixtures.js';
import { LoadStream, type StreamRecord } from '../support/load-stream.js';
import { ensureBuilt, RolegateProcess } from '../support/rolegate-process.js';

const CONCURRENCY = 8;
const idp = new JwksIssuer({ audience: 'orders-api' });
const upstream = new EchoUpstream();
let envoy: EnvoyPeer;
let replicas: RolegateProcess[] = [];
let token = '';

function rolegateConfig(): Record<string, unknown> {
  const prefix = idp.issuer.replace('http://', '');
  return {
    // Short but real: NOT_SERVING for 1 s (several of Envoy's 0.2 s health
    // checks), then up to 5 s to finish what is in flight.
    server: { shutdownDelaySeconds: 1, drainSeconds: 5 },
    issuers: [{ issuer: idp.issuer, audiences: ['orders-api'] }],
    roles: [
      {
        name: 'orders-reader',
        trustPolicy: webIdentityTrust(idp.issuer, {
          StringEquals: { [`${prefix}:aud`]: 'orders-api' },
          'ForAnyValue:StringEquals': { 'jwt:groups': ['readers'] },
        }),
        policies: { read: allowPolicy(['orders:Get*'], 'arn:rolegate:orders:::order/*', 'Read') },
      },
    ],
    routes: ORDER_ROUTES,
  };
}

/**
 * The template's `rolegate` cluster (health checks, retry budget) and
 * ext_authz call (retry on another host) as shipped, with both replicas as
 * its endpoints.
 */
function twoReplicas(config: JsonObject): void {
  const c = cluster(config, 'rolegate');
  c['load_assignment'] = {
    cluster_name: 'rolegate',
    endpoints: [
      {
        lb_endpoints: replicas.map((r) => ({
          endpoint: {
            address: { socket_address: { address: '127.0.0.1', port_value: r.grpcPort } },
          },
        })),
      },
    ],
  };
}

/** Health flag of one replica as Envoy's admin reports it. */
async function hostHealthy(replica: RolegateProcess): Promise<boolean> {
  const hosts = await envoy.clusterHosts('rolegate');
  return hosts.some((h) => h.address === `127.0.0.1:${replica.grpcPort}` && h.healthy);
}

async function waitHost(replica: RolegateProcess, healthy: boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await hostHealthy(replica)) === healthy) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `${replica.name} not ${healthy ? 'healthy' : 'unhealthy'} in Envoy after ${timeoutMs} ms: ${JSON.stringify(await envoy.clusterHosts('rolegate'))}`,
  );
}

/** Per-host successful ext_authz calls from admin `/clusters`. */
async function successesByHost(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await envoy.admin('/clusters')).split('\n')) {
    const m = /^rolegate::([^:]+:\d+)::rq_success::(\d+)$/.exec(line);
    if (m?.[1] !== undefined) out.set(m[1], Number(m[2]));
  }
  return out;
}

/** Envoy's count of ext_authz calls that failed (no decision from rolegate). */
async function extAuthzErrors(): Promise<number> {
  return (await envoy.stats('ext_authz')).get('http.ingress_http.ext_authz.error') ?? 0;
}

/** Every 4th request must be denied (DELETE is not granted), the rest allowed. */
function stream(): LoadStream {
  return new LoadStream({
    concurrency: CONCURRENCY,
    next: (seq) =>
      seq % 4 === 3
        ? {
            label: 'deny',
            method: 'DELETE',
            url: envoy.url(`/orders/${seq}`),
            headers: { authorization: `Bearer ${token}` },
          }
        : {
            label: 'allow',
            url: envoy.url(`/orders/${seq}`),
            headers: { authorization: `Bearer ${token}` },
          },
  });
}

/** Whether a record is exactly the decision its label asks for. */
function correct(r: StreamRecord): boolean {
  if (r.label === 'allow') return r.status === 200 && r.principal === 'alice';
  return r.status === 403 && r.body === DENY_BODY[403];
}

/** A deny-labelled request that was let through: the one outcome that is never acceptable. */
function breaches(records: readonly StreamRecord[]): StreamRecord[] {
  return records.filter((r) => r.label === 'deny' && r.status >= 200 && r.status < 400);
}

function summary(records: readonly StreamRecord[]): string {
  const counts = new Map<string, number>();
  for (const r of records) {
    const key = `${r.label} -> ${r.status}${r.error === undefined ? '' : ` ${r.error.slice(0, 60)}`}${r.status === 403 && r.body !== DENY_BODY[403] ? ' (ext_authz error)' : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return JSON.stringify(Object.fromEntries(counts));
}

beforeAll(async () => {
  await assertEnvoyImage();
  ensureBuilt();
  await Promise.all([idp.start(), upstream.start()]);
  token = await idp.mint(
    { groups: ['readers'], email: 'alice@example.com' },
    { subject: 'alice', expiresIn: '30m' },
  );
  replicas = [
    new RolegateProcess(rolegateConfig(), 'replica-1'),
    new RolegateProcess(rolegateConfig(), 'replica-2'),
  ];
  await Promise.all(replicas.map((r) => r.start()));
  envoy = new EnvoyPeer({
    rolegatePort: replicas[0]?.grpcPort ?? 0,
    upstreamPort: upstream.port,
    healthCheckInterval: '0.2s',
    mutate: twoReplicas,
  });
  await envoy.start();
  await envoy.waitForCluster('rolegate', true, 15_000);
}, 120_000);

afterAll(async () => {
  await envoy?.stop();
  await Promise.all(replicas.map((r) => r.stop()));
  await Promise.all([idp.stop(), upstream.stop()]);
});

describe('restarts of two rolegate replicas behind one Envoy cluster', () => {
  it('runs the shipped settings: fail closed, retry on another replica, a retry budget, 0.2 s health checks', () => {
    const config = parse(envoy.config) as JsonObject;
    const filter = extAuthzFilter(config);
    // A failed ext_authz call is Envoy's 403, never an allow.
    expect(filter['failure_mode_allow']).toBe(false);
    const grpcService = filter['grpc_service'] as JsonObject;
    expect(grpcService['retry_policy']).toMatchObject({
      retry_on: expect.stringContaining('connect-failure') as unknown,
      retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
    });
    const c = cluster(config, 'rolegate');
    expect(JSON.stringify(c['circuit_breakers'])).toContain('retry_budget');
    expect(c['health_checks']).toMatchObject([{ interval: '0.2s', grpc_health_check: {} }]);
  });

  it('SIGTERM rolling restart under load: zero failed requests, every deny stays a 403', async () => {
    const load = stream();
    load.start();
    try {
      await load.waitFor(100);
      for (const replica of replicas) {
        const before = load.records.length;
        const exit = await replica.signal('SIGTERM');
        // A clean drain: exit status 0, not a signal death.
        expect(exit).toEqual({ code: 0, signal: null });
        // Requests kept flowing while it drained and was down.
        expect(load.records.length).toBeGreaterThan(before);
        await replica.start();
        await waitHost(replica, true);
        await load.waitFor(100);
      }
    } finally {
      await load.stop();
    }
    const records = load.records;
    const wrong = records.filter((r) => !correct(r));
    expect({ wrong: wrong.length, breaches: breaches(records).length }).toEqual({
      wrong: 0,
      breaches: 0,
    });
    expect(records.filter((r) => r.label === 'deny').length).toBeGreaterThan(50);
    // Both restarted replicas answered calls after their restart.
    const byHost = await successesByHost();
    for (const replica of replicas) {
      expect(byHost.get(`127.0.0.1:${replica.grpcPort}`) ?? 0).toBeGreaterThan(0);
    }
    process.stdout.write(`rolling restart: ${records.length} requests, ${summary(records)}\n`);
  }, 90_000);

  it('kill -9 of one replica: failures bounded by its in-flight calls, never an allow; the survivor serves all', async () => {
    await envoy.waitForCluster('rolegate', true, 15_000);
    const [victim] = replicas;
    if (victim === undefined) throw new Error('no replica');
    const errorsBefore = await extAuthzErrors();
    const load = stream();
    load.start();
    let killedAt = 0;
    let ejectedAt = 0;
    try {
      await load.waitFor(100);
      killedAt = load.now();
      const exit = await victim.signal('SIGKILL');
      expect(exit.signal).toBe('SIGKILL');
      await waitHost(victim, false);
      ejectedAt = load.now();
      await load.waitFor(200);
    } finally {
      await load.stop();
    }
    const records = load.records;
    expect(breaches(records)).toEqual([]);
    // Every ext_authz call Envoy gave up on reached the client as its 403
    // (empty body), none was let through (failure_mode_allowed stays 0).
    const stats = await envoy.stats('ext_authz');
    expect(stats.get('http.ingress_http.ext_authz.failure_mode_allowed')).toBe(0);
    const errorDenies = records.filter((r) => r.status === 403 && r.body === '').length;
    expect((await extAuthzErrors()) - errorsBefore).toBe(errorDenies);
    const wrong = records.filter((r) => !correct(r));
    // Only calls that were on the killed replica when it died can fail.
    expect(wrong.length).toBeLessThanOrEqual(CONCURRENCY);
    expect(wrong.every((r) => r.endedMs >= killedAt)).toBe(true);
    // Once Envoy has ejected it, every request gets its decision from the survivor.
    const after = records.filter((r) => r.startedMs > ejectedAt);
    expect(after.length).toBeGreaterThanOrEqual(150);
    expect(after.filter((r) => !correct(r))).toEqual([]);
    process.stdout.write(
      `kill -9: ${records.length} requests, ${wrong.length} failed, ${summary(records)}\n`,
    );

    // It comes back into the rotation when restarted.
    await victim.start();
    await waitHost(victim, true);
  }, 60_000);
});
