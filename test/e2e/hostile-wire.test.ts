/**
 * The wrong allows found from outside, through a real Envoy: once with the
 * shipped normalisation settings (envoy/envoy.template.yaml: normalize_path,
 * merge_slashes, REJECT_REQUEST on escaped slashes) and once with all of
 * them off. Either way rolegate never allows what it denies in canonical
 * form; each case asserts the status and what the upstream received.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Rolegate } from '../../src/main.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { httpConnectionManager, route } from '../harness/envoy-config.js';
import { assertEnvoyImage, EnvoyPeer } from '../harness/envoy.js';
import { JwksIssuer } from '../harness/jwks.js';
import {
  allowPolicy,
  LEDGER_ENTRY_ROUTE,
  treasuryGuardrail,
  webIdentityTrust,
} from '../support/fixtures.js';
import { captureLogger } from '../support/log-capture.js';
import { rawRequest } from '../support/raw-http.js';
import { startTestRolegate } from '../support/rolegate.js';

const idp = new JwksIssuer({ audience: 'ledger-api' });
const upstream = new EchoUpstream();
const audit = captureLogger();
const ops = captureLogger('warn');
let rolegate: Rolegate;
const envoys: Record<'shipped' | 'off', EnvoyPeer> = {} as never;
let token: string;

const config = () => ({
  issuers: [{ issuer: idp.issuer, audiences: ['ledger-api'] }],
  headers: { claims: { 'x-user-email': 'email' } },
  guardrails: {
    treasury: treasuryGuardrail({
      Sid: 'IPv6Only',
      Effect: 'Deny',
      Action: 'ledger:Ipv6Thing',
      Resource: '*',
      Condition: { NotIpAddress: { 'aws:SourceIp': '::/0' } },
    }),
  },
  roles: [
    {
      name: 'clerk',
      trustPolicy: webIdentityTrust(idp.issuer),
      policies: {
        clerk: allowPolicy(['ledger:PostEntry', 'ledger:Read', 'ledger:Ipv6Thing']),
      },
    },
  ],
  routes: [
    LEDGER_ENTRY_ROUTE,
    {
      method: 'GET',
      path: '/public/{p+}',
      action: 'ledger:Read',
      resource: 'arn:rolegate:ledger:::public/{p}',
    },
    {
      method: 'GET',
      path: '/v6/thing',
      action: 'ledger:Ipv6Thing',
      resource: 'arn:rolegate:ledger:::thing',
    },
  ],
});

function normalisationOff(envoyConfig: Record<string, unknown>): void {
  const hcm = httpConnectionManager(envoyConfig);
  hcm['normalize_path'] = false;
  hcm['merge_slashes'] = false;
  hcm['path_with_escaped_slashes_action'] = 'KEEP_UNCHANGED';
}

beforeAll(async () => {
  await assertEnvoyImage();
  await Promise.all([idp.start(), upstream.start()]);
  ({ rolegate } = await startTestRolegate(config(), { ops, audit }));
  const common = {
    rolegatePort: rolegate.grpcPort,
    upstreamPort: upstream.port,
    routes: [route({ prefix: '/' })],
  };
  envoys.shipped = new EnvoyPeer(common);
  envoys.off = new EnvoyPeer({ ...common, mutate: normalisationOff });
  await Promise.all([envoys.shipped.start(), envoys.off.start()]);
  token = await idp.mint({ email: 'clerk@example.com' }, { subject: 'clerk' });
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(envoys).map((e) => e.stop()));
  await rolegate?.stop();
  await Promise.all([idp.stop(), upstream.stop()]);
});

async function send(
  which: 'shipped' | 'off',
  method: string,
  path: string,
  headers: Record<string, string> = {},
) {
  upstream.clear();
  const res = await rawRequest(envoys[which].listenerPort, method, path, {
    authorization: `Bearer ${token}`,
    ...headers,
  });
  return { ...res, upstreamSaw: [...upstream.requests] };
}

describe.each(['shipped', 'off'] as const)('through Envoy with normalisation %s', (which) => {
  it.each([
    '/accounts/treasury/entries',
    '/accounts/%74reasury/entries',
    '/accounts/%74%72%65%61%73%75%72%79/entries',
    '/accounts/ops/../treasury/entries',
    '/accounts/ops/%2e%2e/treasury/entries',
    '/accounts/./treasury/entries',
    '/accounts//treasury/entries',
  ])('POST %s is denied and never reaches the upstream', async (path) => {
    const res = await send(which, 'POST', path);
    expect(res.status).toBe(403);
    expect(res.upstreamSaw).toEqual([]);
    const record = audit.auditFor(res.headers['x-rolegate-decision-id'] as string);
    expect(record?.['reason']).toBe('ERR_EXPLICIT_DENY');
    expect(record?.['resource']).toBe('arn:rolegate:ledger:::account/treasury/entries');
    expect(record?.['path']).toBe('/accounts/treasury/entries');
  });

  it('allows a write on another account, and the upstream gets it', async () => {
    const res = await send(which, 'POST', '/accounts/ops/entries');
    expect(res.status).toBe(200);
    expect(res.upstreamSaw.map((r) => r.path)).toEqual(['/accounts/ops/entries']);
  });

  it.each(['/accounts/treasury%2Fx/entries', '/accounts/treasury%2fx/entries'])(
    'refuses an encoded slash (%s) with 400 before the upstream',
    async (path) => {
      const res = await send(which, 'POST', path);
      expect(res.status).toBe(400);
      expect(res.upstreamSaw).toEqual([]);
    },
  );

  // Envoy's normalize_path clamps a leading `..` to the root (RFC 3986), so
  // with it on the request is decided (and denied) as the treasury write;
  // with it off, rolegate sees the `..` and refuses it.
  it.each([
    [
      '/%2e%2e/accounts/treasury/entries',
      { shipped: 'ERR_EXPLICIT_DENY', off: 'ERR_PATH_TRAVERSAL' },
    ],
    ['/accounts/treasury;v=1/entries', { shipped: 'ERR_PATH_INVALID', off: 'ERR_PATH_INVALID' }],
    ['/accounts/%2574reasury/entries', { shipped: 'ERR_PATH_INVALID', off: 'ERR_PATH_INVALID' }],
  ] as const)('never forwards %s', async (path, codes) => {
    const res = await send(which, 'POST', path);
    expect(res.upstreamSaw).toEqual([]);
    const code = codes[which];
    expect(res.status).toBe(code === 'ERR_EXPLICIT_DENY' ? 403 : 400);
    expect(audit.auditFor(res.headers['x-rolegate-decision-id'] as string)?.['reason']).toBe(code);
  });

  it('decides a dot-segment path as its canonical form and forwards only what it allowed', async () => {
    const res = await send(which, 'GET', '/public/docs/../readme');
    expect(res.status).toBe(200);
    expect(res.upstreamSaw).toHaveLength(1);
    // An allow's decision id travels upstream, not back to the client.
    const record = audit.auditFor(res.upstreamSaw[0]?.headers['x-rolegate-decision-id'] as string);
    expect(record?.['resource']).toBe('arn:rolegate:ledger:::public/readme');
  });

  it('strips method-override headers from what the upstream receives', async () => {
    const res = await send(which, 'GET', '/public/readme', {
      'x-http-method-override': 'DELETE',
      'x-method-override': 'DELETE',
      'x-http-method': 'DELETE',
    });
    expect(res.status).toBe(200);
    const headers = res.upstreamSaw[0]?.headers ?? {};
    expect(headers['x-http-method-override']).toBeUndefined();
    expect(headers['x-method-override']).toBeUndefined();
    expect(headers['x-http-method']).toBeUndefined();
  });

  it('keeps IPv4 clients out of an IPv6 block (the Deny on NotIpAddress ::/0 applies)', async () => {
    const res = await send(which, 'GET', '/v6/thing');
    expect(res.status).toBe(403);
    const record = audit.auditFor(res.headers['x-rolegate-decision-id'] as string);
    expect(record?.['source_address']).toBe('127.0.0.1');
    expect(record?.['reason']).toBe('ERR_EXPLICIT_DENY');
  });

  it('records the x-request-id the upstream received', async () => {
    const res = await send(which, 'GET', '/public/readme', { 'x-request-id': 'rid-hostile-1' });
    expect(res.status).toBe(200);
    const seen = res.upstreamSaw[0]?.headers['x-request-id'];
    expect(typeof seen).toBe('string');
    const record = audit.auditFor(res.upstreamSaw[0]?.headers['x-rolegate-decision-id'] as string);
    expect(record?.['request_id']).toBe(seen);
  });
});

describe('claim values that HTTP cannot carry', () => {
  it.each(['clerk@example.com\r\nx-rolegate-role: admin', 'a\u0000b', 'a\nb'])(
    'denies 403 (not an Envoy 503) when email is %j, and the audit says so',
    async (email) => {
      const bad = await idp.mint({ email }, { subject: 'clerk' });
      upstream.clear();
      const res = await rawRequest(envoys.shipped.listenerPort, 'GET', '/public/readme', {
        authorization: `Bearer ${bad}`,
      });
      expect(res.status).toBe(403);
      expect(upstream.requests).toEqual([]);
      const record = audit.auditFor(res.headers['x-rolegate-decision-id'] as string);
      expect(record?.['decision']).toBe('deny');
      expect(record?.['reason']).toBe('ERR_HEADER_VALUE_INVALID');
      expect(record?.['invalid_header']).toBe('x-user-email');
      expect(record?.['role']).toBeUndefined();
      expect(record?.['roles_considered']).toEqual(['clerk']);
      expect(JSON.stringify(record)).not.toContain('admin');
    },
  );
});
