import { describe, expect, it } from '@jest/globals';
import {
  createStsBroker,
  REFRESH_BEFORE_EXPIRY_MS,
  sessionNameFor,
  sessionTagsFor,
  trustsIssuer,
  type StsCalls,
} from '../../../src/aws/sts-broker.js';
import { RolegateError } from '../../../src/errors.js';
import type { Principal } from '../../../src/identity/principal.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const ROLE = 'arn:aws:iam::123456789012:role/app';
const PROVIDER = 'arn:aws:iam::123456789012:oidc-provider/idp.example.com';

const principal = (subject = 'alice', claims: Record<string, unknown> = {}): Principal => ({
  kind: 'jwt',
  issuer: 'https://idp.example.com',
  subject,
  claims: { sub: subject, ...claims },
  federated: [],
});

/** Our own StsCalls double: counts calls, answers after `release()`. */
function fakeSts(lifetimeMs = 3600_000, now = () => T0) {
  const seen: { api: string; input: Record<string, unknown> }[] = [];
  let fail = false;
  const waiting: (() => void)[] = [];
  let hold = false;
  const answer = async (api: string, input: Record<string, unknown>) => {
    seen.push({ api, input });
    if (hold) await new Promise<void>((r) => waiting.push(r));
    if (fail) throw Object.assign(new Error('AccessDenied: nope'), { name: 'AccessDenied' });
    return {
      AccessKeyId: `ASIA${seen.length}`,
      SecretAccessKey: 'secret',
      SessionToken: 'session',
      Expiration: new Date(now() + lifetimeMs),
    };
  };
  const calls: StsCalls = {
    assumeRole: (input) => answer('AssumeRole', input),
    assumeRoleWithWebIdentity: (input) => answer('AssumeRoleWithWebIdentity', input),
  };
  return {
    calls,
    seen,
    failNext(v: boolean) {
      fail = v;
    },
    hold() {
      hold = true;
    },
    release() {
      hold = false;
      for (const w of waiting.splice(0)) w();
    },
  };
}

const settings = {
  durationSeconds: 3600,
  sessionTags: { team: 'team', groups: 'groups' },
  webIdentity: 'auto' as const,
  cacheEntries: 2,
};

describe('session names', () => {
  it('cleans subjects to the AWS character set and 2..64 characters', () => {
    expect(sessionNameFor('alice@example.com')).toBe('alice@example.com');
    expect(sessionNameFor('auth0|abc def/ghi')).toBe('auth0_abc_def_ghi');
    expect(sessionNameFor('a')).toBe('a_');
    expect(sessionNameFor('aws:me')).toBe('aws_me');
    const long = 'x'.repeat(100);
    const name = sessionNameFor(long);
    expect(name).toHaveLength(64);
    expect(name).toMatch(/^[\w+=,.@-]+$/);
    expect(sessionNameFor(`${long}y`)).not.toBe(name);
  });

  it('maps claims to session tags with STS-safe values', () => {
    const tags = sessionTagsFor(principal('a', { team: 'a,b<c>', groups: ['x', 'y'] }), {
      team: 'team',
      groups: 'groups',
      missing: 'nope',
    });
    expect(tags).toEqual([
      { Key: 'team', Value: 'a_b_c_' },
      { Key: 'groups', Value: 'x:y' },
    ]);
  });

  it('recognises the issuer among the trusted OIDC providers', () => {
    expect(trustsIssuer([PROVIDER], 'https://idp.example.com')).toBe(true);
    expect(trustsIssuer([PROVIDER], 'https://idp.example.com/')).toBe(true);
    expect(trustsIssuer([PROVIDER], 'https://evil.example.com')).toBe(false);
    expect(trustsIssuer(['https://idp.example.com'], 'https://idp.example.com')).toBe(false);
  });
});

describe('createStsBroker', () => {
  it('uses AssumeRole with session name, source identity, tags and duration', async () => {
    const sts = fakeSts();
    const broker = createStsBroker({ calls: sts.calls, settings, now: () => T0 });
    const creds = await broker.credentials({
      roleArn: ROLE,
      principal: principal('alice', { team: 'orders' }),
      token: 'a.b.c',
    });
    expect(creds).toMatchObject({ accessKeyId: 'ASIA1', expiration: T0 + 3600_000 });
    expect(sts.seen).toEqual([
      {
        api: 'AssumeRole',
        input: {
          RoleArn: ROLE,
          RoleSessionName: 'alice',
          SourceIdentity: 'alice',
          DurationSeconds: 3600,
          Tags: [{ Key: 'team', Value: 'orders' }],
        },
      },
    ]);
  });

  it('uses AssumeRoleWithWebIdentity when the IAM role trusts the issuer', async () => {
    const sts = fakeSts();
    const broker = createStsBroker({ calls: sts.calls, settings, now: () => T0 });
    await broker.credentials({
      roleArn: ROLE,
      principal: principal(),
      token: 'a.b.c',
      webIdentityProviders: [PROVIDER],
    });
    expect(sts.seen[0]).toEqual({
      api: 'AssumeRoleWithWebIdentity',
      input: {
        RoleArn: ROLE,
        RoleSessionName: 'alice',
        WebIdentityToken: 'a.b.c',
        DurationSeconds: 3600,
      },
    });
    // `never` turns web identity off.
    const never = createStsBroker({
      calls: sts.calls,
      settings: { ...settings, webIdentity: 'never' },
      now: () => T0,
    });
    await never.credentials({
      roleArn: ROLE,
      principal: principal(),
      token: 'a.b.c',
      webIdentityProviders: [PROVIDER],
    });
    expect(sts.seen[1]?.api).toBe('AssumeRole');
  });

  it('caches per role and subject until five minutes before expiry', async () => {
    let now = T0;
    const sts = fakeSts(3600_000, () => now);
    const broker = createStsBroker({ calls: sts.calls, settings, now: () => now });
    const first = await broker.credentials({ roleArn: ROLE, principal: principal() });
    now = T0 + 3600_000 - REFRESH_BEFORE_EXPIRY_MS - 1;
    expect(await broker.credentials({ roleArn: ROLE, principal: principal() })).toBe(first);
    await broker.credentials({ roleArn: ROLE, principal: principal('bob') });
    expect(sts.seen).toHaveLength(2);
    now = T0 + 3600_000 - REFRESH_BEFORE_EXPIRY_MS;
    const renewed = await broker.credentials({ roleArn: ROLE, principal: principal() });
    expect(renewed).not.toBe(first);
    expect(sts.seen).toHaveLength(3);
  });

  it('makes one STS call per key however many requests wait for it', async () => {
    const sts = fakeSts();
    const broker = createStsBroker({ calls: sts.calls, settings, now: () => T0 });
    sts.hold();
    const waiting = Array.from({ length: 20 }, () =>
      broker.credentials({ roleArn: ROLE, principal: principal() }),
    );
    await new Promise((r) => setImmediate(r));
    expect(sts.seen).toHaveLength(1);
    sts.release();
    const all = await Promise.all(waiting);
    expect(new Set(all.map((c) => c.accessKeyId))).toEqual(new Set(['ASIA1']));
  });

  it('bounds the cache (least recently used goes first)', async () => {
    const sts = fakeSts();
    const broker = createStsBroker({ calls: sts.calls, settings, now: () => T0 });
    for (const s of ['a1', 'b1', 'a1', 'c1']) {
      await broker.credentials({ roleArn: ROLE, principal: principal(s) });
    }
    expect(broker.size()).toBe(2);
    expect(sts.seen).toHaveLength(3);
    await broker.credentials({ roleArn: ROLE, principal: principal('a1') });
    expect(sts.seen).toHaveLength(3);
    await broker.credentials({ roleArn: ROLE, principal: principal('b1') });
    expect(sts.seen).toHaveLength(4);
  });

  it('bounds the cache by estimated bytes too, counting evictions', async () => {
    const probe = createStsBroker({ calls: fakeSts().calls, settings, now: () => T0 });
    await probe.credentials({ roleArn: ROLE, principal: principal('z1') });
    // Room for two credential sets, not three.
    const maxBytes = Math.floor(probe.cache.bytes * 2.5);
    const sts = fakeSts();
    let evictions = 0;
    const broker = createStsBroker({
      calls: sts.calls,
      settings: { ...settings, cacheEntries: 100, cacheMaxBytes: maxBytes },
      now: () => T0,
      cacheHooks: { onEvict: () => evictions++ },
    });
    for (const s of ['a1', 'b1', 'c1', 'd1']) {
      await broker.credentials({ roleArn: ROLE, principal: principal(s) });
      expect(broker.cache.bytes).toBeLessThanOrEqual(maxBytes);
    }
    expect([broker.size(), evictions]).toEqual([2, 2]);
    await broker.credentials({ roleArn: ROLE, principal: principal('a1') }); // evicted: a new call
    expect(sts.seen).toHaveLength(5);
  });

  it('rejects with ERR_STS_FAILED, shares the failure, and does not cache it', async () => {
    const sts = fakeSts();
    const broker = createStsBroker({ calls: sts.calls, settings, now: () => T0 });
    sts.failNext(true);
    const err = await broker.credentials({ roleArn: ROLE, principal: principal() }).catch((e) => e);
    expect(err).toBeInstanceOf(RolegateError);
    expect((err as RolegateError).code).toBe('ERR_STS_FAILED');
    sts.failNext(false);
    await broker.credentials({ roleArn: ROLE, principal: principal() });
    expect(sts.seen).toHaveLength(2);
  });
});
