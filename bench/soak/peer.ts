/**
 * The same soak against OPA-Envoy, printed beside rolegate's: the peer
 * bench's equivalent Rego (bench/peers/rego.ts, generated from the same
 * bench config, verifying the same issuer's ES256 tokens), OPA-Envoy pinned
 * to the server core, Envoy (the peer bench's config, one worker) and the
 * upstream on the other core with the load generator. The peer's own peak
 * is searched the same way and 80 % of it held for the same minutes with
 * the same 100,000 distinct tokens. Only the tail is compared: the
 * reconciliation and reload faults are rolegate's own judgements.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { packageRoot } from '../../src/transport/grpc/protos.js';
import { benchConfig } from '../lib/bench-config.js';
import type { Pinning } from '../lib/cpu.js';
import { startServerProcess } from '../lib/server-process.js';
import { startEnvoy } from '../peers/envoy.js';
import { TOKEN_CACHE_ENTRIES } from '../peers/fixture.js';
import { opaEnvoyVersion, peersBuilt, startOpaEnvoy } from '../peers/opa-envoy.js';
import { regoFromBenchConfig } from '../peers/rego.js';
import { LoadGenerator } from './loadgen.js';
import { cpuSeconds } from './proc.js';
import { Histogram, percentile, type Window } from './stats.js';
import type { SoakIssuer, SoakTokens } from './tokens.js';

/** What the peer's soak found. */
export interface PeerSoakResult {
  readonly version: string;
  readonly peakRps: number;
  readonly rate: number;
  readonly requests: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly windows: readonly Window[];
}

/** Options of {@link runPeerSoak}. */
export interface PeerSoakOptions {
  readonly issuer: SoakIssuer;
  readonly tokens: SoakTokens;
  readonly minutes: number;
  readonly windowSec: number;
  readonly peakFraction: number;
  readonly pinning: Pinning;
  readonly print: (line: string) => void;
}

/** Whether the peer binaries exist (`npm run bench:peers` builds them). */
export const peerAvailable = peersBuilt;

/** Runs the peer soak; throws when the bed cannot start or a good token is not allowed. */
export async function runPeerSoak(o: PeerSoakOptions): Promise<PeerSoakResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rolegate-soak-opa-'));
  const stops: (() => Promise<void>)[] = [];
  try {
    const jwks = await (await fetch(o.issuer.url)).text();
    const regoFile = join(dir, 'policy.rego');
    writeFileSync(
      regoFile,
      regoFromBenchConfig(benchConfig(o.issuer.url, TOKEN_CACHE_ENTRIES), jwks),
    );
    const upstream = await startServerProcess({
      entry: join(packageRoot(), 'dist', 'bench', 'lib', 'upstream-server.js'),
      ...(o.pinning.loadgen === undefined ? {} : { core: o.pinning.loadgen }),
    });
    stops.push(() => upstream.stop());
    const opa = await startOpaEnvoy({
      regoFile,
      dir,
      cacheEntries: TOKEN_CACHE_ENTRIES,
      ...(o.pinning.server === undefined ? {} : { core: o.pinning.server }),
    });
    stops.push(() => opa.stop());
    const envoy = await startEnvoy({
      name: 'soak-opa',
      dir,
      upstreamPort: upstream.port,
      authzPort: opa.port,
      ...(o.pinning.loadgen === undefined ? {} : { core: o.pinning.loadgen }),
    });
    stops.push(() => envoy.stop());
    const probe = await fetch(`http://127.0.0.1:${envoy.listenerPort}/inventory/1`, {
      headers: { authorization: `Bearer ${o.tokens.good[0] ?? ''}` },
    });
    if (probe.status !== 200) throw new Error(`OPA-Envoy soak: a good token got ${probe.status}`);

    // Bad inputs are rolegate's judgement (the peer's Envoy does not normalise
    // encoded paths the same way); the peer gets good tokens only.
    const gen = new LoadGenerator({
      port: envoy.listenerPort,
      tokens: o.tokens,
      badEvery: 0,
      requestIds: false,
    });
    let peakRps = 0;
    for (const c of [8, 16, 32, 64]) {
      const cpu0 = cpuSeconds(opa.pid);
      const t0 = Date.now();
      const rps = await gen.closedLoop(c, 5000);
      const cpu = (cpuSeconds(opa.pid) - cpu0) / ((Date.now() - t0) / 1000);
      o.print(
        `OPA-Envoy peak search: ${c} in flight -> ${rps.toFixed(0)} req/s, ${(cpu * 100).toFixed(0)} % of a core`,
      );
      const better = rps >= peakRps * 1.03;
      peakRps = Math.max(peakRps, rps);
      if (!better) break;
    }
    const rate = Math.round(peakRps * o.peakFraction);
    gen.takeWindow();
    const windows: Window[] = [];
    const overall = new Histogram();
    const start = Date.now();
    const sent0 = gen.sent;
    o.print(`OPA-Envoy: holding ${rate} req/s for ${o.minutes} min`);
    await gen.openLoop(
      rate,
      o.minutes * 60_000,
      () => {
        const w = gen.takeWindow();
        const sorted = Float64Array.from(w.latenciesMs).sort();
        for (const v of sorted) overall.add(v);
        const win: Window = {
          atS: (Date.now() - start) / 1000,
          requests: w.requests,
          errors: w.errors,
          p50Ms: percentile(sorted, 50),
          p99Ms: percentile(sorted, 99),
          rssBytes: 0,
          fds: 0,
          cpu: 0,
        };
        windows.push(win);
        o.print(
          `  OPA-Envoy t=${win.atS.toFixed(0)}s ${win.requests} req p50 ${win.p50Ms.toFixed(1)} ms p99 ${win.p99Ms.toFixed(1)} ms errors ${win.errors}`,
        );
      },
      o.windowSec * 1000,
    );
    const requests = gen.sent - sent0;
    gen.close();
    return {
      version: opaEnvoyVersion(),
      peakRps,
      rate,
      requests,
      errors: gen.totals().errors,
      p50Ms: overall.percentile(50),
      p99Ms: overall.percentile(99),
      windows,
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
