/**
 * Identity through the real Envoy: a corpus of hostile tokens (each a 401
 * with its own audit reason, never a crash, never an allow), a Kubernetes
 * service-account token assuming a role through an EKS IRSA trust policy,
 * an mTLS peer authorized by its SPIFFE ID, and an issuer that hangs: cached
 * keys keep serving, an unknown kid is a quick 401, never an Envoy timeout.
 */
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CompactEncrypt, generateKeyPair, SignJWT } from 'jose';
import type { Rolegate } from '../../src/main.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { httpConnectionManager, type JsonObject } from '../harness/envoy-config.js';
import { assertEnvoyImage, EnvoyPeer } from '../harness/envoy.js';
import { JwksIssuer } from '../harness/jwks.js';
import { createTestPki, type TestPki } from '../support/certs.js';
import { captureLogger } from '../support/log-capture.js';
import { startTestRolegate } from '../support/rolegate.js';
import { allowPolicy, webIdentityTrust } from '../support/fixtures.js';

const EKS_ISSUER = 'https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';
const EKS_PREFIX = EKS_ISSUER.replace('https://', '');
const EKS_PROVIDER_ARN = `arn:aws:iam::111122223333:oidc-provider/${EKS_PREFIX}`;
const BILLING = 'spiffe://example.org/ns/orders/sa/billing';

const idp = new JwksIssuer({ audience: 'orders-api' });
const k8s = new JwksIssuer({ audience: 'sts.amazonaws.com' });
/** An issuer whose keys expire after 1 s, so the hanging-issuer case needs no long wait. */
const hanging = new JwksIssuer({ audience: 'orders-api' });
const upstream = new EchoUpstream();
const audit = captureLogger();
const ops = captureLogger('warn');
let pki: TestPki;
let rolegate: Rolegate;
let envoy: EnvoyPeer;
let mtlsEnvoy: EnvoyPeer;

const allowAll = allowPolicy('orders:*');

function config() {
  return {
    mtls: { enabled: true, trustDomains: ['example.org'] },
    unmatchedRoutes: 'default',
    issuers: [
      { issuer: idp.issuer, audiences: ['orders-api'], keys: { cooldownSeconds: 1 } },
      {
        issuer: hanging.issuer,
        audiences: ['orders-api'],
        keys: { maxAgeSeconds: 1, cooldownSeconds: 1, maxWaitMs: 250 },
      },
      {
        issuer: EKS_ISSUER,
        audiences: ['sts.amazonaws.com'],
        jwksUri: k8s.jwksUri,
        federatedPrincipals: [EKS_PROVIDER_ARN],
      },
    ],
    roles: [
      {
        name: 'reader',
        trustPolicy: webIdentityTrust(idp.issuer),
        policies: { all: allowAll },
      },
      {
        name: 'hanging-reader',
        trustPolicy: webIdentityTrust(hanging.issuer),
        policies: { all: allowAll },
      },
      {
        // An EKS IRSA trust policy exactly as AWS documents it: the file of docs/eks.md.
        name: 'billing-irsa',
        arn: 'arn:aws:iam::111122223333:role/billing-irsa',
        trustPolicy: JSON.parse(
          readFileSync(
            new URL('../../examples/eks/billing-irsa-trust-policy.json', import.meta.url),
            'utf8',
          ),
        ) as unknown,
        policies: { all: allowAll },
      },
      {
        name: 'billing-peer',
        trustPolicy: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Spiffe: BILLING }, Action: 'sts:AssumeRole' },
          ],
        },
        policies: { all: allowAll },
      },
    ],
    routes: [
      {
        method: '*',
        path: '/orders/{id}',
        action: 'orders:GetOrder',
        resource: 'arn:rolegate:orders:::order/{id}',
      },
    ],
  };
}

/** Serviceaccount token claims as a projected token carries them. */
function serviceAccountClaims(namespace: string, name: string) {
  return {
    'kubernetes.io': {
      namespace,
      pod: { name: `${name}-7d9f8c-x2x9k`, uid: '5e2b3a44-0000-4000-8000-000000000001' },
      serviceaccount: { name, uid: '5e2b3a44-0000-4000-8000-000000000002' },
    },
  };
}

async function call(path: string, token?: string, headers: Record<string, string> = {}) {
  const h = { ...headers, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) };
  const res = await fetch(envoy.url(path), { headers: h });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

const reasonOf = (decisionId: string | null | undefined) => audit.auditFor(decisionId)?.['reason'];

function mtlsCall(
  client: { cert: string; key: string } | undefined,
): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: mtlsEnvoy.listenerPort,
        path: '/orders/1',
        ca: pki.ca.cert,
        ...(client ?? {}),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function requireClientCertificates(cfg: JsonObject): void {
  const listeners = (cfg['static_resources'] as JsonObject)['listeners'] as JsonObject[];
  const chain = (listeners[0]!['filter_chains'] as JsonObject[])[0]!;
  chain['transport_socket'] = {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      require_client_certificate: true,
      common_tls_context: {
        tls_certificates: [
          {
            certificate_chain: { inline_string: pki.server.cert },
            private_key: { inline_string: pki.server.key },
          },
        ],
        validation_context: { trusted_ca: { inline_string: pki.ca.cert } },
      },
    },
  };
}

beforeAll(async () => {
  await assertEnvoyImage();
  pki = createTestPki();
  await Promise.all([idp.start(), k8s.start(), hanging.start(), upstream.start()]);
  ({ rolegate } = await startTestRolegate(config(), { ops, audit }));
  envoy = new EnvoyPeer({
    rolegatePort: rolegate.grpcPort,
    upstreamPort: upstream.port,
    // Let a 100 KB token reach rolegate, which must refuse it itself.
    mutate: (cfg) => {
      httpConnectionManager(cfg)['max_request_headers_kb'] = 160;
    },
  });
  mtlsEnvoy = new EnvoyPeer({
    rolegatePort: rolegate.grpcPort,
    upstreamPort: upstream.port,
    mutate: requireClientCertificates,
  });
  await Promise.all([envoy.start(), mtlsEnvoy.start()]);
  await Promise.all([envoy.waitForCluster('rolegate'), mtlsEnvoy.waitForCluster('rolegate')]);
}, 180_000);

afterAll(async () => {
  await Promise.all([envoy?.stop(), mtlsEnvoy?.stop()]);
  await rolegate?.stop();
  await Promise.all([idp.stop(), k8s.stop(), hanging.stop(), upstream.stop()]);
});

describe('hostile tokens through the real Envoy', () => {
  const sub = { subject: 'alice' };
  const now = () => Math.floor(Date.now() / 1000);
  const corpus: [string, () => Promise<string>, string][] = [
    [
      'alg none',
      async () => {
        const [, payload] = (await idp.mint({}, sub)).split('.');
        return `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
      },
      'ERR_TOKEN_ALG',
    ],
    [
      'HS256 signed with the public key',
      async () => {
        const secret = new TextEncoder().encode(JSON.stringify(idp.jwks().keys[0]));
        return new SignJWT({})
          .setProtectedHeader({ alg: 'HS256', kid: idp.kid })
          .setIssuer(idp.issuer)
          .setAudience('orders-api')
          .setSubject('alice')
          .setExpirationTime('5m')
          .sign(secret);
      },
      'ERR_TOKEN_ALG',
    ],
    ['an unknown kid', () => idp.mint({}, { ...sub, kid: 'no-such-key' }), 'ERR_TOKEN_KID_UNKNOWN'],
    [
      'a kid with path characters',
      () => idp.mint({}, { ...sub, kid: '../../../etc/passwd' }),
      'ERR_TOKEN_KID_INVALID',
    ],
    [
      'an expired token',
      () => idp.mint({}, { ...sub, issuedAt: now() - 3600, expiresIn: -1800 }),
      'ERR_TOKEN_EXPIRED',
    ],
    [
      'nbf in the future',
      () => idp.mint({}, { ...sub, notBefore: now() + 3600 }),
      'ERR_TOKEN_NOT_YET_VALID',
    ],
    [
      'an iat in the future',
      () => idp.mint({}, { ...sub, issuedAt: now() + 3600, expiresIn: 7200 }),
      'ERR_TOKEN_ISSUED_IN_FUTURE',
    ],
    [
      'a token living 7 days (default maximum 24 h)',
      () => idp.mint({}, { ...sub, issuedAt: now(), expiresIn: 7 * 86_400 }),
      'ERR_TOKEN_LIFETIME',
    ],
    [
      'a token without iat valid for 2 days',
      () => idp.mint({}, { ...sub, issuedAt: null, expiresIn: 2 * 86_400 }),
      'ERR_TOKEN_LIFETIME',
    ],
    [
      'a wrong issuer',
      () => idp.mint({}, { ...sub, issuer: 'https://evil.example.com' }),
      'ERR_TOKEN_ISSUER_UNKNOWN',
    ],
    [
      'a wrong audience',
      () => idp.mint({}, { ...sub, audience: 'someone-else' }),
      'ERR_TOKEN_AUDIENCE',
    ],
    [
      'a truncated token',
      async () => (await idp.mint({}, sub)).split('.').slice(0, 2).join('.').slice(0, -7),
      'ERR_TOKEN_MALFORMED',
    ],
    [
      'a 100 KB token',
      async () => await idp.mint({ pad: 'x'.repeat(100_000) }, sub),
      'ERR_TOKEN_TOO_LARGE',
    ],
    [
      'a non-JSON header',
      async () => {
        const [, payload, sig] = (await idp.mint({}, sub)).split('.');
        return `${Buffer.from('not json at all').toString('base64url')}.${payload}.${sig}`;
      },
      'ERR_TOKEN_MALFORMED',
    ],
    [
      'a JWE where a JWS is expected',
      async () => {
        const { publicKey } = await generateKeyPair('RSA-OAEP-256');
        return new CompactEncrypt(
          new TextEncoder().encode(JSON.stringify({ iss: idp.issuer, sub: 'alice' })),
        )
          .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM' })
          .encrypt(publicKey);
      },
      'ERR_TOKEN_ENCRYPTED',
    ],
  ];

  it.each(corpus)('refuses %s with 401 and its own reason', async (_name, make, reason) => {
    upstream.clear();
    const res = await call('/orders/1', await make());
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(reasonOf(res.headers.get('x-rolegate-decision-id'))).toBe(reason);
    expect(upstream.requestsTo('/orders/1')).toHaveLength(0);
  });

  it('is still serving after the corpus, and a good token still passes', async () => {
    const res = await call('/orders/1', await idp.mint({}, { subject: 'alice' }));
    expect(res.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${rolegate.adminPort}/readyz`)).status).toBe(200);
  });
});

describe('Kubernetes service-account tokens', () => {
  const saToken = (ns: string, name: string) =>
    k8s.mint(serviceAccountClaims(ns, name), {
      issuer: EKS_ISSUER,
      subject: `system:serviceaccount:${ns}:${name}`,
      audience: ['sts.amazonaws.com'],
    });

  it('assume a role through an unchanged EKS IRSA trust policy', async () => {
    upstream.clear();
    const res = await call('/orders/2', await saToken('orders', 'billing'), {
      'x-rolegate-role': 'billing-irsa',
    });
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/2');
    expect(seen?.headers['x-rolegate-role']).toBe('arn:aws:iam::111122223333:role/billing-irsa');
    expect(seen?.headers['x-rolegate-principal']).toBe('system:serviceaccount:orders:billing');
  });

  it('do not assume it for another service account', async () => {
    const res = await call('/orders/2', await saToken('orders', 'frontend'), {
      'x-rolegate-role': 'billing-irsa',
    });
    expect(res.status).toBe(403);
    expect(reasonOf(res.headers.get('x-rolegate-decision-id'))).toBe('ERR_ROLE_NOT_ASSUMABLE');
  });
});

describe('mTLS peers', () => {
  it('authorizes a peer by its SPIFFE ID when no token is sent', async () => {
    upstream.clear();
    const res = await mtlsCall(pki.client(BILLING));
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/1');
    expect(seen?.headers['x-rolegate-principal']).toBe(BILLING);
    expect(seen?.headers['x-rolegate-role']).toBe('arn:rolegate:iam:::role/billing-peer');
  });

  it('denies a peer no trust policy names', async () => {
    const res = await mtlsCall(pki.client('spiffe://example.org/ns/other/sa/intruder'));
    expect(res.status).toBe(403);
    expect(reasonOf(String(res.headers['x-rolegate-decision-id']))).toBe('ERR_NO_ROLE');
  });

  it('denies a peer from a foreign trust domain as unauthenticated', async () => {
    const res = await mtlsCall(pki.client('spiffe://evil.example/ns/orders/sa/billing'));
    expect(res.status).toBe(401);
  });
});

describe('a hanging issuer through the real Envoy', () => {
  const timedCall = async (token: string) => {
    const start = performance.now();
    const res = await call('/orders/7', token);
    return { ...res, ms: performance.now() - start };
  };
  const mint = (opts: Parameters<JwksIssuer['mint']>[1] = {}) =>
    hanging.mint({}, { subject: 'carol', ...opts });

  it('serves new tokens with cached keys quickly and refuses an unknown kid with a quick 401', async () => {
    expect((await call('/orders/7', await mint())).status).toBe(200); // keys cached
    hanging.stall(Number.POSITIVE_INFINITY); // accepts connections, never answers
    await new Promise((r) => setTimeout(r, 1200)); // the keys' maxAge (1 s) passes
    const before = hanging.requestCount('/jwks.json');
    upstream.clear();

    // A token never seen before (so not in the token cache), signed with a cached key.
    const known = await timedCall(await mint({ subject: 'carol-2' }));
    expect(known.status).toBe(200);
    expect(known.ms).toBeLessThan(500);
    expect(upstream.requestsTo('/orders/7')).toHaveLength(1);
    // The refresh it started is now hanging on the issuer.
    const deadline = Date.now() + 2000;
    while (hanging.requestCount('/jwks.json') === before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(hanging.requestCount('/jwks.json')).toBe(before + 1);

    const unknown = await timedCall(await mint({ kid: 'rotated-away' }));
    expect(unknown.status).toBe(401); // rolegate answered: not Envoy's 403 on timeout, no 5xx
    expect(reasonOf(unknown.headers.get('x-rolegate-decision-id'))).toBe('ERR_JWKS_UNAVAILABLE');
    expect(unknown.ms).toBeGreaterThanOrEqual(240); // it did wait for the fetch, up to maxWaitMs
    expect(unknown.ms).toBeLessThan(800); // well under Envoy's 1 s ext_authz timeout

    const again = await timedCall(await mint({ subject: 'carol-3' }));
    expect(again.status).toBe(200);
    expect(again.ms).toBeLessThan(500);
    // One hanging refresh shared by all: no request piled up on the issuer.
    expect(hanging.requestCount('/jwks.json')).toBe(before + 1);
    expect(upstream.requestsTo('/orders/7')).toHaveLength(2);
    console.log(
      `hanging issuer through Envoy: cached-key token ${known.ms.toFixed(0)} ms and ` +
        `${again.ms.toFixed(0)} ms (200), unknown kid ${unknown.ms.toFixed(0)} ms (401)`,
    );
  });

  it('publishes the token cache size and bounds on /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${rolegate.adminPort}/metrics`)).text();
    const value = (series: string) =>
      Number(new RegExp(`^${series} (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    expect(value('rolegate_cache_entries\\{cache="tokens"\\}')).toBeGreaterThan(0);
    expect(value('rolegate_cache_bytes\\{cache="tokens"\\}')).toBeGreaterThan(0);
    expect(value('rolegate_cache_bytes\\{cache="tokens"\\}')).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect(value('rolegate_cache_evictions_total\\{cache="tokens"\\}')).toBe(0);
  });
});
