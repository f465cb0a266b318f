/**
 * `GET /config` on a running rolegate with a real JWKS issuer: the active
 * generation's hash (the one audit records carry), the issuer's kids as
 * fetched, and no canary of any secret-bearing field; only on the admin
 * listener. A cluster primary's /config: what it validated and what each
 * worker serves.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import type { Rolegate } from '../../src/serve/start.js';
import { JwksIssuer } from '../harness/jwks.js';
import {
  CANARY_ENV,
  canaryConfig,
  CREDENTIAL_URL_ISSUER,
  FILE_ISSUER,
  FILE_KIDS,
  leakedCanaries,
} from '../support/config-canaries.js';
import { captureLogger } from '../support/log-capture.js';
import { RolegateProcess } from '../support/rolegate-process.js';
import { startTestRolegate } from '../support/rolegate.js';

type Json = Record<string, unknown>;

describe('GET /config', () => {
  const idp = new JwksIssuer({ audience: 'rolegate-test' });
  const ops = captureLogger();
  const audit = captureLogger();
  const saved: Record<string, string | undefined> = {};
  let rolegate: Rolegate;
  let configFile: string;
  let config: Record<string, unknown>;

  beforeAll(async () => {
    for (const [name, value] of Object.entries(CANARY_ENV)) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
    await idp.start();
    const dir = mkdtempSync(join(tmpdir(), 'rolegate-config-dump-'));
    config = {
      ...canaryConfig(dir, { issuer: idp.issuer }),
      server: { http: { enabled: true, port: 0 } },
    };
    // Reloads only when the test says so: the counts below are exact.
    ({ rolegate, configFile } = await startTestRolegate(config, { ops, audit }, { watch: false }));
  });

  afterAll(async () => {
    await rolegate.stop();
    await idp.stop();
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  const adminConfig = () => fetch(`http://127.0.0.1:${rolegate.adminPort}/config`);

  it('shows the active hash (the audit records’), the fetched kids, and no canary', async () => {
    // A decision first: its audit record names the generation it was made with.
    const token = await idp.mint({ sub: 'alice' });
    const check = await fetch(`http://127.0.0.1:${String(rolegate.httpPort)}/envoy/orders/1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const decisionId = check.headers.get('x-rolegate-decision-id');
    const record = audit.auditFor(decisionId);

    const res = await adminConfig();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const text = await res.text();
    const dump = JSON.parse(text) as Json;

    const hash = rolegate.current().sources?.hash;
    expect(hash).toMatch(/^[0-9a-f]{12}$/);
    expect(dump['generation']).toMatchObject({ hash, reloads: { succeeded: 0, failed: 0 } });
    expect(record?.['config_hash']).toBe(hash);

    const keySets = dump['keySets'] as Json[];
    expect(keySets.map((k) => k['issuer'])).toEqual([
      idp.issuer,
      FILE_ISSUER,
      CREDENTIAL_URL_ISSUER,
    ]);
    expect(keySets[0]).toMatchObject({ source: 'fetched', kids: [idp.kid] });
    expect(typeof keySets[0]?.['lastSuccessAt']).toBe('string');
    expect(typeof keySets[0]?.['nextRefreshAt']).toBe('string');
    expect(keySets[1]).toMatchObject({ source: 'file', kids: [...FILE_KIDS] });
    // Its URL carries credentials, which fetch refuses: a failure, and no kids.
    expect(keySets[2]).toMatchObject({ source: 'fetched', kids: [] });
    expect(typeof keySets[2]?.['lastFailureAt']).toBe('string');

    expect(dump['roles']).toEqual([
      { name: 'reader', arn: 'arn:rolegate:iam:::role/reader', source: 'file' },
    ]);
    expect(leakedCanaries(text)).toEqual([]);
    for (const value of Object.values(CANARY_ENV)) expect(text).not.toContain(value);
  });

  it('follows a rotation: the kids the issuer serves after a refetch', async () => {
    const kid = await idp.rotateKey({ dropOld: true });
    // A token with the unknown kid makes the store refetch (at most once per cooldown).
    const token = await idp.mint({ sub: 'alice' });
    await fetch(`http://127.0.0.1:${String(rolegate.httpPort)}/envoy/orders/1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const keySets = ((await (await adminConfig()).json()) as Json)['keySets'] as Json[];
    expect(keySets[0]?.['kids']).toEqual([kid]);
  });

  it('follows reloads: a new hash when one applies, a count and the same hash when one fails', async () => {
    const before = ((await (await adminConfig()).json()) as Json)['generation'] as Json;
    writeFileSync(configFile, stringify({ ...config, unmatchedRoutes: 'default' }));
    rolegate.reload();
    const applied = ((await (await adminConfig()).json()) as Json)['generation'] as Json;
    expect(applied['hash']).toBe(rolegate.current().sources?.hash);
    expect(applied['hash']).not.toBe(before['hash']);
    expect(applied['reloads']).toEqual({ succeeded: 1, failed: 0 });

    writeFileSync(configFile, 'issuers: [');
    expect(() => rolegate.reload()).toThrow();
    const failed = ((await (await adminConfig()).json()) as Json)['generation'] as Json;
    expect(failed['hash']).toBe(applied['hash']);
    expect(failed['reloads']).toMatchObject({ succeeded: 1, failed: 1 });
    expect(typeof (failed['reloads'] as Json)['lastFailedAt']).toBe('string');
  });

  it('is served on the admin listener only: 404 on the HTTP check listener', async () => {
    const res = await fetch(`http://127.0.0.1:${String(rolegate.httpPort)}/config`);
    expect(res.status).toBe(404);
    expect(leakedCanaries(await res.text())).toEqual([]);
  });
});

describe('GET /config on a cluster primary', () => {
  const idp = new JwksIssuer({ audience: 'rolegate-test' });
  let serve: RolegateProcess;

  beforeAll(async () => {
    await idp.start();
    const dir = mkdtempSync(join(tmpdir(), 'rolegate-config-dump-'));
    serve = new RolegateProcess(
      {
        ...canaryConfig(dir, { issuer: idp.issuer }),
        server: { workers: 2, shutdownDelaySeconds: 0, drainSeconds: 1 },
      },
      'config-dump-primary',
      { ...CANARY_ENV, ROLEGATE_WORKERS: '2' },
    );
    // The first start compiles src/ to dist/ (as `npm run build` does), then forks two workers.
    await serve.start();
  }, 120_000);

  afterAll(async () => {
    await serve.stop();
    await idp.stop();
  }, 30_000);

  it('shows the generation it validated, the one each worker serves, and no canary', async () => {
    const res = await fetch(`http://127.0.0.1:${serve.adminPort}/config`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const text = await res.text();
    const dump = JSON.parse(text) as Json;
    expect(dump['scope']).toBe('cluster-primary');
    const hash = (dump['generation'] as Json)['hash'];
    expect(hash).toMatch(/^[0-9a-f]{12}$/);
    const workers = dump['workers'] as Json[];
    expect(workers).toHaveLength(2);
    for (const w of workers) expect(w).toMatchObject({ hash, current: true });
    expect(workers.map((w) => typeof w['pid'])).toEqual(['number', 'number']);
    // Key sets live in each worker: the primary shows none.
    expect(dump['keySets']).toBeUndefined();
    expect(leakedCanaries(text)).toEqual([]);
    for (const value of Object.values(CANARY_ENV)) expect(text).not.toContain(value);
  });
});
