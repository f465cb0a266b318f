/**
 * Every configured cache bound holds for the whole `rolegate serve`, not per
 * worker: a real `server.workers: 2` serve (the compiled CLI) is sent many
 * distinct ~100 KB-claim tokens, each on a fresh gRPC connection (so the
 * primary hands them to both workers in turn), and each worker's token cache
 * stays within its share of `tokens.cacheMaxBytes` (docs/workers.md), while
 * the two together stay within the configured bound.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { runChild, stopChild, waitReady, type RunningChild } from '../harness/child.js';
import { JwksIssuer } from '../harness/jwks.js';
import { freePorts } from '../harness/ports.js';
import { checkOnce } from '../support/check-client.js';
import { metricValue, scrapeMetrics } from '../support/metrics.js';
import { allowPolicy, ORDER_ROUTES, webIdentityTrust } from '../support/fixtures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const idp = new JwksIssuer({ audience: 'orders-api' });
/** The configured bounds: for the whole process group. */
const CACHE_MAX_BYTES = 1_000_000;
const CACHE_ENTRIES = 1_001;
/** Each token carries this many bytes of claims: ten fill the whole byte bound. */
const CLAIM_BYTES = 100_000;
let serve: RunningChild;
let ports = { grpc: 0, admin: 0 };

const metrics = () => scrapeMetrics(ports.admin);
const tokens = (text: string, name: string, worker?: string) =>
  metricValue(text, name, { cache: 'tokens', ...(worker === undefined ? {} : { worker }) });

beforeAll(async () => {
  // The child runs the compiled CLI: compile this tree first.
  const tsc = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    { cwd: ROOT, encoding: 'utf8', timeout: 170_000 },
  );
  if (tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
  await idp.start();
  const [grpc = 0, admin = 0] = await freePorts(2);
  ports = { grpc, admin };
  const file = join(mkdtempSync(join(tmpdir(), 'rolegate-cache-bounds-')), 'rolegate.yaml');
  writeFileSync(
    file,
    stringify({
      server: {
        grpc: { host: '127.0.0.1', port: grpc },
        admin: { host: '127.0.0.1', port: admin },
        workers: 2,
        shutdownDelaySeconds: 0,
        drainSeconds: 1,
      },
      tokens: { maxBytes: 262_144, cacheEntries: CACHE_ENTRIES, cacheMaxBytes: CACHE_MAX_BYTES },
      issuers: [{ issuer: idp.issuer, audiences: ['orders-api'] }],
      roles: [
        {
          name: 'orders-reader',
          trustPolicy: webIdentityTrust(idp.issuer),
          policies: { read: allowPolicy(['orders:GetOrder'], 'arn:rolegate:orders:::order/*') },
        },
      ],
      routes: ORDER_ROUTES,
    }),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, ROLEGATE_LOG_LEVEL: 'warn' };
  delete env['ROLEGATE_WORKERS'];
  serve = runChild(process.execPath, [join(ROOT, 'bin/rolegate.js'), 'serve', '-c', file], {
    cwd: ROOT,
    env,
  });
  const why = await waitReady(
    serve,
    async () =>
      (await fetch(`http://127.0.0.1:${admin}/readyz`).then(
        (r) => r.status,
        () => 0,
      )) === 200,
    90_000,
  );
  if (why !== undefined)
    throw new Error(`rolegate serve did not get ready: ${why}\n${serve.output()}`);
}, 240_000);

afterAll(async () => {
  await stopChild(serve?.child);
  await idp.stop();
});

describe('configured cache bounds with server.workers: 2', () => {
  it('each worker holds half of each bound; the two halves add up to the configured bound', async () => {
    const text = await metrics();
    expect(tokens(text, 'rolegate_worker_cache_max_bytes', '1')).toBe(CACHE_MAX_BYTES / 2);
    expect(tokens(text, 'rolegate_worker_cache_max_bytes', '2')).toBe(CACHE_MAX_BYTES / 2);
    // An odd bound: the remainder goes to the first slot.
    expect(tokens(text, 'rolegate_worker_cache_max_entries', '1')).toBe(501);
    expect(tokens(text, 'rolegate_worker_cache_max_entries', '2')).toBe(500);
    expect(tokens(text, 'rolegate_cache_max_bytes')).toBe(CACHE_MAX_BYTES);
    expect(tokens(text, 'rolegate_cache_max_entries')).toBe(CACHE_ENTRIES);
  });

  it('large tokens fill each worker up to its share and never the group beyond the bound', async () => {
    const bigClaim = 'x'.repeat(CLAIM_BYTES);
    const answers: boolean[] = [];
    // 30 distinct tokens, three times the bound, each checked four times on
    // new connections, which the cluster hands to the workers in turn: each
    // worker sees a token about twice, and once its share is full it lets a
    // token in on the second sighting (the doorkeeper), evicting one.
    for (let i = 0; i < 30; i++) {
      const token = await idp.mint({ blob: bigClaim }, { subject: `user-${i}` });
      for (let n = 0; n < 4; n++)
        answers.push((await checkOnce(ports.grpc, 'GET', '/orders/1', token)).allowed);
    }
    expect(answers).toEqual(Array(120).fill(true));
    const text = await metrics();
    const held = [
      tokens(text, 'rolegate_worker_cache_bytes', '1'),
      tokens(text, 'rolegate_worker_cache_bytes', '2'),
    ];
    const share = CACHE_MAX_BYTES / 2;
    for (const bytes of held) {
      expect(bytes).toBeLessThanOrEqual(share);
      // Full: one more ~100 KB entry would not fit in this worker's share.
      expect(bytes).toBeGreaterThan(share - CLAIM_BYTES - 2_000);
    }
    // The sum (also what the aggregated gauge says) stays within the configured bound.
    expect(held[0]! + held[1]!).toBeLessThanOrEqual(CACHE_MAX_BYTES);
    expect(tokens(text, 'rolegate_cache_bytes')).toBe(held[0]! + held[1]!);
    expect(tokens(text, 'rolegate_cache_evictions_total')).toBeGreaterThan(0);
    expect(tokens(text, 'rolegate_cache_admissions_refused_total')).toBeGreaterThan(0);
    // Both workers verified and cached tokens: four entries of ~100 KB each fit a 500 KB share.
    expect(tokens(text, 'rolegate_worker_cache_entries', '1')).toBe(4);
    expect(tokens(text, 'rolegate_worker_cache_entries', '2')).toBe(4);
  }, 120_000);
});
