/**
 * Child of the soak's heap evidence (bench/soak/heap.ts): rolegate started
 * with the soak's configuration (the bench config, its token cache,
 * audit records through the production destination into /dev/null), or a
 * transport-only server answering at once (`--transport-only`), with
 * instruments the parent switches on around a measured stretch of calls.
 *
 * Arguments: `--issuer URL` (the soak issuer the parent runs),
 * `--cache N` (token cache entries, default 10,000), `--transport-only`,
 * `--keep-listeners` (the transport without `releaseFinishedStreams`: the
 * code before the change, as the baseline).
 *
 * stdout, one line each: `PORT <n>` once listening; `REPORT <json>` (a
 * {@link HeapWindowReport}) in reply to the stdin line `end`.
 * stdin: `begin` starts the GC profiler and the sampling heap profiler;
 * `end` stops them and replies; `snapshot FILE` writes a heap snapshot
 * there and replies `SNAPSHOT FILE`; EOF exits.
 */
import { Session } from 'node:inspector/promises';
import { devNull, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { GCProfiler, writeHeapSnapshot } from 'node:v8';

import { stringify } from 'yaml';

import { startRolegate } from '../../src/main.js';
import { createAuditLogger, createLogger } from '../../src/observe/logger.js';
import { startGrpcServer } from '../../src/transport/grpc/server.js';
import { RpcCode, type CheckResponse } from '../../src/wire/ext-authz.js';
import { benchConfig } from '../lib/bench-config.js';
import {
  memoryBreakdown,
  oldGenerationStats,
  survivingSites,
  type HeapWindowReport,
  type TokenCacheActivity,
} from './heap-stats.js';

const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};

const transportOnly = process.argv.includes('--transport-only');
const keepListeners = process.argv.includes('--keep-listeners');
const cacheEntries = Number(argValue('--cache') ?? 10_000);

let port: number;
let decided = (): number => 0;
let tokenCache = (): Promise<TokenCacheActivity | undefined> => Promise.resolve(undefined);
let tokenCacheBytes = (): Promise<number | undefined> => Promise.resolve(undefined);
let stop: () => Promise<void>;
if (transportOnly) {
  let calls = 0;
  const ok: CheckResponse = { status: { code: RpcCode.OK }, ok_response: {} };
  const server = await startGrpcServer({
    host: '127.0.0.1',
    port: 0,
    handle: () => {
      calls++;
      return Promise.resolve(ok);
    },
    onHandlerError: () => ok,
    releaseFinishedStreams: !keepListeners,
  });
  server.serving();
  port = server.port;
  decided = () => calls;
  stop = () => server.drain(1000);
} else {
  const issuer = argValue('--issuer');
  if (issuer === undefined) throw new Error('heap-child: --issuer URL is required');
  const dir = mkdtempSync(join(tmpdir(), 'rolegate-soak-heap-'));
  const configFile = join(dir, 'rolegate.yaml');
  writeFileSync(configFile, stringify(benchConfig(issuer, cacheEntries)));
  const sink = new Writable({ write: (_c, _e, done) => done() });
  const rolegate = await startRolegate({
    configFile,
    grpcPort: 0,
    adminPort: 0,
    logger: createLogger('warn', sink),
    auditLogger: createAuditLogger({ file: devNull }),
    watch: false,
  });
  port = rolegate.grpcPort;
  decided = () => rolegate.decisions.allow + rolegate.decisions.deny;
  const { registry } = rolegate.metrics;
  const read = async (name: string, labels: Record<string, string>): Promise<number> => {
    const metric = registry.getSingleMetric(name);
    const values = metric === undefined ? [] : (await metric.get()).values;
    const found = values.find((v) =>
      Object.entries(labels).every(([k, want]) => v.labels[k] === want),
    );
    return found?.value ?? 0;
  };
  tokenCacheBytes = () => read('rolegate_cache_bytes', { cache: 'tokens' });
  tokenCache = async () => ({
    hits: await read('rolegate_token_cache_lookups_total', { result: 'hit' }),
    misses: await read('rolegate_token_cache_lookups_total', { result: 'miss' }),
    evictions: await read('rolegate_cache_evictions_total', { cache: 'tokens' }),
    refused: await read('rolegate_cache_admissions_refused_total', { cache: 'tokens' }),
  });
  stop = async () => {
    await rolegate.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}

const session = new Session();
session.connect();
let gc: GCProfiler | undefined;
let calls0 = 0;
let cache0: TokenCacheActivity | undefined;

async function begin(): Promise<void> {
  // Samples about every 16 KiB allocated; those that die in a scavenge are
  // dropped, so what stays is what lived long enough to be promoted.
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 16_384,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  });
  calls0 = decided();
  cache0 = await tokenCache();
  gc = new GCProfiler();
  gc.start();
}

async function end(): Promise<HeapWindowReport> {
  const calls = decided() - calls0;
  const stats = gc?.stop();
  gc = undefined;
  const { profile } = await session.post('HeapProfiler.stopSampling');
  const cache1 = await tokenCache();
  const memory = memoryBreakdown(
    () => readFileSync('/proc/self/status', 'utf8'),
    await tokenCacheBytes(),
  );
  return {
    memory,
    calls,
    ...oldGenerationStats(stats?.statistics ?? []),
    sites: survivingSites(profile, 12),
    ...(cache0 === undefined || cache1 === undefined
      ? {}
      : {
          tokenCache: {
            hits: cache1.hits - cache0.hits,
            misses: cache1.misses - cache0.misses,
            evictions: cache1.evictions - cache0.evictions,
            refused: cache1.refused - cache0.refused,
          },
        }),
  };
}

process.stdout.write(`PORT ${port}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const reply = (report: HeapWindowReport) =>
    process.stdout.write(`REPORT ${JSON.stringify(report)}\n`);
  if (line === 'begin') void begin().then(() => process.stdout.write('BEGUN\n'));
  else if (line === 'end') void end().then(reply);
  else if (line.startsWith('snapshot '))
    process.stdout.write(`SNAPSHOT ${writeHeapSnapshot(line.slice('snapshot '.length))}\n`);
});
lines.on('close', () => {
  session.disconnect();
  void stop().then(() => process.exit(0));
});
