/**
 * One IAM reader per fleet (`aws.iam.fleet`), with real peers: three
 * `rolegate serve` replicas (two single processes and a cluster of two
 * workers) share one real PostgreSQL and read one moto
 * (behind a counting proxy). The fleet elects one reader; IAM calls per
 * refresh do not grow with the replicas; every replica converges on the
 * same snapshot hash and decides with it; `kill -9` of the reader hands the
 * lease to another within the documented bound with no replica losing its
 * roles; a snapshot that does not verify is never decided with.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import pg from 'pg';
import { AwsQueryProxy } from '../../harness/aws-proxy.js';
import { JwksIssuer } from '../../harness/jwks.js';
import { MOTO_ACCOUNT, MotoServer } from '../../harness/moto.js';
import { PostgresPeer } from '../../harness/postgres.js';
import { checkOnce } from '../../support/check-client.js';
import { allowActions, createWebIdentityRole } from '../../support/moto-roles.js';
import { RolegateProcess } from '../../support/rolegate-process.js';

process.env['AWS_ACCESS_KEY_ID'] = 'testing';
process.env['AWS_SECRET_ACCESS_KEY'] = 'testing';

const PROVIDER = `arn:aws:iam::${MOTO_ACCOUNT}:oidc-provider/fleet.example.com`;
const PATH = '/fleet/';
const REFRESH_SECONDS = 3;
const LEASE_SECONDS = 2;
/** The takeover bound docs/fleet.md states: a lease, plus the third of it between two claims. */
const TAKEOVER_BOUND_MS = (LEASE_SECONDS * 4 * 1000) / 3;

const moto = new MotoServer();
const proxy = new AwsQueryProxy();
const idp = new JwksIssuer({ audience: 'orders-api' });
const db = new PostgresPeer();
let iam: IAMClient;
let replicas: RolegateProcess[] = [];

interface FleetView {
  replica: string;
  reader: boolean;
  holder: string | null;
  snapshot: { hash: string; readBy: string } | null;
}

async function fleetOf(r: RolegateProcess): Promise<FleetView> {
  const res = await fetch(`http://127.0.0.1:${r.adminPort}/config`);
  const body = (await res.json()) as { iam: { fleet: FleetView } };
  return body.iam.fleet;
}

async function syncFailures(r: RolegateProcess): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${r.adminPort}/metrics`)).text();
  const m = /^rolegate_iam_syncs_total\{result="failure"\} (\d+)/m.exec(text);
  return Number(m?.[1] ?? NaN);
}

async function until<T>(
  what: string | (() => string),
  probe: () => Promise<T | undefined>,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await probe().catch(() => undefined);
    if (got !== undefined) return got;
    if (Date.now() > deadline) {
      throw new Error(`not within ${ms} ms: ${typeof what === 'string' ? what : what()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const policy = allowActions;

/** `workers` > 1: a cluster, whose primary is the replica's one member of the fleet. */
function replica(name: string, workers = 1): RolegateProcess {
  return new RolegateProcess(
    {
      issuers: [{ issuer: idp.issuer, audiences: ['orders-api'], federatedPrincipals: [PROVIDER] }],
      routes: ['GET', 'DELETE'].map((method) => ({
        method,
        path: '/orders/{id}',
        action: method === 'GET' ? 'orders:GetOrder' : 'orders:DeleteOrder',
        resource: 'arn:aws:orders:::order/{id}',
      })),
      aws: {
        endpoint: `http://127.0.0.1:${proxy.port}`,
        iam: {
          pathPrefix: PATH,
          refreshSeconds: REFRESH_SECONDS,
          jitter: 0,
          fleet: { leaseSeconds: LEASE_SECONDS, replica: name },
        },
      },
      server: { workers, shutdownDelaySeconds: 0, drainSeconds: 1 },
    },
    name,
    { AWS_REGION: 'us-east-1', ROLEGATE_ACCESS_DATABASE_URL: db.url() },
  );
}

/** Every live replica's view, once they all name the same holder and snapshot hash. */
async function converged(live: RolegateProcess[], ms = 10_000): Promise<FleetView[]> {
  let last: unknown;
  return until(
    () => `every replica on one holder and one snapshot hash (last seen: ${JSON.stringify(last)})`,
    async () => {
      const views = await Promise.all(live.map(fleetOf));
      last = views;
      const holders = new Set(views.map((v) => v.holder));
      const hashes = new Set(views.map((v) => v.snapshot?.hash));
      const ok = holders.size === 1 && hashes.size === 1 && views[0]?.snapshot !== null;
      return ok ? views : undefined;
    },
    ms,
  );
}

async function decisions(live: RolegateProcess[], method: string): Promise<boolean[]> {
  const token = await idp.mint({}, { subject: 'alice' });
  return Promise.all(
    live.map(async (r) => (await checkOnce(r.grpcPort, method, '/orders/7', token)).allowed),
  );
}

beforeAll(async () => {
  await Promise.all([moto.start(), idp.start(), db.start()]);
  await proxy.start(moto.port);
  iam = new IAMClient({ endpoint: `http://127.0.0.1:${moto.port}`, region: 'us-east-1' });
  await createWebIdentityRole(iam, {
    name: 'fleet-orders',
    path: PATH,
    provider: PROVIDER,
    actions: ['orders:GetOrder'],
  });
  replicas = [replica('r1'), replica('r2'), replica('r3-cluster', 2)];
  await Promise.all(replicas.map((r) => r.start(60_000)));
}, 120_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await proxy.stop();
  await Promise.all([moto.stop(), idp.stop(), db.stop()]);
});

describe('one IAM reader for a fleet of replicas', () => {
  it('elects one reader, reads IAM once per refresh whatever the replica count, and converges', async () => {
    const views = await converged(replicas);
    const [first] = views;
    expect(views.filter((v) => v.reader)).toHaveLength(1);
    expect(views.every((v) => v.snapshot?.readBy === first?.holder)).toBe(true);

    // Over three refresh intervals: one details read per refresh, not one per replica.
    proxy.actions.clear();
    const windowMs = REFRESH_SECONDS * 3 * 1000;
    const samples: number[] = [];
    const end = Date.now() + windowMs;
    while (Date.now() < end) {
      samples.push((await Promise.all(replicas.map(fleetOf))).filter((v) => v.reader).length);
      await new Promise((r) => setTimeout(r, 200));
    }
    // Never two readers at once (the lease is one row).
    expect(Math.max(...samples)).toBe(1);
    const reads = proxy.count('GetAccountAuthorizationDetails');
    expect(reads).toBeGreaterThanOrEqual(2);
    expect(reads).toBeLessThanOrEqual(4);
    expect([...proxy.actions.keys()]).toEqual(['GetAccountAuthorizationDetails']);
    expect(await decisions(replicas, 'GET')).toEqual([true, true, true]);

    // Readiness and metrics say who reads, on single processes and the cluster's primary alike.
    const holder = first?.holder ?? '';
    let readers = 0;
    for (const r of replicas) {
      const ready = await (await fetch(`http://127.0.0.1:${r.adminPort}/readyz`)).text();
      expect(ready).toMatch(
        /^ready\niam reader: .+\niam snapshot: [0-9a-f]{12}, read by .+ \d+ s ago\n$/,
      );
      expect(ready).toContain(holder);
      const metrics = await (await fetch(`http://127.0.0.1:${r.adminPort}/metrics`)).text();
      readers += Number(/^rolegate_iam_fleet_reader (\d+)/m.exec(metrics)?.[1] ?? NaN);
    }
    expect(readers).toBe(1);
  }, 60_000);

  it('brings an IAM change to every replica, on one snapshot hash', async () => {
    const before = (await converged(replicas))[0]?.snapshot?.hash;
    expect(await decisions(replicas, 'DELETE')).toEqual([false, false, false]);
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'fleet-orders',
        PolicyName: 'orders',
        PolicyDocument: policy(['orders:GetOrder', 'orders:DeleteOrder']),
      }),
    );
    await until(
      'every replica allows DELETE',
      async () => ((await decisions(replicas, 'DELETE')).every(Boolean) ? true : undefined),
      REFRESH_SECONDS * 1000 + 5000,
    );
    const after = await converged(replicas);
    expect(after[0]?.snapshot?.hash).not.toBe(before);
  }, 30_000);

  it('never decides with a snapshot that does not verify: the last good set stays', async () => {
    const views = await converged(replicas);
    const followers = replicas.filter((_, i) => views[i]?.reader === false);
    const failuresBefore = await Promise.all(followers.map(syncFailures));
    const client = new pg.Client({ connectionString: db.url() });
    await client.connect();
    try {
      // A body that would grant everything, under the hash of the real one.
      const { rows } = await client.query<{ source: string; hash: string }>(
        `UPDATE rolegate_iam_snapshot SET body = replace(body, 'orders:GetOrder', '*')
          RETURNING source, hash`,
      );
      const [row] = rows;
      await client.query('SELECT pg_notify($1, $2)', [
        'rolegate_iam',
        `snapshot ${row?.source ?? ''} forged`,
      ]);
      await until(
        'every follower refused the snapshot',
        async () => {
          const now = await Promise.all(followers.map(syncFailures));
          return now.every((n, i) => n > (failuresBefore[i] ?? 0)) ? true : undefined;
        },
        3000,
      );
      // Still the last good set: DELETE allowed (the real policy), nothing else widened.
      const token = await idp.mint({}, { subject: 'alice' });
      for (const r of followers) {
        expect((await checkOnce(r.grpcPort, 'DELETE', '/orders/7', token)).allowed).toBe(true);
        expect((await checkOnce(r.grpcPort, 'GET', '/orders/7', token)).allowed).toBe(true);
      }
    } finally {
      await client.end();
    }
    // The reader's next publication heals the row; everyone converges again.
    await converged(replicas, REFRESH_SECONDS * 1000 + 8000);
  }, 30_000);

  it('hands the lease to another replica within the bound when the reader is killed with kill -9', async () => {
    const views = await converged(replicas);
    const readerIndex = views.findIndex((v) => v.reader);
    const reader = replicas[readerIndex] as RolegateProcess;
    const survivors = replicas.filter((_, i) => i !== readerIndex);
    const killedAt = Date.now();
    await reader.signal('SIGKILL');
    const next = await until(
      'a surviving replica holds the lease',
      async () => {
        const v = await Promise.all(survivors.map(fleetOf));
        const readers = v.filter((x) => x.reader);
        return readers.length === 1 ? readers[0] : undefined;
      },
      TAKEOVER_BOUND_MS + 3000,
    );
    const takeoverMs = Date.now() - killedAt;
    // The bound, plus the time of one claim and this test's polling.
    expect(takeoverMs).toBeLessThan(TAKEOVER_BOUND_MS + 1500);
    expect(next.replica).not.toBe(views[readerIndex]?.replica);
    // No replica lost its roles meanwhile...
    expect(await decisions(survivors, 'GET')).toEqual([true, true]);
    // ...and the new reader reads IAM: a change after the kill reaches both survivors.
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'fleet-orders',
        PolicyName: 'orders',
        PolicyDocument: policy(['orders:GetOrder']),
      }),
    );
    await until(
      'both survivors deny DELETE again',
      async () => ((await decisions(survivors, 'DELETE')).some(Boolean) ? undefined : true),
      REFRESH_SECONDS * 1000 + 5000,
    );
    const after = await converged(survivors);
    expect(after.every((v) => v.snapshot?.readBy === next.replica)).toBe(true);
  }, 60_000);
});
