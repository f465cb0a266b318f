/**
 * Restarts under load (issue 16): two rolegate processes behind one Envoy
 * ext_authz cluster (active gRPC health checks, retries on the ext_authz
 * call), a continuous stream of allowed and denied requests through Envoy,
 * and then (1) a SIGTERM rolling restart of both replicas with zero failed
 * requests, (2) a kill -9 of one replica whose cost is bounded by the calls
 * it had in flight and that never turns a deny into an allow, (3) a replica
 * whose workers start while the issuer is slow answers no Check before it
 * can decide.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { DENY_BODY } from '../../src/response/check-response.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { cluster, extAuthzFilter, type JsonObject } from '../harness/envoy-config.js';
import { assertEnvoyImage, EnvoyPeer } from '../harness/envoy.js';
import { JwksIssuer } from '../harness/jwks.js';
import { allowPolicy, ORDER_ROUTES, webIdentityTrust } from '../support/fixtures.js';
import { checkOnce } from '../support/check-client.js';
import {
  sendHttp,
  startRequestStream,
  upstreamHeader,
  within,
  type RequestStream,
  type StreamSample,
} from '../support/request-stream.js';
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

type Kind = 'allow' | 'deny';
type Sample = StreamSample<Kind>;

/**
 * Every 4th request must be denied (DELETE is not granted), the rest
 * allowed; unbounded in practice (a run sends a few thousand).
 */
function stream(): RequestStream<Kind> {
  return startRequestStream<Kind>({
    kinds: ['allow', 'allow', 'allow', 'deny'],
    send: (kind, seq) =>
      sendHttp(envoy.url(`/orders/${seq}`), {
        method: kind === 'deny' ? 'DELETE' : 'GET',
        headers: { authorization: `Bearer ${token}` },
        // A hung request is a failure, not a stall.
        timeoutMs: 10_000,
      }),
    concurrency: CONCURRENCY,
    pauseMs: 0,
    maxRequests: 1_000_000,
  });
}

/** Whether a sample is exactly the decision its kind asks for. */
function correct(s: Sample): boolean {
  if (s.kind === 'allow') {
    return s.status === 200 && upstreamHeader(s, 'x-rolegate-principal') === 'alice';
  }
  return s.status === 403 && s.body === DENY_BODY[403];
}

/** A deny-kind request that was let through: the one outcome that is never acceptable. */
function breaches(samples: readonly Sample[]): Sample[] {
  return samples.filter((s) => s.kind === 'deny' && s.status >= 200 && s.status < 400);
}

function summary(samples: readonly Sample[]): string {
  const counts = new Map<string, number>();
  for (const s of samples) {
    const key = `${s.kind} -> ${s.status}${s.error === undefined ? '' : ` ${s.error.slice(0, 60)}`}${s.status === 403 && s.body !== DENY_BODY[403] ? ' (ext_authz error)' : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return JSON.stringify(Object.fromEntries(counts));
}

/** A wrong sample as a failure shows it: what came back, and when against the run's events. */
function shown(s: Sample, t0: number): string {
  const body = s.body === undefined ? '' : ` body ${JSON.stringify(s.body.slice(0, 80))}`;
  const error = s.error === undefined ? '' : ` ${s.error.slice(0, 80)}`;
  return `#${s.seq} ${s.kind} -> ${s.status}${body}${error} sent +${s.startedAt - t0} ms, answered +${s.endedAt - t0} ms`;
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
    const t0 = Date.now();
    // What happened when (ms since t0), to place a wrong answer if there is one.
    const events: string[] = [];
    const event = (what: string) => events.push(`+${Date.now() - t0} ms ${what}`);
    const load = stream();
    let records: Sample[] = [];
    try {
      await load.waitFor(100);
      for (const replica of replicas) {
        const before = load.samples.length;
        event(`SIGTERM ${replica.name}`);
        const exit = await replica.signal('SIGTERM');
        event(`${replica.name} exited`);
        // A clean drain: exit status 0, not a signal death.
        expect(exit).toEqual({ code: 0, signal: null });
        // Requests kept flowing while it drained and was down.
        expect(load.samples.length).toBeGreaterThan(before);
        await replica.start();
        event(`${replica.name} ready (/readyz 200)`);
        await waitHost(replica, true);
        event(`${replica.name} healthy in Envoy`);
        await load.waitFor(100);
      }
    } finally {
      records = await load.stop();
    }
    const wrong = records.filter((r) => !correct(r));
    expect({
      wrong: wrong.map((s) => shown(s, t0)),
      breaches: breaches(records).length,
      events: wrong.length === 0 ? [] : events,
    }).toEqual({ wrong: [], breaches: 0, events: [] });
    expect(records.filter((r) => r.kind === 'deny').length).toBeGreaterThan(50);
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
    let killedAt = 0;
    let ejectedAt = 0;
    let records: Sample[] = [];
    try {
      await load.waitFor(100);
      killedAt = Date.now();
      const exit = await victim.signal('SIGKILL');
      expect(exit.signal).toBe('SIGKILL');
      await waitHost(victim, false);
      ejectedAt = Date.now();
      await load.waitFor(200);
    } finally {
      records = await load.stop();
    }
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
    expect(wrong.every((r) => r.endedAt >= killedAt)).toBe(true);
    // Once Envoy has ejected it, every request gets its decision from the survivor.
    const after = within(records, { from: ejectedAt + 1 });
    expect(after.length).toBeGreaterThanOrEqual(150);
    expect(after.filter((r) => !correct(r))).toEqual([]);
    process.stdout.write(
      `kill -9: ${records.length} requests, ${wrong.length} failed, ${summary(records)}\n`,
    );

    // It comes back into the rotation when restarted.
    await victim.start();
    await waitHost(victim, true);
  }, 60_000);

  it('a starting replica answers no Check before its workers can decide: refused, never a 401', async () => {
    // Envoy's health check and its Checks may reach different workers of one
    // replica, so a worker must take no connection before its keys are in.
    // Each issuer answer takes longer than keys.maxWaitMs (250 ms): a worker
    // that took connections during the fetch would have answered with 401s.
    const replica = new RolegateProcess(rolegateConfig(), 'replica-3');
    await replica.reservePorts();
    idp.stall(800);
    let started = false;
    const answers: string[] = [];
    // The kubelet's view meanwhile: liveness answers from the start, readiness only once ready.
    const admin: string[] = [];
    try {
      const starting = replica.start().finally(() => (started = true));
      const adminProbe = (async () => {
        while (!started) {
          const status = async (path: string) =>
            fetch(`http://127.0.0.1:${replica.adminPort}${path}`).then(
              (r) => String(r.status),
              () => 'refused',
            );
          admin.push(`${await status('/healthz')}/${await status('/readyz')}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const probes = Array.from({ length: 4 }, async () => {
        while (!started) {
          try {
            const answer = await checkOnce(replica.grpcPort, 'GET', '/orders/1', token);
            answers.push(answer.allowed ? 'allowed' : 'denied');
          } catch {
            answers.push('no answer');
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      });
      await starting;
      await Promise.all([...probes, adminProbe]);
    } finally {
      idp.stall(undefined);
      await replica.stop();
    }
    expect(answers).toContain('no answer');
    expect(answers).not.toContain('denied');
    expect(admin).toContain('200/503');
    // One sample is two requests in turn: the listener may open between them (refused/503).
    // Never ready while liveness is refused, nor ready before the replica started.
    const transitions = new Set(['refused/refused', 'refused/503', '200/503', '200/200']);
    expect(admin.filter((a) => !transitions.has(a))).toEqual([]);
  }, 60_000);
});
