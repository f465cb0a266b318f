/**
 * The config file is replaced with an invalid one and then a valid one, 50
 * times in a row, while a request stream runs through the real Envoy. Two
 * valid generations differ visibly: A lets readers GET an order and names
 * them to the upstream in `x-gen-a`; B lets them DELETE instead and names
 * them in `x-gen-b`. Every response must be exactly one generation's whole
 * answer, its audit record must carry that generation's hash, no request
 * fails, each invalid file is refused (metric and log) and the last good
 * generation keeps serving until the next valid one.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import type { Rolegate } from '../../src/main.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { assertEnvoyImage, EnvoyPeer } from '../harness/envoy.js';
import { JwksIssuer } from '../harness/jwks.js';
import { until } from '../support/access.js';
import { allowPolicy, ORDER_ROUTES, webIdentityTrust } from '../support/fixtures.js';
import { captureLogger } from '../support/log-capture.js';
import { metricValue, scrapeMetrics } from '../support/metrics.js';
import {
  sendHttp,
  startRequestStream,
  statusCounts,
  upstreamHeader,
  within,
  type StreamSample,
} from '../support/request-stream.js';
import { startTestRolegate } from '../support/rolegate.js';

const CYCLES = 50;
const EMAIL = 'alice@example.com';

const idp = new JwksIssuer({ audience: 'orders-api' });
const upstream = new EchoUpstream();
const audit = captureLogger();
const ops = captureLogger('warn');
let envoy: EnvoyPeer;
let rolegate: Rolegate;
let configFile = '';
let token = '';

type Gen = 'A' | 'B';
type Kind = 'get' | 'delete';

/** Generation A allows GET and names the caller in x-gen-a; B allows DELETE, x-gen-b. */
function generation(gen: Gen): object {
  const prefix = idp.issuer.replace('http://', '');
  return {
    issuers: [{ issuer: idp.issuer, audiences: ['orders-api'] }],
    headers: { claims: { [gen === 'A' ? 'x-gen-a' : 'x-gen-b']: 'email' } },
    roles: [
      {
        name: 'orders-reader',
        trustPolicy: webIdentityTrust(idp.issuer, {
          StringEquals: { [`${prefix}:aud`]: 'orders-api' },
        }),
        policies: {
          p: allowPolicy(
            gen === 'A' ? 'orders:GetOrder' : 'orders:DeleteOrder',
            'arn:rolegate:orders:::order/*',
          ),
        },
      },
    ],
    routes: ORDER_ROUTES,
  };
}

/** Two kinds of broken file, alternating: a YAML syntax error and a schema error. */
const INVALID = [
  'roles: [ {name: broken',
  stringify({ roles: [{ name: 'no-trust-policy', policies: {} }], routes: 'not a list' }),
];

/** Replaces the config the way editors and Kubernetes do: a new file renamed over the old. */
function replaceConfig(text: string, n: number): void {
  const tmp = join(dirname(configFile), `.rolegate.yaml.${n}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, configFile);
}

async function reloads(): Promise<{ success: number; failure: number }> {
  const text = await scrapeMetrics(rolegate.adminPort);
  const read = (result: string) => metricValue(text, 'rolegate_config_reloads_total', { result });
  return { success: read('success'), failure: read('failure') };
}

/** The generation a response is the whole answer of, or 'neither'. */
function generationOf(sample: StreamSample<Kind>): Gen | 'neither' {
  const a = upstreamHeader(sample, 'x-gen-a');
  const b = upstreamHeader(sample, 'x-gen-b');
  if (sample.kind === 'get') {
    if (sample.status === 200 && a === EMAIL && b === undefined) return 'A';
    if (sample.status === 403) return 'B';
  } else {
    if (sample.status === 200 && b === EMAIL && a === undefined) return 'B';
    if (sample.status === 403) return 'A';
  }
  return 'neither';
}

beforeAll(async () => {
  await assertEnvoyImage();
  await Promise.all([idp.start(), upstream.start()]);
  ({ rolegate, configFile } = await startTestRolegate(generation('A'), { ops, audit }));
  envoy = new EnvoyPeer({ rolegatePort: rolegate.grpcPort, upstreamPort: upstream.port });
  await envoy.start();
  await envoy.waitForCluster('rolegate');
  token = await idp.mint({ email: EMAIL }, { subject: 'alice', expiresIn: '10m' });
}, 120_000);

// rolegate's stop() alone waits shutdownDelaySeconds (default 3 s): more than jest's 5 s default with Envoy's.
afterAll(async () => {
  await envoy?.stop();
  await rolegate?.stop().catch(() => undefined);
  await Promise.all([idp.stop(), upstream.stop()]);
}, 30_000);

describe('config swapped invalid/valid 50 times under a request stream', () => {
  it('zero failed requests, every decision from one whole generation, every invalid file refused', async () => {
    const hashes: Record<Gen, string> = { A: rolegate.current().sources?.hash ?? '', B: '' };
    const texts: Record<Gen, string> = {
      A: stringify(generation('A')),
      B: stringify(generation('B')),
    };
    const start = await reloads();
    // When each generation became active (epoch ms, after the reload was seen) and
    // when the next file was written: requests wholly inside are that generation's.
    const spans: { gen: Gen; from: number; to: number }[] = [];
    let active: Gen = 'A';
    let activeSince = Date.now();

    const stream = startRequestStream<Kind>({
      kinds: ['get', 'delete'],
      send: (kind, seq) =>
        sendHttp(envoy.url(`/orders/${seq}`), {
          method: kind === 'get' ? 'GET' : 'DELETE',
          headers: { authorization: `Bearer ${token}` },
        }),
      concurrency: 2,
      pauseMs: 5,
      maxRequests: 20_000,
    });
    let samples: StreamSample<Kind>[] = [];
    try {
      await stream.waitFor(20);
      for (let i = 0; i < CYCLES; i++) {
        const before = await reloads();
        replaceConfig(INVALID[i % 2] as string, 2 * i);
        await until(async () => (await reloads()).failure > before.failure, 10_000);
        // Refused: the same generation still answers for a while.
        await stream.waitFor(2);
        const next: Gen = active === 'A' ? 'B' : 'A';
        const written = Date.now();
        spans.push({ gen: active, from: activeSince, to: written });
        replaceConfig(texts[next], 2 * i + 1);
        await until(async () => (await reloads()).success > before.success, 10_000);
        active = next;
        activeSince = Date.now();
        if (hashes[next] === '') hashes[next] = rolegate.current().sources?.hash ?? '';
        await stream.waitFor(2);
      }
      samples = await stream.stop();
    } finally {
      if (samples.length === 0) await stream.stop();
    }
    spans.push({ gen: active, from: activeSince, to: Date.now() });

    const end = await reloads();
    expect(end.failure - start.failure).toBe(CYCLES);
    expect(end.success - start.success).toBe(CYCLES);
    expect(ops.lines.filter((l) => l.includes('keeping the last good config'))).toHaveLength(
      CYCLES,
    );
    expect(hashes.A).toMatch(/^[0-9a-f]+$/);
    expect(hashes.B).toMatch(/^[0-9a-f]+$/);
    expect(hashes.B).not.toBe(hashes.A);
    // The last good generation is the one active at the end (50 swaps: back to A).
    expect(rolegate.current().sources?.hash).toBe(hashes[active]);

    // Zero failed requests: only the two generations' answers, never a 5xx or an error deny.
    expect(statusCounts(samples)).toEqual({ 200: expect.any(Number), 403: expect.any(Number) });
    const bad: unknown[] = [];
    for (const s of samples) {
      const gen = generationOf(s);
      const record = audit.auditFor(s.decisionId);
      const expectedReason = s.status === 200 ? 'OK' : 'ERR_IMPLICIT_DENY';
      if (
        gen === 'neither' ||
        record?.['config_hash'] !== hashes[gen] ||
        record['reason'] !== expectedReason
      ) {
        bad.push({ seq: s.seq, kind: s.kind, status: s.status, gen, record });
      }
    }
    expect(bad).toEqual([]);
    // Requests wholly inside a span (invalid files included) are that generation's.
    for (const span of spans) {
      for (const s of within(samples, span)) {
        if (generationOf(s) !== span.gen) bad.push({ seq: s.seq, span });
      }
    }
    expect(bad).toEqual([]);
    const perGen = { A: 0, B: 0 };
    for (const s of samples) perGen[generationOf(s) as Gen]++;
    expect(perGen.A).toBeGreaterThan(0);
    expect(perGen.B).toBeGreaterThan(0);
    process.stdout.write(
      `config swap: ${CYCLES} invalid + ${CYCLES} valid reloads, ${samples.length} requests, ` +
        `${JSON.stringify(statusCounts(samples))}, by generation ${JSON.stringify(perGen)}\n`,
    );
  }, 120_000);
});
