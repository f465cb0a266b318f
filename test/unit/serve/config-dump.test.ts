import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import type { IamRole } from '../../../src/aws/merge.js';
import { loadConfig } from '../../../src/config/load.js';
import type { LoadedConfig } from '../../../src/config/compile.js';
import { createJwtVerifier } from '../../../src/identity/jwt.js';
import { issuerSchema } from '../../../src/identity/options.js';
import { configDump, redactUrl, type ConfigDump } from '../../../src/serve/config-dump.js';
import { observeKeySets } from '../../../src/serve/key-sets.js';
import { JwksIssuer } from '../../harness/jwks.js';
import {
  CANARIES,
  CANARY_ENV,
  canaryConfig,
  CREDENTIAL_URL_ISSUER,
  FILE_ISSUER,
  FILE_KIDS,
  leakedCanaries,
} from '../../support/config-canaries.js';

const NOW = Date.parse('2026-12-07T10:00:00.000Z');
const IDP = 'https://idp.example.invalid';

/** Loads the canary config from a fresh temp dir, its environment set. */
function loadCanaryConfig(
  dir = mkdtempSync(join(tmpdir(), 'rolegate-config-dump-')),
): LoadedConfig {
  const file = join(dir, 'rolegate.yaml');
  writeFileSync(file, stringify(canaryConfig(dir, { issuer: IDP })));
  return loadConfig(file);
}

function dumpOf(loaded: LoadedConfig, extra: Partial<Parameters<typeof configDump>[0]> = {}) {
  return configDump({
    scope: 'process',
    file: loaded,
    status: {
      hash: loaded.sources?.hash ?? '',
      appliedAt: NOW,
      reloadsSucceeded: 0,
      reloadsFailed: 0,
    },
    keySets: observeKeySets(loaded.issuers, () => NOW).states(),
    now: NOW,
    ...extra,
  });
}

/** A value of the dump by path (test reading only). */
function at(dump: ConfigDump, ...path: (string | number)[]): unknown {
  let v: unknown = dump;
  for (const p of path) v = (v as Record<string | number, unknown> | undefined)?.[p];
  return v;
}

describe('config dump', () => {
  const saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    for (const [name, value] of Object.entries(CANARY_ENV)) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
  });
  afterAll(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('shows no canary of any secret-bearing field, though the generation holds the secrets', () => {
    const loaded = loadCanaryConfig();
    // The generation did resolve the secrets: the dump had them within reach.
    const hmacIssuer = loaded.issuers.find((i) => i.issuer === FILE_ISSUER);
    expect(Buffer.from(hmacIssuer?.hmacSecret ?? []).toString()).toBe(CANARIES.hmacSecretValue);
    expect(JSON.stringify(hmacIssuer?.jwks)).toContain(CANARIES.jwkPrivateExponent);

    const text = JSON.stringify(dumpOf(loaded));
    expect(leakedCanaries(text)).toEqual([]);
    for (const value of Object.values(CANARY_ENV)) expect(text).not.toContain(value);
  });

  it('shows what an operator needs: hash, URLs without credentials, kids, named policies, flags for secrets', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rolegate-config-dump-'));
    const loaded = loadCanaryConfig(dir);
    const dump = dumpOf(loaded);
    expect(dump.scope).toBe('process');
    expect(dump.generatedAt).toBe('2026-12-07T10:00:00.000Z');
    expect(at(dump, 'generation', 'hash')).toMatch(/^[0-9a-f]{12}$/);
    expect(at(dump, 'generation', 'hash')).toBe(loaded.sources?.hash);
    expect(at(dump, 'generation', 'reloads')).toEqual({ succeeded: 0, failed: 0 });

    const issuers = at(dump, 'config', 'issuers') as Record<string, unknown>[];
    expect(issuers.map((i) => i['issuer'])).toEqual([IDP, FILE_ISSUER, CREDENTIAL_URL_ISSUER]);
    expect(issuers.map((i) => i['hmac'])).toEqual([false, true, false]);
    expect(issuers[1]).toMatchObject({
      jwksFile: join(dir, 'keys.json'),
      algorithms: ['RS256', 'HS256'],
    });
    expect(issuers[2]?.['jwksUri']).toBe(
      'https://redacted@keys.example.invalid/jwks.json?redacted',
    );
    expect(issuers[0]?.['keys']).toEqual({
      maxAgeSeconds: 600,
      cooldownSeconds: 30,
      staleSeconds: 3600,
      maxWaitMs: 250,
      maxDocumentBytes: 262_144,
      maxKeys: 100,
    });

    expect(at(dump, 'config', 'roles', 0)).toEqual({
      name: 'reader',
      arn: 'arn:rolegate:iam:::role/reader',
      trustPolicy: { name: 'reader/trust', inline: true },
      policies: [{ name: 'read', inline: true }],
    });
    expect(at(dump, 'config', 'deny')).toEqual({
      body: { format: 'json' },
      headerNames: ['x-help'],
      login: {
        url: 'https://login.example.invalid/start?redacted',
        param: 'return_to',
        allowedHosts: ['app.example.invalid'],
      },
    });
    expect(at(dump, 'config', 'aws', 'endpoint')).toBe('https://redacted@aws.example.invalid/');
    expect(at(dump, 'config', 'access', 'store')).toEqual({
      kind: 'postgres',
      file: 'rolegate-access.db',
      urlEnv: 'ROLEGATE_TEST_CANARY_STORE_URL',
    });
    expect(at(dump, 'config', 'access', 'webhooks', 0)).toMatchObject({
      url: 'https://redacted@hooks.example.invalid/rolegate?redacted',
      format: 'json',
      signed: true,
    });

    expect(dump.keySets).toEqual([
      { issuer: IDP, source: 'fetched', kids: [], keysWithoutKid: 0 },
      { issuer: FILE_ISSUER, source: 'file', kids: [...FILE_KIDS], keysWithoutKid: 0 },
      { issuer: CREDENTIAL_URL_ISSUER, source: 'fetched', kids: [], keysWithoutKid: 0 },
    ]);
    expect(dump.roles).toEqual([
      { name: 'reader', arn: 'arn:rolegate:iam:::role/reader', source: 'file' },
    ]);
    expect(dump.iam).toEqual({ configured: false });
  });

  it('is an allow-list: a field it does not name is not shown, wherever it is added', () => {
    const loaded = loadCanaryConfig();
    const planted = 'canary-field-added-later';
    const settings = loaded.settings as unknown as Record<string, Record<string, unknown>>;
    settings['futureSection'] = { value: planted };
    (settings['server']?.['http'] as Record<string, unknown>)['futureSecret'] = planted;
    (loaded.settings.issuers[0] as unknown as Record<string, unknown>)['futureSecret'] = planted;
    (loaded.settings.access.webhooks[0] as unknown as Record<string, unknown>)['futureSecret'] =
      planted;
    (loaded.settings.access.store as unknown as Record<string, unknown>)['password'] = planted;
    expect(JSON.stringify(dumpOf(loaded))).not.toContain(planted);
  });

  it('names each role by source, the IAM sync, the reload history and what each worker serves', () => {
    const loaded = loadCanaryConfig();
    const fromIam: IamRole = {
      ...(loaded.roles[0] as IamRole),
      name: 'iam-auditor',
      arn: 'arn:aws:iam::123456789012:role/iam-auditor',
      source: 'iam',
      webIdentityProviders: [],
    };
    const hash = loaded.sources?.hash ?? '';
    const dump = dumpOf(loaded, {
      scope: 'cluster-primary',
      status: {
        hash,
        appliedAt: NOW - 60_000,
        reloadsSucceeded: 2,
        reloadsFailed: 1,
        lastFailedAt: NOW - 30_000,
      },
      roles: [...loaded.roles, fromIam],
      lastIamSync: NOW - 5_000,
      workers: [
        { id: 1, pid: 101, hash },
        { id: 3, pid: 103, hash: 'aaaaaaaaaaaa' },
      ],
    });
    expect(dump.generation).toMatchObject({
      hash,
      appliedAt: '2026-12-07T09:59:00.000Z',
      reloads: { succeeded: 2, failed: 1, lastFailedAt: '2026-12-07T09:59:30.000Z' },
    });
    expect(dump.roles.map((r) => [r['name'], r['source']])).toEqual([
      ['reader', 'file'],
      ['iam-auditor', 'iam'],
    ]);
    expect(dump.iam).toEqual({
      configured: false,
      roles: 1,
      lastSyncAt: '2026-12-07T09:59:55.000Z',
    });
    expect(dump.workers).toEqual([
      { id: 1, pid: 101, hash, current: true },
      { id: 3, pid: 103, hash: 'aaaaaaaaaaaa', current: false },
    ]);
  });

  it('redacts URLs: user information and query go, the rest stays', () => {
    expect(redactUrl('https://u:p@idp.example.invalid:8443/a/b?x=1#frag')).toBe(
      'https://redacted@idp.example.invalid:8443/a/b?redacted',
    );
    expect(redactUrl('https://u@idp.example.invalid/')).toBe(
      'https://redacted@idp.example.invalid/',
    );
    expect(redactUrl('https://idp.example.invalid/keys')).toBe('https://idp.example.invalid/keys');
    // Nothing to redact: shown exactly as written (an issuer must match `iss` to the character).
    expect(redactUrl('https://idp.example.invalid')).toBe('https://idp.example.invalid');
    expect(redactUrl('not a url with secret')).toBe('redacted');
  });
});

describe('key sets', () => {
  const issuer = new JwksIssuer({ audience: 'rolegate-test' });
  beforeAll(() => issuer.start());
  afterAll(() => issuer.stop());
  afterEach(() => issuer.failWith(undefined));

  it('shows the kids in use, the last success and failure, and when the next refresh is due', async () => {
    let clock = NOW;
    const now = () => clock;
    const config = issuerSchema.parse({
      issuer: issuer.issuer,
      audiences: ['rolegate-test'],
      keys: { maxAgeSeconds: 60, cooldownSeconds: 30, staleSeconds: 600 },
    });
    const observer = observeKeySets([config], now);
    const verifier = createJwtVerifier({
      issuers: [config],
      maxTokenBytes: 16_384,
      cacheEntries: 0,
      prefetchKeys: true,
      now,
      fetchJson: observer.fetchJson,
      onJwksFetch: (iss, result) => observer.fetched(iss, result),
    });
    await verifier.keysPrefetched();
    expect(observer.states()).toEqual([
      {
        issuer: issuer.issuer,
        source: 'fetched',
        kids: [issuer.kid],
        keysWithoutKid: 0,
        lastSuccessAt: NOW,
        nextRefreshAt: NOW + 60_000,
        servableUntil: NOW + 660_000,
      },
    ]);

    // Past the maximum age a check starts a refresh in the background; it fails.
    issuer.failWith(500);
    clock = NOW + 61_000;
    await verifier.verify(await issuer.mint({ sub: 'alice' })).catch(() => undefined);
    for (let i = 0; i < 100 && observer.states()[0]?.lastFailureAt === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(observer.states()[0]).toEqual({
      issuer: issuer.issuer,
      source: 'fetched',
      kids: [issuer.kid],
      keysWithoutKid: 0,
      lastSuccessAt: NOW,
      lastFailureAt: NOW + 61_000,
      nextRefreshAt: NOW + 91_000,
      servableUntil: NOW + 660_000,
    });
  });
});
