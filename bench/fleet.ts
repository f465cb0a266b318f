/**
 * `npm run bench fleet`: N `rolegate serve` replicas (processes, one worker
 * each) against one real PostgreSQL and one moto (behind a counting proxy),
 * for N = 1, 2, 4, 8. Each round runs the same N replicas twice, side by
 * side in the same run: (a) without `aws.iam.fleet` (every replica reads
 * IAM, the baseline) and (b) with it. Printed per N:
 *
 * - IAM calls per refresh, (a) against (b) (target for b: constant in N);
 * - (b) from an IAM change to every replica deciding with it (p50, max),
 *   and the part of it after the reader published (the propagation);
 * - (b) from a just-in-time grant's revocation (through one replica's
 *   access API) to every replica denying (p50, p99, max; target p99 <= 1 s);
 * - (b) from `kill -9` of the reader to another replica holding the lease,
 *   and whether every survivor still decided with its roles meanwhile.
 *
 * Direct use (after `npm run build`): node dist/bench/fleet.js
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import pg from 'pg';
import { stringify } from 'yaml';
import { AwsQueryProxy } from '../test/harness/aws-proxy.js';
import { JwksIssuer } from '../test/harness/jwks.js';
import { MOTO_ACCOUNT, MotoServer } from '../test/harness/moto.js';
import { freePorts } from '../test/harness/ports.js';
import { PostgresPeer } from '../test/harness/postgres.js';
import { accessScenario, api } from '../test/support/access.js';
import { checkOnce } from '../test/support/check-client.js';
import { allowActions, createWebIdentityRole } from '../test/support/moto-roles.js';

const BIN = fileURLToPath(new URL('../../bin/rolegate.js', import.meta.url));
const PROVIDER = `arn:aws:iam::${MOTO_ACCOUNT}:oidc-provider/fleet-bench.example.com`;
const REFRESH_SECONDS = 2;
const LEASE_SECONDS = 2;
const CHANGES = 6;
const REVOCATIONS = 20;

interface Replica {
  readonly name: string;
  readonly child: ChildProcess;
  readonly grpcPort: number;
  readonly adminPort: number;
  readonly accessPort: number;
}

interface Bed {
  readonly db: PostgresPeer;
  readonly moto: MotoServer;
  readonly proxy: AwsQueryProxy;
  readonly idp: JwksIssuer;
  readonly iam: IAMClient;
  readonly dir: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const policy = allowActions;

async function until<T>(probe: () => Promise<T | undefined>, ms: number): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const got = await probe().catch(() => undefined);
    if (got !== undefined) return got;
    await sleep(20);
  }
  return undefined;
}

async function startReplica(
  bed: Bed,
  name: string,
  path: string,
  fleet: boolean,
): Promise<Replica> {
  const [grpcPort, adminPort, accessPort] = (await freePorts(3)) as [number, number, number];
  const file = join(bed.dir, `${name}.yaml`);
  // The fleet side also runs just-in-time access on the same database (its grants' revocation is measured).
  const scenario = accessScenario(bed.idp.issuer, { kind: 'postgres' });
  const access = fleet
    ? { access: { ...scenario.access, listen: { host: '127.0.0.1', port: accessPort } } }
    : {};
  writeFileSync(
    file,
    stringify({
      issuers: [{ ...scenario.issuers[0], federatedPrincipals: [PROVIDER] }],
      ...(fleet ? { roles: scenario.roles } : {}),
      routes: scenario.routes,
      ...access,
      aws: {
        endpoint: `http://127.0.0.1:${bed.proxy.port}`,
        iam: {
          pathPrefix: path,
          refreshSeconds: REFRESH_SECONDS,
          jitter: 0,
          ...(fleet ? { fleet: { leaseSeconds: LEASE_SECONDS, replica: name } } : {}),
        },
      },
      server: {
        workers: 1,
        grpc: { port: grpcPort },
        admin: { port: adminPort },
        http: { enabled: false },
        shutdownDelaySeconds: 0,
        drainSeconds: 1,
      },
      // Allows are not what this measures; every decision would be a line on a discarded stdout.
      audit: { allowSampleRate: 0 },
    }),
  );
  const child = spawn(process.execPath, [BIN, 'serve', '--config', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      ROLEGATE_LOG_LEVEL: 'error',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      ROLEGATE_ACCESS_DATABASE_URL: bed.db.url(),
    },
  });
  let errors = '';
  child.stderr?.on('data', (c: Buffer) => {
    errors = (errors + c.toString('utf8')).slice(-2000);
  });
  const ready = await until(async () => {
    const res = await fetch(`http://127.0.0.1:${adminPort}/readyz`);
    await res.arrayBuffer();
    return res.ok ? true : undefined;
  }, 30_000);
  if (ready === undefined) {
    child.kill('SIGKILL');
    throw new Error(`${name} did not become ready:\n${errors}`);
  }
  return { name, child, grpcPort, adminPort, accessPort };
}

async function stopAll(replicas: readonly Replica[]): Promise<void> {
  await Promise.all(
    replicas.map(
      (r) =>
        new Promise<void>((resolve) => {
          if (r.child.exitCode !== null || r.child.signalCode !== null) return resolve();
          r.child.once('exit', () => resolve());
          r.child.kill('SIGTERM');
        }),
    ),
  );
}

interface FleetView {
  reader: boolean;
  replica: string;
}

async function fleetOf(r: Replica): Promise<FleetView | undefined> {
  const res = await fetch(`http://127.0.0.1:${r.adminPort}/config`);
  const body = (await res.json()) as { iam?: { fleet?: FleetView } };
  return body.iam?.fleet;
}

/** bob has no group: only the IAM role admits him. alice (engineers) may be granted staging-admin. */
async function allDecide(
  bed: Bed,
  replicas: readonly Replica[],
  method: string,
  want: boolean,
  subject = 'bob',
  groups: string[] = [],
) {
  const token = await bed.idp.mint({ groups }, { subject });
  const answers = await Promise.all(
    replicas.map(async (r) => (await checkOnce(r.grpcPort, method, '/orders/1', token)).allowed),
  );
  return answers.every((a) => a === want) ? true : undefined;
}

async function createRole(bed: Bed, role: string, path: string): Promise<void> {
  await createWebIdentityRole(bed.iam, {
    name: role,
    path,
    provider: PROVIDER,
    actions: ['orders:GetOrder'],
  });
}

/** IAM calls per refresh interval, over five intervals. */
async function callsPerRefresh(bed: Bed): Promise<number> {
  bed.proxy.actions.clear();
  await sleep(REFRESH_SECONDS * 5 * 1000);
  let calls = 0;
  for (const n of bed.proxy.actions.values()) calls += n;
  return calls / 5;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

/** Published-at of the fleet's snapshot for a selection (one row per selection). */
async function publishedHash(client: pg.Client): Promise<Map<string, string>> {
  const { rows } = await client.query<{ source: string; hash: string }>(
    'SELECT source, hash FROM rolegate_iam_snapshot',
  );
  return new Map(rows.map((r) => [r.source, r.hash]));
}

/** IAM change -> every replica deciding with it: end to end, and after the publication. */
async function propagation(
  bed: Bed,
  replicas: readonly Replica[],
  role: string,
  db: pg.Client,
): Promise<{ endToEnd: number[]; afterPublish: number[] }> {
  const endToEnd: number[] = [];
  const afterPublish: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const widen = i % 2 === 0;
    // A change lands anywhere in the reader's refresh interval, not just after a read.
    await sleep(Math.random() * REFRESH_SECONDS * 1000);
    const before = await publishedHash(db);
    const t0 = performance.now();
    await bed.iam.send(
      new PutRolePolicyCommand({
        RoleName: role,
        PolicyName: 'orders',
        PolicyDocument: policy(
          widen ? ['orders:GetOrder', 'orders:DeleteOrder'] : ['orders:GetOrder'],
        ),
      }),
    );
    let published: number | undefined;
    const done = await until(
      async () => {
        if (published === undefined) {
          const now = await publishedHash(db);
          if ([...now].some(([s, h]) => before.get(s) !== h)) published = performance.now();
        }
        return allDecide(bed, replicas, 'DELETE', widen);
      },
      REFRESH_SECONDS * 1000 + 10_000,
    );
    const t1 = performance.now();
    if (done === undefined) throw new Error('an IAM change did not reach every replica');
    endToEnd.push(t1 - t0);
    afterPublish.push(t1 - (published ?? t1));
  }
  return { endToEnd, afterPublish };
}

/** Grant revocation through one replica's access API -> every replica denies alice's DELETE. */
async function revocations(bed: Bed, replicas: readonly Replica[]): Promise<number[]> {
  const alice = await bed.idp.mint({ groups: ['engineers'] }, { subject: 'alice' });
  const carol = await bed.idp.mint({ groups: ['admins'] }, { subject: 'carol' });
  const [first] = replicas;
  if (first === undefined) return [];
  const times: number[] = [];
  for (let i = 0; i < REVOCATIONS; i++) {
    const created = await api(first.accessPort, 'POST', '/requests', alice, {
      role: 'staging-admin',
      durationSeconds: 600,
      reason: `fleet bench ${i}`,
    });
    const id = created.json['id'] as string;
    const approved = await api(first.accessPort, 'POST', `/requests/${id}/approve`, carol, {});
    const grant = (approved.json['grant'] as { id: string } | undefined)?.id;
    if (grant === undefined) throw new Error(`approval refused: ${JSON.stringify(approved.json)}`);
    const on = await until(
      () => allDecide(bed, replicas, 'DELETE', true, 'alice', ['engineers']),
      5000,
    );
    if (on === undefined) throw new Error('a grant did not reach every replica');
    // Revoked through the last replica, so the others hear of it only through the database.
    const via = replicas.at(-1) ?? first;
    const t0 = performance.now();
    const revoked = await api(via.accessPort, 'POST', `/grants/${grant}/revoke`, carol);
    if (revoked.status !== 200) throw new Error(`revoke: ${revoked.status}`);
    const off = await until(
      () => allDecide(bed, replicas, 'DELETE', false, 'alice', ['engineers']),
      5000,
    );
    if (off === undefined) throw new Error('a revocation did not reach every replica');
    times.push(performance.now() - t0);
  }
  return times;
}

/** kill -9 of the reader -> another replica holds the lease; survivors still allow GET. */
async function takeover(bed: Bed, replicas: readonly Replica[]) {
  const views = await Promise.all(replicas.map(fleetOf));
  const index = views.findIndex((v) => v?.reader === true);
  const reader = replicas[index];
  if (reader === undefined) throw new Error('no reader');
  const survivors = replicas.filter((_, i) => i !== index);
  const t0 = performance.now();
  reader.child.kill('SIGKILL');
  let kept = true;
  const next = await until(async () => {
    if ((await allDecide(bed, survivors, 'GET', true)) === undefined) kept = false;
    const v = await Promise.all(survivors.map(fleetOf));
    return v.some((x) => x?.reader === true) ? true : undefined;
  }, LEASE_SECONDS * 4000);
  return { ms: next === undefined ? NaN : performance.now() - t0, kept };
}

async function round(bed: Bed, n: number, print: (l: string) => void, db: pg.Client) {
  const path = `/bench-${n}/`;
  const role = `bench-orders-${n}`;
  await createRole(bed, role, path);
  // (a) baseline: every replica reads IAM itself.
  let replicas = await Promise.all(
    Array.from({ length: n }, (_, i) => startReplica(bed, `a${n}-${i}`, path, false)),
  );
  const baseline = await callsPerRefresh(bed);
  await stopAll(replicas);
  // (b) the fleet.
  replicas = await Promise.all(
    Array.from({ length: n }, (_, i) => startReplica(bed, `b${n}-${i}`, path, true)),
  );
  try {
    await sleep(REFRESH_SECONDS * 1000);
    const fleet = await callsPerRefresh(bed);
    const { endToEnd, afterPublish } = await propagation(bed, replicas, role, db);
    const revoked = await revocations(bed, replicas);
    const killed = n > 1 ? await takeover(bed, replicas) : undefined;
    const f = (x: number) => x.toFixed(0).padStart(5);
    print(
      `  N=${String(n).padStart(2)}  IAM calls/refresh a ${baseline.toFixed(1).padStart(4)}  b ${fleet.toFixed(1).padStart(4)}  b/a ${(fleet / baseline).toFixed(2)} ${fleet <= 1.2 ? 'PASS' : 'FAIL'}` +
        `  | change->all deciding p50 ${f(pct(endToEnd, 50))} ms max ${f(Math.max(...endToEnd))} ms` +
        `  | after publish p50 ${f(pct(afterPublish, 50))} ms max ${f(Math.max(...afterPublish))} ms` +
        `  | revocation->all deny p50 ${f(pct(revoked, 50))} ms p99 ${f(pct(revoked, 99))} ms max ${f(Math.max(...revoked))} ms ${pct(revoked, 99) <= 1000 ? 'PASS' : 'FAIL'}` +
        (killed === undefined
          ? '  | kill -9: n/a (one replica)'
          : `  | kill -9 -> new reader ${f(killed.ms)} ms (bound ${f((LEASE_SECONDS * 4000) / 3)} ms) ${killed.ms <= (LEASE_SECONDS * 4000) / 3 ? 'PASS' : 'FAIL'}, survivors kept roles: ${killed.kept ? 'yes' : 'NO'}`),
    );
  } finally {
    await stopAll(replicas);
  }
}

/** Runs the fleet bench for each N in `sizes` (default 1, 2, 4, 8). */
export async function runFleetBench(
  print: (line: string) => void,
  sizes: readonly number[] = [1, 2, 4, 8],
): Promise<void> {
  print(
    `\nFleet: N replicas, (a) each reads IAM vs (b) aws.iam.fleet (one reader, PostgreSQL); refresh ${REFRESH_SECONDS} s, lease ${LEASE_SECONDS} s`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'rolegate-fleet-bench-'));
  const db = new PostgresPeer();
  const moto = new MotoServer();
  const proxy = new AwsQueryProxy();
  const idp = new JwksIssuer({ audience: 'orders-api' });
  await Promise.all([db.start(), moto.start(), idp.start()]);
  await proxy.start(moto.port);
  const iam = new IAMClient({
    endpoint: `http://127.0.0.1:${moto.port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const bed: Bed = { db, moto, proxy, idp, iam, dir };
  const client = new pg.Client({ connectionString: db.url() });
  try {
    await client.connect();
    for (const n of sizes) await round(bed, n, print, client);
    print(
      '  target: b constant in N (one reader); a grows with N. "after publish" is the NOTIFY -> load -> compile -> swap path; end to end adds the wait for the next refresh.',
    );
  } finally {
    await client.end().catch(() => undefined);
    iam.destroy();
    await proxy.stop();
    await Promise.all([db.stop(), moto.stop(), idp.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runFleetBench((l) => console.log(l));
}
