/**
 * `rolegate serve` with `server.workers: 2` as a child process (the real
 * CLI, compiled) behind a real Envoy: both workers answer, one /metrics
 * aggregates them, reloads reach every worker (a bad one reaches none), a
 * worker killed with SIGKILL is replaced while calls keep being answered,
 * and SIGTERM drains every worker and exits 0.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request, type RequestOptions } from 'node:http';
import { connect, constants as h2 } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { runChild, stopChild, waitReady, type RunningChild } from '../harness/child.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { assertEnvoyImage, EnvoyPeer } from '../harness/envoy.js';
import { cluster, type JsonObject } from '../harness/envoy-config.js';
import { JwksIssuer } from '../harness/jwks.js';
import { freePorts } from '../harness/ports.js';
import { accessScenario } from '../support/access.js';
import { healthStatus } from '../support/check-client.js';
import { metricValue, scrapeMetrics } from '../support/metrics.js';
import { allowPolicy, ORDER_ROUTES, webIdentityTrust } from '../support/fixtures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const idp = new JwksIssuer({ audience: 'orders-api' });
const upstream = new EchoUpstream();
let envoy: EnvoyPeer;
let serve: RunningChild;
let configFile = '';
let ports = { grpc: 0, admin: 0, http: 0 };
/** Every operational log record the primary and its workers wrote (stderr). */
const logs: Record<string, unknown>[] = [];
/** Every line the workers wrote to the standard output they share (audit records). */
const auditLines: string[] = [];

function config(readerActions: string[]) {
  return {
    server: {
      grpc: { host: '127.0.0.1', port: ports.grpc },
      admin: { host: '127.0.0.1', port: ports.admin },
      http: { enabled: true, host: '127.0.0.1', port: ports.http },
      workers: 2,
      drainSeconds: 3,
      shutdownDelaySeconds: 3,
    },
    issuers: [{ issuer: idp.issuer, audiences: ['orders-api'] }],
    roles: [
      {
        name: 'orders-reader',
        trustPolicy: webIdentityTrust(idp.issuer),
        policies: { read: allowPolicy(readerActions, 'arn:rolegate:orders:::order/*') },
      },
    ],
    routes: ORDER_ROUTES,
  };
}

const ALLOW_GET = ['orders:GetOrder'];
const ALLOW_LIST_ONLY = ['orders:ListOrders'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}\n${JSON.stringify(logs.slice(-10))}`);
}

async function adminGet(path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${ports.admin}${path}`);
  return { status: res.status, body: await res.text() };
}

/** The value of one series in the aggregated /metrics, 0 when absent. */
async function sample(name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await scrapeMetrics(ports.admin), name, labels);
}

const perWorker = async () => ({
  1: await sample('rolegate_worker_checks_total', { worker: '1' }),
  2: await sample('rolegate_worker_checks_total', { worker: '2' }),
});

/** GET /orders/42 through Envoy with the reader's token; the status. */
async function callOrder(token: string): Promise<number> {
  const res = await fetch(envoy.url('/orders/42'), {
    headers: { authorization: `Bearer ${token}` },
  });
  await res.text();
  return res.status;
}

/** `n` calls, `concurrency` at a time; their statuses. */
async function calls(token: string, n: number, concurrency: number): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        statuses.push(await callOrder(token));
      }
    }),
  );
  return statuses;
}

/** One bodiless request to 127.0.0.1 (`agent: false` for a fresh connection): its status. */
function statusOf(options: RequestOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', ...options }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One HTTP check call on a fresh connection (no keep-alive): its status. */
const httpCheckFresh = () => statusOf({ port: ports.http, path: '/envoy/orders/1', agent: false });

/** GET /orders/42 through Envoy on `agent`'s connection; the status. */
const getVia = (agent: Agent, token: string) =>
  statusOf({
    port: envoy.listenerPort,
    path: '/orders/42',
    agent,
    headers: { authorization: `Bearer ${token}` },
  });

/**
 * `bursts` bursts of `size` concurrent GET /orders/42 on ONE HTTP/2
 * connection to Envoy's listener: one downstream connection is served by one
 * Envoy worker thread, so only the rolegate cluster's own connection settings
 * decide how many connections that thread opens to rolegate. The statuses.
 */
async function burstsOnOneConnection(
  port: number,
  token: string,
  bursts: number,
  size: number,
): Promise<number[]> {
  const session = connect(`http://127.0.0.1:${port}`);
  const one = () =>
    new Promise<number>((resolve, reject) => {
      const stream = session.request({
        [h2.HTTP2_HEADER_PATH]: '/orders/42',
        authorization: `Bearer ${token}`,
      });
      let status = 0;
      stream.on('response', (headers) => (status = Number(headers[h2.HTTP2_HEADER_STATUS])));
      stream.on('error', reject);
      stream.on('end', () => resolve(status));
      stream.resume();
      stream.end();
    });
  try {
    const statuses: number[] = [];
    for (let b = 0; b < bursts; b++) {
      statuses.push(...(await Promise.all(Array.from({ length: size }, one))));
    }
    return statuses;
  } finally {
    session.close();
  }
}

/** Connections Envoy has opened to the rolegate cluster so far (health checks' included). */
async function rolegateConnections(peer: EnvoyPeer): Promise<number> {
  return (
    (await peer.stats('cluster\\.rolegate\\.upstream_cx_total')).get(
      'cluster.rolegate.upstream_cx_total',
    ) ?? 0
  );
}

/** The pid of each serving worker, by slot, from the "worker serving" log lines (latest wins). */
function workerPids(): Map<number, number> {
  const pids = new Map<number, number>();
  for (const r of logs) {
    if (r['msg'] === 'worker serving') pids.set(Number(r['worker']), Number(r['pid']));
  }
  return pids;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  await assertEnvoyImage();
  // The child runs the compiled CLI: compile this tree first.
  const tsc = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    { cwd: ROOT, encoding: 'utf8', timeout: 170_000 },
  );
  if (tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
  await Promise.all([idp.start(), upstream.start()]);
  const [grpc = 0, admin = 0, http = 0] = await freePorts(3);
  ports = { grpc, admin, http };
  configFile = join(mkdtempSync(join(tmpdir(), 'rolegate-workers-')), 'rolegate.yaml');
  writeFileSync(configFile, stringify(config(ALLOW_GET)));
  const env: NodeJS.ProcessEnv = { ...process.env, ROLEGATE_LOG_LEVEL: 'info' };
  delete env['ROLEGATE_WORKERS'];
  serve = runChild(process.execPath, [join(ROOT, 'bin/rolegate.js'), 'serve', '-c', configFile], {
    cwd: ROOT,
    env,
  });
  let auditPartial = '';
  serve.child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (auditPartial + chunk.toString('utf8')).split('\n');
    auditPartial = lines.pop() ?? '';
    auditLines.push(...lines);
  });
  let partial = '';
  serve.child.stderr?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ text: line });
      }
    }
  });
  const why = await waitReady(
    serve,
    async () => (await adminGet('/readyz').catch(() => ({ status: 0 }))).status === 200,
    60_000,
  );
  if (why !== undefined)
    throw new Error(`rolegate serve did not get ready: ${why}\n${serve.output()}`);
  envoy = new EnvoyPeer({ rolegatePort: ports.grpc, upstreamPort: upstream.port });
  await envoy.start();
  await envoy.waitForCluster('rolegate', true, 20_000);
}, 240_000);

afterAll(async () => {
  await envoy?.stop();
  await stopChild(serve?.child);
  await Promise.all([idp.stop(), upstream.stop()]);
});

describe('rolegate serve with server.workers: 2', () => {
  it('starts two worker processes under one primary', () => {
    const pids = workerPids();
    expect([...pids.keys()].sort()).toEqual([1, 2]);
    expect(new Set([...pids.values(), serve.child.pid]).size).toBe(3);
    expect(logs.some((r) => r['msg'] === 'rolegate serving' && r['workers'] === 2)).toBe(true);
  });

  it('over one Envoy connection, every call lands on one worker (cluster spreads connections, not streams)', async () => {
    const token = await idp.mint({}, { subject: 'alice' });
    const before = await perWorker();
    // Sequential calls on one kept-alive connection: one Envoy thread, one
    // upstream connection (nothing else in flight opens a second one).
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push(await getVia(agent, token));
    agent.destroy();
    expect(statuses).toEqual(Array(20).fill(200));
    const after = await perWorker();
    const deltas = [after[1] - before[1], after[2] - before[2]].sort((a, b) => a - b);
    expect(deltas).toEqual([0, 20]);
  }, 60_000);

  it("the shipped Envoy settings spread one Envoy thread's concurrent Checks over both workers", async () => {
    const token = await idp.mint({}, { subject: 'alice' });
    const before = await perWorker();
    // 10 bursts of 16 on one downstream connection (one Envoy thread): more
    // in flight than max_concurrent_streams (4, envoy/envoy.template.yaml).
    const statuses = await burstsOnOneConnection(envoy.listenerPort, token, 10, 16);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const after = await perWorker();
    const deltas = [after[1] - before[1], after[2] - before[2]];
    expect(deltas[0]! + deltas[1]!).toBe(160);
    // That thread opened several connections; the cluster handed them to both workers.
    expect(await rolegateConnections(envoy)).toBeGreaterThanOrEqual(3);
    expect(Math.min(...deltas)).toBeGreaterThan(0);
  }, 60_000);

  it('without a stream cap, the same bursts from one Envoy thread all land on one worker', async () => {
    // The contrast that shows which setting spreads: the shipped config with
    // the rolegate cluster's HTTP/2 options left at Envoy's defaults.
    const uncapped = new EnvoyPeer({
      rolegatePort: ports.grpc,
      upstreamPort: upstream.port,
      mutate: (config: JsonObject) => {
        const options = cluster(config, 'rolegate')['typed_extension_protocol_options'] as Record<
          string,
          { explicit_http_config: { http2_protocol_options: JsonObject } }
        >;
        const http = options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
        if (http === undefined) throw new Error('no HttpProtocolOptions on the rolegate cluster');
        http.explicit_http_config.http2_protocol_options = {};
      },
    });
    await uncapped.start();
    try {
      await uncapped.waitForCluster('rolegate', true, 20_000);
      const token = await idp.mint({}, { subject: 'alice' });
      const before = await perWorker();
      const statuses = await burstsOnOneConnection(uncapped.listenerPort, token, 10, 16);
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      const after = await perWorker();
      const deltas = [after[1] - before[1], after[2] - before[2]].sort((a, b) => a - b);
      expect(deltas).toEqual([0, 160]);
    } finally {
      await uncapped.stop();
    }
  }, 90_000);

  it('answers concurrent calls on both workers, counted in one aggregated /metrics', async () => {
    const token = await idp.mint({}, { subject: 'alice' });
    const before = await perWorker();
    // More in flight than max_concurrent_streams (4, envoy/envoy.template.yaml) opens more connections.
    const statuses = await calls(token, 200, 24);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const after = await perWorker();
    expect(after[1] - before[1]).toBeGreaterThan(0);
    expect(after[2] - before[2]).toBeGreaterThan(0);
    const { body } = await adminGet('/metrics');
    expect(body.match(/^# TYPE rolegate_check_total counter$/gm)).toHaveLength(1);
    // The aggregated check counter is the sum of both workers' decisions.
    const allowed = await sample('rolegate_check_total', { decision: 'allow', reason: 'OK' });
    expect(allowed).toBe(after[1] + after[2]);
    expect(await sample('rolegate_workers', { state: 'serving' })).toBe(2);
  }, 90_000);

  it('serves the HTTP check listener from both workers too', async () => {
    const before = await perWorker();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push(await httpCheckFresh());
    expect(statuses).toEqual(Array(10).fill(401));
    const after = await perWorker();
    expect(after[1] - before[1]).toBeGreaterThan(0);
    expect(after[2] - before[2]).toBeGreaterThan(0);
  }, 30_000);

  it('a reload reaches every worker; a bad one reaches none and the last good one stays', async () => {
    const token = await idp.mint({}, { subject: 'alice' });
    const infoOf = async () => {
      const { body } = await adminGet('/metrics');
      return /^rolegate_config_info\{hash="([^"]+)"\} 1$/m.exec(body)?.[1];
    };
    const first = await infoOf();
    writeFileSync(configFile, stringify(config(ALLOW_LIST_ONLY)));
    await until('the new generation in every worker', async () => {
      const hash = await infoOf();
      const ready = (await adminGet('/readyz')).status === 200;
      return hash !== first &&
        ready &&
        (await sample('rolegate_workers', { state: 'serving' })) === 2
        ? hash
        : undefined;
    });
    const before = await perWorker();
    expect(new Set(await calls(token, 100, 24))).toEqual(new Set([403]));
    const after = await perWorker();
    // Both workers answered, and both with the new generation's deny.
    expect(after[1] - before[1]).toBeGreaterThan(0);
    expect(after[2] - before[2]).toBeGreaterThan(0);

    const good = await infoOf();
    writeFileSync(configFile, 'roles: [ {name: broken');
    await until('the failed reload', async () =>
      (await sample('rolegate_config_last_reload_successful')) === 0 ? true : undefined,
    );
    expect(await infoOf()).toBe(good);
    expect(new Set(await calls(token, 60, 24))).toEqual(new Set([403]));
    expect((await adminGet('/readyz')).status).toBe(200);

    writeFileSync(configFile, stringify(config(ALLOW_GET)));
    await until('the allow generation again', async () =>
      (await infoOf()) === first && (await adminGet('/readyz')).status === 200 ? true : undefined,
    );
    expect(new Set(await calls(token, 60, 24))).toEqual(new Set([200]));
  }, 120_000);

  it('replaces a worker killed with SIGKILL while calls keep being answered', async () => {
    const token = await idp.mint({}, { subject: 'alice' });
    const victim = workerPids().get(1) ?? 0;
    expect(alive(victim)).toBe(true);
    const statuses: number[] = [];
    let running = true;
    const load = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (running) statuses.push(await callOrder(token).catch(() => 0));
      }),
    );
    await until('calls flowing', async () => (statuses.length > 50 ? true : undefined));
    process.kill(victim, 'SIGKILL');
    const killedAt = statuses.length;
    const replacement = await until('a replacement worker', async () => {
      const pid = workerPids().get(1);
      return pid !== undefined && pid !== victim && alive(pid) ? pid : undefined;
    });
    // Keep calling a while after the replacement serves.
    const after = statuses.length;
    await until('calls after the replacement', async () =>
      statuses.length > after + 100 ? true : undefined,
    );
    running = false;
    await load;
    const failures = statuses.filter((s) => s !== 200);
    // Only calls in flight on the killed worker's connections may fail, and
    // fail closed (Envoy's ext_authz error: 403, never an allow): each of the
    // 8 loops loses at most its call in flight and the one it sent before
    // Envoy saw the connection reset.
    expect(failures.length).toBeLessThanOrEqual(16);
    expect(new Set(failures)).toEqual(new Set(failures.length === 0 ? [] : [403]));
    // Nothing fails once the replacement serves.
    expect(statuses.slice(after).filter((s) => s !== 200)).toEqual([]);
    expect(statuses.slice(killedAt).filter((s) => s === 200).length).toBeGreaterThan(100);
    expect(alive(victim)).toBe(false);
    expect(alive(replacement)).toBe(true);
    expect(await sample('rolegate_worker_restarts_total')).toBe(1);
    await until('both workers ready again', async () =>
      (await adminGet('/readyz')).status === 200 ? true : undefined,
    );
  }, 120_000);

  it('SIGTERM drains every worker and exits 0', async () => {
    const pids = [...workerPids().values()].filter(alive);
    expect(pids).toHaveLength(2);
    const before: string[] = [];
    for (let i = 0; i < 4; i++) before.push(await healthStatus(ports.grpc));
    expect(before).toEqual(Array(4).fill('SERVING'));
    const exit = new Promise<number | null>((resolve) => serve.child.once('exit', resolve));
    serve.child.kill('SIGTERM');
    // Draining: the admin listener still answers, and says not ready.
    await until('not ready', async () =>
      (await adminGet('/readyz')).status === 503 ? true : undefined,
    );
    // Within shutdownDelaySeconds every worker answers, and says NOT_SERVING
    // (4 fresh connections, handed to the 2 workers in turn).
    await sleep(300);
    const during: string[] = [];
    for (let i = 0; i < 4; i++) during.push(await healthStatus(ports.grpc));
    expect(during).toEqual(Array(4).fill('NOT_SERVING'));
    expect(await exit).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    const stopped = logs.filter((r) => r['msg'] === 'rolegate stopped');
    // Each worker's own drain, then the primary's.
    expect(stopped).toHaveLength(3);
    expect(logs.some((r) => r['msg'] === 'draining all workers')).toBe(true);
    // Both workers wrote audit records to one pipe: every line arrived whole.
    expect(auditLines.length).toBeGreaterThan(500);
    const broken = auditLines.filter((line) => {
      try {
        return typeof (JSON.parse(line) as { audit?: unknown }).audit !== 'object';
      } catch {
        return true;
      }
    });
    expect(broken).toEqual([]);
  }, 60_000);
});

describe('rolegate serve with server.workers: 2 and just-in-time access (sqlite)', () => {
  let jit: RunningChild | undefined;
  const jitPorts = { grpc: 0, admin: 0, http: 0, access: 0 };
  const alice = () => idp.mint({ groups: ['engineers'] }, { subject: 'alice', expiresIn: '1h' });
  const carol = () => idp.mint({ groups: ['admins'] }, { subject: 'carol', expiresIn: '1h' });
  const workerCounts = async () => {
    const text = await scrapeMetrics(jitPorts.admin);
    return [
      metricValue(text, 'rolegate_worker_checks_total', { worker: '1' }),
      metricValue(text, 'rolegate_worker_checks_total', { worker: '2' }),
    ];
  };
  /** alice's DELETE (staging-admin only) through the HTTP check, one fresh connection each. */
  const deletes = async (n: number) => {
    const token = await alice();
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) {
      statuses.push(
        await statusOf({
          port: jitPorts.http,
          method: 'DELETE',
          path: '/envoy/orders/9',
          agent: false,
          headers: { authorization: `Bearer ${token}` },
        }),
      );
    }
    return statuses;
  };
  const api = async (path: string, token: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${jitPorts.access}/v1/access${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    const [grpc = 0, admin = 0, http = 0, access = 0] = await freePorts(4);
    Object.assign(jitPorts, { grpc, admin, http, access });
    const dir = mkdtempSync(join(tmpdir(), 'rolegate-workers-jit-'));
    const scenario = accessScenario(
      idp.issuer,
      { file: join(dir, 'access.db') },
      {
        listen: { host: '127.0.0.1', port: access },
      },
    );
    const file = join(dir, 'rolegate.yaml');
    writeFileSync(
      file,
      stringify({
        ...scenario,
        server: {
          grpc: { port: grpc },
          admin: { port: admin },
          http: { enabled: true, port: http },
          workers: 2,
          shutdownDelaySeconds: 0,
          drainSeconds: 1,
        },
      }),
    );
    const env: NodeJS.ProcessEnv = { ...process.env, ROLEGATE_LOG_LEVEL: 'warn' };
    delete env['ROLEGATE_WORKERS'];
    jit = runChild(process.execPath, [join(ROOT, 'bin/rolegate.js'), 'serve', '-c', file], {
      cwd: ROOT,
      env,
    });
    const why = await waitReady(
      jit,
      async () =>
        (await fetch(`http://127.0.0.1:${admin}/readyz`).then(
          (r) => r.status,
          () => 0,
        )) === 200,
      60_000,
    );
    if (why !== undefined)
      throw new Error(`rolegate serve did not get ready: ${why}\n${jit.output()}`);
  }, 90_000);

  afterAll(async () => {
    await stopChild(jit?.child);
  });

  it('a grant approved through the shared access API is honoured by every worker', async () => {
    expect(await deletes(6)).toEqual(Array(6).fill(403));
    const created = await api('/requests', await alice(), {
      role: 'staging-admin',
      durationSeconds: 600,
      reason: 'workers check',
    });
    expect(created.status).toBe(201);
    const approved = await api(
      `/requests/${created.json['id'] as string}/approve`,
      await carol(),
      {},
    );
    expect(approved.status).toBe(200);
    // refreshMs is 200 in the scenario: every worker's grant cache sees it soon.
    await until('the grant in every worker', async () =>
      (await deletes(4)).every((s) => s === 200) ? true : undefined,
    );
    const before = await workerCounts();
    // Fresh connections go to the workers in turn: both decide, both allow.
    expect(await deletes(6)).toEqual(Array(6).fill(200));
    const after = await workerCounts();
    expect((after[0] ?? 0) - (before[0] ?? 0)).toBeGreaterThan(0);
    expect((after[1] ?? 0) - (before[1] ?? 0)).toBeGreaterThan(0);
  }, 60_000);
});
