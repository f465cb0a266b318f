import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { SIGNATURE_HEADER } from '../../../src/access/webhooks.js';
import { credentialHeaderNames, type AwsConfig } from '../../../src/aws/config.js';
import type { CheckOutcome } from '../../../src/decision/outcome.js';
import { headersSchema } from '../../../src/request/options.js';
import { allowHeaders } from '../../../src/response/check-response.js';
import {
  isOwnedHeader,
  ownedHeaderNames,
  ownedHeaders,
  OWNED_HEADER_PREFIX,
  WEBHOOK_HEADERS,
  type OwnedHeaderConfig,
} from '../../../src/response/owned-headers.js';

/** The `headers` section as validation leaves it, with `over` on top. */
function config(over: Record<string, unknown> = {}): OwnedHeaderConfig {
  return { headers: headersSchema.parse(over) };
}

const DEFAULT_CREDENTIALS = credentialHeaderNames(undefined);

describe('ownedHeaders', () => {
  it('lists, for the defaults, identity, grant, STS credential, method-override and webhook headers', () => {
    expect(ownedHeaders(config(), DEFAULT_CREDENTIALS)).toEqual([
      { name: 'x-rolegate-principal', kind: 'identity', written: true },
      { name: 'x-rolegate-role', kind: 'identity', written: true },
      { name: 'x-rolegate-decision-id', kind: 'identity', written: true },
      { name: 'x-rolegate-grant-id', kind: 'grant', written: true },
      { name: 'x-rolegate-grant-expires', kind: 'grant', written: true },
      { name: 'x-rolegate-aws-access-key-id', kind: 'credential', written: true },
      { name: 'x-rolegate-aws-secret-access-key', kind: 'credential', written: true },
      { name: 'x-rolegate-aws-session-token', kind: 'credential', written: true },
      { name: 'x-rolegate-aws-expiration', kind: 'credential', written: true },
      // The default requested-role header is the role header: listed once, as identity.
      { name: 'x-http-method-override', kind: 'stripped', written: false },
      { name: 'x-http-method', kind: 'stripped', written: false },
      { name: 'x-method-override', kind: 'stripped', written: false },
      { name: 'x-rolegate-event', kind: 'webhook', written: false },
      { name: 'x-rolegate-signature', kind: 'webhook', written: false },
    ]);
  });

  it('adds the configured claim headers, requested-role header and stripped headers', () => {
    const list = ownedHeaders(
      config({
        requestedRole: 'X-Want-Role',
        claims: { 'x-user-email': 'email', 'x-team': 'org.team' },
        stripInbound: ['x-debug'],
      }),
      DEFAULT_CREDENTIALS,
    );
    expect(list.filter((h) => h.kind !== 'identity' && h.kind !== 'grant')).toEqual([
      ...DEFAULT_CREDENTIALS.map((name) => ({ name, kind: 'credential', written: true })),
      { name: 'x-user-email', kind: 'claim', written: true },
      { name: 'x-team', kind: 'claim', written: true },
      { name: 'x-want-role', kind: 'requested-role', written: false },
      { name: 'x-debug', kind: 'stripped', written: false },
      { name: 'x-rolegate-event', kind: 'webhook', written: false },
      { name: 'x-rolegate-signature', kind: 'webhook', written: false },
    ]);
  });

  it('takes configured STS credential header names as credentialHeaderNames gives them', () => {
    const aws = {
      sts: {
        headers: {
          accessKeyId: 'x-aws-key',
          secretAccessKey: 'x-aws-secret',
          sessionToken: 'x-aws-token',
          expiration: 'x-aws-exp',
        },
      },
    } as unknown as AwsConfig;
    const names = ownedHeaders(config(), credentialHeaderNames(aws))
      .filter((h) => h.kind === 'credential')
      .map((h) => h.name);
    // The defaults stay owned: a client must not smuggle them past a config change.
    expect(names).toEqual([
      ...DEFAULT_CREDENTIALS,
      'x-aws-key',
      'x-aws-secret',
      'x-aws-token',
      'x-aws-exp',
    ]);
  });

  it('lists a name once, under its first kind', () => {
    const list = ownedHeaders(
      config({
        claims: { 'x-rolegate-principal': 'sub', 'x-http-method': 'm' },
        stripInbound: ['x-http-method'],
      }),
      [...DEFAULT_CREDENTIALS, 'x-rolegate-role'],
    );
    const names = list.map((h) => h.name);
    expect(new Set(names).size).toBe(names.length);
    expect(list.find((h) => h.name === 'x-rolegate-principal')?.kind).toBe('identity');
    expect(list.find((h) => h.name === 'x-http-method')).toEqual({
      name: 'x-http-method',
      kind: 'claim',
      written: true,
    });
  });
});

describe('ownedHeaderNames and isOwnedHeader', () => {
  it('returns the same set for the same configuration, another when an input changes', () => {
    const c = config({ claims: { 'x-user-email': 'email' } });
    const names = ownedHeaderNames(c, DEFAULT_CREDENTIALS);
    expect(ownedHeaderNames({ headers: { ...c.headers } }, DEFAULT_CREDENTIALS)).toBe(names);
    const other = ownedHeaderNames(c, [...DEFAULT_CREDENTIALS, 'x-aws-key']);
    expect(other).not.toBe(names);
    expect(other.has('x-aws-key')).toBe(true);
  });

  it.each([
    ['x-rolegate-anything', true],
    ['x-user-email', true],
    ['x-http-method-override', true],
    ['x-rolegate-aws-session-token', true],
    ['accept', false],
    ['x-user', false],
  ])('%s owned: %s', (name, owned) => {
    const names = ownedHeaderNames(
      config({ claims: { 'x-user-email': 'email' } }),
      DEFAULT_CREDENTIALS,
    );
    expect(isOwnedHeader(name, names)).toBe(owned);
    expect(name.startsWith(OWNED_HEADER_PREFIX) || names.has(name)).toBe(owned);
  });
});

describe('allowHeaders removes exactly the owned headers it does not set', () => {
  const outcome = {
    decisionId: 'd-1',
    allowed: true,
    status: 200,
    reason: 'OK',
    upstreamHeaders: new Map([
      ['x-rolegate-principal', 'alice'],
      ['x-rolegate-role', 'arn:rolegate:iam:::role/reader'],
      ['x-rolegate-decision-id', 'd-1'],
    ]),
  } as unknown as CheckOutcome;

  it('forges every owned header: the ones not set are removed, the rest overwritten', () => {
    const c = config({ requestedRole: 'x-want-role', claims: { 'x-user-email': 'email' } });
    const list = ownedHeaders(c, DEFAULT_CREDENTIALS);
    const inbound = Object.fromEntries([...list.map((h) => [h.name, 'forged']), ['accept', '*/*']]);
    const { injected, remove } = allowHeaders(outcome, inbound, {
      claimHeaders: c.headers.claims,
      requestedRoleHeader: c.headers.requestedRole,
      ownedHeaders: DEFAULT_CREDENTIALS,
      stripInbound: c.headers.stripInbound,
    });
    expect([...injected.keys(), ...remove].sort()).toEqual(list.map((h) => h.name).sort());
    expect(remove).not.toContain('accept');
  });
});

describe('webhook headers', () => {
  it('are the headers webhook deliveries carry, owned so no client copy passes as rolegate’s', () => {
    const source = readFileSync(
      new URL('../../../src/access/webhooks.ts', import.meta.url),
      'utf8',
    );
    expect(SIGNATURE_HEADER).toBe('x-rolegate-signature');
    expect(source).toContain("'x-rolegate-event': e.type");
    expect([...WEBHOOK_HEADERS].sort()).toEqual(['x-rolegate-event', SIGNATURE_HEADER].sort());
  });
});
