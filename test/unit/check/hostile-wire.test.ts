// The classes of wrong allows found from outside, decided end to end in
// process: raw CheckRequest -> canonical request -> check(). The same cases
// run through the real Envoy in test/e2e/hostile-wire.test.ts.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { check, type Generation } from '../../../src/check/check.js';
import { compileConfig } from '../../../src/config/compile.js';
import { validateConfig } from '../../../src/config/schema.js';
import { ExpiringLru } from '../../../src/cache/expiring-lru.js';
import type { Principal } from '../../../src/identity/principal.js';
import { normalizeCheckRequest } from '../../../src/request/normalize.js';
import type { CheckRequest } from '../../../src/wire/ext-authz.js';
import { LEDGER_ENTRY_ROUTE, treasuryGuardrail, webIdentityTrust } from '../../support/fixtures.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const ISSUER = 'https://idp.example.com';

const raw = {
  issuers: [{ issuer: ISSUER, audiences: ['api'], claimPatterns: { team: '^[a-z]{2,12}$' } }],
  headers: { claims: { 'x-user-email': 'email' } },
  guardrails: { treasury: treasuryGuardrail() },
  roles: [
    {
      name: 'clerk',
      trustPolicy: webIdentityTrust(ISSUER),
      policies: {
        ledger: {
          Version: '2012-10-17',
          Statement: [
            { Sid: 'All', Effect: 'Allow', Action: 'ledger:*', Resource: '*' },
            {
              Sid: 'OwnDocs',
              Effect: 'Allow',
              Action: 'docs:Get',
              Resource: 'arn:rolegate:docs:::doc/${jwt:sub}/*',
            },
            {
              Sid: 'TeamDocs',
              Effect: 'Allow',
              Action: 'docs:List',
              Resource: 'arn:rolegate:docs:::team/${jwt:team}',
            },
          ],
        },
      },
    },
  ],
  routes: [
    { ...LEDGER_ENTRY_ROUTE, method: '*' },
    {
      method: 'GET',
      path: '/docs/{path+}',
      action: 'docs:Get',
      resource: 'arn:rolegate:docs:::doc/{path}',
    },
    {
      method: 'GET',
      path: '/teams/{team}',
      action: 'docs:List',
      resource: 'arn:rolegate:docs:::team/{team}',
    },
  ],
};

function runtime(principal: Principal): Generation {
  const { config, problems } = validateConfig(raw);
  if (!config) throw new Error(JSON.stringify(problems));
  return {
    compiled: compileConfig(config, (ref) => ({
      ref,
      document: ref.document,
      file: 'test.yaml',
      basePath: ref.path,
    })),
    verifier: {
      cache: new ExpiringLru({ maxEntries: 0, maxBytes: 0 }),
      locations: [{ kind: 'bearer' }],
      verify: () => Promise.resolve(principal),
    },
  };
}

const alice = (claims: Record<string, unknown> = {}, sub = 'alice'): Principal => ({
  kind: 'jwt',
  issuer: ISSUER,
  subject: sub,
  claims: { iss: ISSUER, sub, aud: 'api', email: 'alice@example.com', ...claims },
  federated: [ISSUER],
});

function message(method: string, path: string, sourceIp = '10.0.0.1'): CheckRequest {
  return {
    attributes: {
      source: { address: { socket_address: { address: sourceIp, port_value: 1 } }, principal: '' },
      request: {
        http: {
          id: '1',
          method,
          path,
          host: 'api.example.com',
          headers: { authorization: 'Bearer t' },
          header_map: null,
          query: '',
        },
      },
      context_extensions: {},
      tls_session: null,
    },
  } as unknown as CheckRequest;
}

async function decide(method: string, path: string, principal = alice()) {
  return check(normalizeCheckRequest(message(method, path)), {
    generation: () => runtime(principal),
    now: () => NOW,
    newId: () => 'd',
  });
}

describe('percent-encoding and dot segments never walk around a Deny', () => {
  it.each([
    '/accounts/treasury/entries',
    '/accounts/%74reasury/entries',
    '/accounts/%74%72%65%61%73%75%72%79/entries',
    '/accounts/treasury-eu/entries',
    '/x/../accounts/treasury/entries',
    '/accounts/./treasury/entries/',
    '/accounts//treasury//entries',
    '/accounts/junk/%2e%2e/treasury/entries',
  ])('POST %s is denied by the guardrail', async (path) => {
    const outcome = await decide('POST', path);
    expect(outcome.reason).toBe('ERR_EXPLICIT_DENY');
    expect(outcome.route?.resource).toMatch(/^arn:rolegate:ledger:::account\/treasury/);
  });

  it('allows the same write on another account (the Allow is real)', async () => {
    expect((await decide('POST', '/accounts/ops/entries')).reason).toBe('OK');
  });

  it.each([
    ['/%2e%2e/accounts/treasury/entries', 'ERR_PATH_TRAVERSAL', 400],
    ['/accounts/treasury%2Fx/entries', 'ERR_PATH_ENCODED_SEPARATOR', 400],
    ['/accounts/treasury;v=1/entries', 'ERR_PATH_INVALID', 400],
    ['/accounts/%2574reasury/entries', 'ERR_PATH_INVALID', 400],
    // A network-path reference: an upstream URL parser would serve /treasury/entries.
    ['//accounts/treasury/entries', 'ERR_PATH_NETWORK_PATH', 400],
    ['//ops/accounts/treasury/entries', 'ERR_PATH_NETWORK_PATH', 400],
    ['http://api.example.com/accounts/treasury/entries', 'ERR_REQUEST_TARGET_FORM', 400],
    ['*', 'ERR_REQUEST_TARGET_FORM', 400],
  ])('refuses %s with %s', async (path, code, status) => {
    const outcome = await decide('POST', path);
    expect(outcome.reason).toBe(code);
    expect(outcome.status).toBe(status);
    expect(outcome.allowed).toBe(false);
  });

  it('never allows any spelling of a treasury write', async () => {
    const letters = [...'treasury'];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        fc.constantFrom('', '/.', '/x/..', '/', '/%2e', '/y/%2E%2e'),
        fc.boolean(),
        async (encode, detour, trailing) => {
          const account = letters
            .map((c, i) => (encode[i] ? `%${c.charCodeAt(0).toString(16)}` : c))
            .join('');
          const path = `/accounts${detour}/${account}/entries${trailing ? '/' : ''}`;
          const outcome = await decide('POST', path);
          expect(outcome.allowed).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('claim values copied into upstream headers', () => {
  it.each(['alice@example.com\r\nx-rolegate-role: admin', 'a\u0000b', 'a\nb'])(
    'denies with ERR_HEADER_VALUE_INVALID when email is %j',
    async (email) => {
      const outcome = await decide('POST', '/accounts/ops/entries', alice({ email }));
      expect(outcome.allowed).toBe(false);
      expect(outcome.reason).toBe('ERR_HEADER_VALUE_INVALID');
      expect(outcome.status).toBe(403);
      expect(outcome.invalidHeader).toBe('x-user-email');
      expect(outcome.role).toBeUndefined();
    },
  );

  it('allows with the header when the value is clean, and the audit outcome carries it', async () => {
    const outcome = await decide('POST', '/accounts/ops/entries');
    expect(outcome.upstreamHeaders?.get('x-user-email')).toBe('alice@example.com');
  });
});

describe('claims substituted as policy variables', () => {
  it('reads your own documents', async () => {
    expect((await decide('GET', '/docs/alice/cv')).reason).toBe('OK');
  });

  it('refuses a subject with "/" (bob/entry would read under bob/)', async () => {
    const outcome = await decide('GET', '/docs/bob/entry/x', alice({}, 'bob/entry'));
    expect(outcome.reason).toBe('ERR_CLAIM_VARIABLE_UNSAFE');
    expect(outcome.allowed).toBe(false);
  });

  it.each(['*', 'a?', 'b c', '${x}', ''])('refuses the subject %j', async (sub) => {
    const outcome = await decide('GET', '/docs/x/y', alice({}, sub));
    expect(outcome.reason).toBe('ERR_CLAIM_VARIABLE_UNSAFE');
  });

  it("applies the issuer's own pattern for a claim it names", async () => {
    expect((await decide('GET', '/teams/blue', alice({ team: 'blue' }))).reason).toBe('OK');
    expect((await decide('GET', '/teams/Blue', alice({ team: 'Blue' }))).reason).toBe(
      'ERR_CLAIM_VARIABLE_UNSAFE',
    );
  });

  it('refuses a claim with several values where one is substituted', async () => {
    const outcome = await decide('GET', '/teams/blue', alice({ team: ['blue', 'red'] }));
    expect(outcome.reason).toBe('ERR_CLAIM_VARIABLE_UNSAFE');
  });

  it('accepts a Kubernetes service-account subject', async () => {
    const sub = 'system:serviceaccount:ledger:worker';
    const outcome = await decide('GET', `/docs/${sub}/x`, alice({}, sub));
    expect(outcome.reason).toBe('OK');
  });
});
