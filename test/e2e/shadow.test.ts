/**
 * Shadow mode through a real Envoy: the live configuration allows a reader
 * to read an order, the shadow candidate would not. The answer Envoy gets
 * stays the live one (200, upstream reached), while the disagreement is
 * counted and recorded; the reports then read the audit of this run.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import type { Rolegate } from '../../src/main.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { assertEnvoyImage, EnvoyPeer } from '../harness/envoy.js';
import { JwksIssuer } from '../harness/jwks.js';
import { captureLogger } from '../support/log-capture.js';
import { startTestRolegate } from '../support/rolegate.js';
import { allowPolicy, ORDER_ROUTES, webIdentityTrust } from '../support/fixtures.js';
import { runCli } from '../unit/cli/cli-io.js';

const idp = new JwksIssuer({ audience: 'orders-api' });
const upstream = new EchoUpstream();
const audit = captureLogger();
const ops = captureLogger('warn');
const dir = mkdtempSync(join(tmpdir(), 'rolegate-shadow-'));
const candidateFile = join(dir, 'candidate.yaml');
let envoy: EnvoyPeer;
let rolegate: Rolegate;

function config(readerActions: string[], shadow?: string) {
  const prefix = idp.issuer.replace('http://', '');
  return {
    issuers: [{ issuer: idp.issuer, audiences: ['orders-api'] }],
    roles: [
      {
        name: 'orders-reader',
        trustPolicy: webIdentityTrust(idp.issuer, {
          StringEquals: { [`${prefix}:aud`]: 'orders-api' },
          'ForAnyValue:StringEquals': { 'jwt:groups': ['readers'] },
        }),
        policies: { read: allowPolicy(readerActions, 'arn:rolegate:orders:::order/*', 'Read') },
      },
      {
        name: 'orders-admin',
        trustPolicy: webIdentityTrust(idp.issuer, {
          StringEquals: { [`${prefix}:sub`]: 'root-admin' },
        }),
        policies: { all: allowPolicy('orders:*', 'arn:rolegate:orders:::order/*', 'All') },
      },
    ],
    routes: ORDER_ROUTES,
    ...(shadow === undefined ? {} : { shadow: { config: shadow } }),
  };
}

const reader = () => idp.mint({ groups: ['readers'] }, { subject: 'alice' });

async function get(path: string, token: string) {
  const res = await fetch(envoy.url(path), { headers: { authorization: `Bearer ${token}` } });
  await res.text();
  return res;
}

async function until<T>(read: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await read();
    if (v !== undefined) return v;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('timed out');
}

beforeAll(async () => {
  await assertEnvoyImage();
  await Promise.all([idp.start(), upstream.start()]);
  // The candidate: readers may list orders but no longer read one.
  writeFileSync(candidateFile, stringify(config(['orders:List*'])));
  ({ rolegate } = await startTestRolegate(config(['orders:Get*', 'orders:List*'], candidateFile), {
    ops,
    audit,
  }));
  envoy = new EnvoyPeer({ rolegatePort: rolegate.grpcPort, upstreamPort: upstream.port });
  await envoy.start();
  await envoy.waitForCluster('rolegate');
}, 120_000);

afterAll(async () => {
  await envoy?.stop();
  await rolegate?.stop().catch(() => undefined);
  await Promise.all([idp.stop(), upstream.stop()]);
});

describe('shadow mode behind a real Envoy', () => {
  it('keeps the live answer and records the candidate disagreeing', async () => {
    upstream.clear();
    const token = await reader();
    const res = await get('/orders/42', token);
    // Live: allowed, and the upstream saw it.
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/42');
    const id = seen?.headers['x-rolegate-decision-id'];
    expect(typeof id).toBe('string');
    expect(audit.auditFor(id as string)).toMatchObject({ decision: 'allow', reason: 'OK' });

    const record = await until(() =>
      audit
        .records()
        .map((r) => r['shadow'] as Record<string, unknown> | undefined)
        .find((s) => s?.['decision_id'] === id),
    );
    expect(record).toMatchObject({
      method: 'GET',
      path: '/orders/42',
      subject: 'alice',
      live: {
        decision: 'allow',
        role: 'orders-reader',
        determining: ['identity:read/Read:Allow'],
        determining_roles: ['orders-reader'],
      },
      candidate: {
        decision: 'deny',
        reason: 'ERR_IMPLICIT_DENY',
        determining: ['identity:ImplicitDeny'],
      },
    });
    const metrics = await rolegate.metrics.registry.metrics();
    expect(metrics).toContain('rolegate_shadow_decisions_total{live="allow",candidate="deny"} 1');
    expect(metrics).toContain(
      'rolegate_statement_matches_total{role="orders-reader",policy="read",statement="Read"} 1',
    );

    // A request both agree on: counted, not recorded.
    await get('/orders/7', token).then((r) => expect(r.status).toBe(200));
    await get('/orders/7', await idp.mint({ groups: ['nobody'] }, { subject: 'eve' })).then((r) =>
      expect(r.status).toBe(403),
    );
    await until(async () =>
      (await rolegate.metrics.registry.metrics()).includes(
        'rolegate_shadow_decisions_total{live="deny",candidate="deny"} 1',
      )
        ? true
        : undefined,
    );
  });

  it('hot reloads the candidate: once it allows too, the disagreement stops', async () => {
    writeFileSync(candidateFile, stringify(config(['orders:Get*', 'orders:List*'])));
    const token = await reader();
    const shadowFor = (id: string) =>
      audit
        .records()
        .some((r) => (r['shadow'] as Record<string, unknown> | undefined)?.['decision_id'] === id);
    await until(async () => {
      upstream.clear();
      const res = await get('/orders/9', token);
      expect(res.status).toBe(200);
      const id = upstream.requestsTo('/orders/9')[0]?.headers['x-rolegate-decision-id'] as string;
      await new Promise((resolve) => setTimeout(resolve, 100));
      return shadowFor(id) ? undefined : true;
    });
    // Back to the disagreeing candidate, so the reports below see what they expect.
    writeFileSync(candidateFile, stringify(config(['orders:List*'])));
  });

  it('the reports read the audit of this run', async () => {
    const file = join(dir, 'audit.jsonl');
    writeFileSync(file, `${audit.lines.join('\n')}\n`);
    const shadow = await runCli(['shadow', 'report', '--audit', file]);
    expect(shadow.status).toBe(0);
    expect(shadow.out).toMatch(/allow -> deny: [2-9]/);
    expect(shadow.out).toMatch(/orders-reader +[2-9]/);
    const liveConfig = join(dir, 'live.yaml');
    writeFileSync(liveConfig, stringify(config(['orders:Get*', 'orders:List*'])));
    const usage = await runCli(['report', 'usage', '--config', liveConfig, '--audit', file]);
    expect(usage.status).toBe(0);
    expect(usage.out).toMatch(/actions allowed: {3}orders:GetOrder \(\d+\)\n/);
    expect(usage.out).toContain('Roles nobody assumed: orders-admin');
    // The excerpts quoted in the change's notes.
    process.stdout.write(`--- shadow report\n${shadow.out}--- usage report\n${usage.out}`);
  });
});
