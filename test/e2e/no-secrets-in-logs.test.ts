/**
 * Canary test: tokens, credentials, cookies and secret headers sent through
 * a real Envoy never appear in anything rolegate writes — operational log
 * (at trace level), audit log (every allow sampled), stray stdout/stderr
 * writes, or check spans. Each canary is unique to this run, and a token is
 * also searched for piece by piece (header, payload, signature).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { stringify } from 'yaml';
import { startRolegate, type Rolegate } from '../../src/main.js';
import { createTracing } from '../../src/observe/tracing-sdk.js';
import type { Tracing } from '../../src/observe/tracing.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { assertEnvoyImage, EnvoyPeer } from '../harness/envoy.js';
import { JwksIssuer } from '../harness/jwks.js';
import { captureLogger } from '../support/log-capture.js';
import { allowPolicy, ORDER_ROUTES, webIdentityTrust } from '../support/fixtures.js';

const RUN = randomUUID().replace(/-/g, '');
/** A canary unique to this run; `what` names where it was hidden. */
const canary = (what: string) => `CANARY${what}${RUN}`;

const idp = new JwksIssuer({ audience: 'orders-api' });
const upstream = new EchoUpstream();
const ops = captureLogger('trace');
const audit = captureLogger('trace');
const spans = new InMemorySpanExporter();
let tracing: Tracing;
let envoy: EnvoyPeer;
let rolegate: Rolegate;

/** Everything written to process stdout/stderr while the test runs (stray console output). */
const stray: string[] = [];
const originalWrites = { out: process.stdout.write, err: process.stderr.write };

/** Every string that must never be written, with a name for the failure message. */
const secrets = new Map<string, string>();
function secret(name: string, value: string): string {
  secrets.set(name, value);
  return value;
}
/** Registers a compact JWS and each of its three base64url parts. */
function secretToken(name: string, token: string): string {
  secret(name, token);
  const [header, payload, signature] = token.split('.');
  if (header) secret(`${name} header`, header);
  if (payload) secret(`${name} payload`, payload);
  if (signature) secret(`${name} signature`, signature);
  return token;
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function config() {
  const prefix = idp.issuer.replace('http://', '');
  return {
    issuers: [{ issuer: idp.issuer, audiences: ['orders-api'] }],
    headers: { claims: { 'x-user-email': 'email' } },
    audit: { allowSampleRate: 1 },
    roles: [
      {
        name: 'orders-reader',
        trustPolicy: webIdentityTrust(idp.issuer, {
          StringEquals: { [`${prefix}:aud`]: 'orders-api' },
        }),
        policies: { read: allowPolicy('orders:GetOrder', 'arn:rolegate:orders:::order/*') },
      },
    ],
    routes: ORDER_ROUTES,
  };
}

async function send(
  path: string,
  headers: Record<string, string>,
  method = 'GET',
): Promise<number> {
  const res = await fetch(envoy.url(path), { method, headers });
  await res.arrayBuffer();
  return res.status;
}

beforeAll(async () => {
  await assertEnvoyImage();
  await Promise.all([idp.start(), upstream.start()]);
  const configFile = join(mkdtempSync(join(tmpdir(), 'rolegate-canary-')), 'rolegate.yaml');
  writeFileSync(configFile, stringify(config()));
  tracing = createTracing({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
  const capture = (original: typeof process.stdout.write) =>
    function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      stray.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
      return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof process.stdout.write;
  process.stdout.write = capture(originalWrites.out);
  process.stderr.write = capture(originalWrites.err);
  rolegate = await startRolegate({
    configFile,
    grpcPort: 0,
    adminPort: 0,
    logger: ops.logger,
    auditLogger: audit.logger,
    tracing,
    watch: false,
  });
  envoy = new EnvoyPeer({ rolegatePort: rolegate.grpcPort, upstreamPort: upstream.port });
  await envoy.start();
  await envoy.waitForCluster('rolegate');
}, 120_000);

afterAll(async () => {
  process.stdout.write = originalWrites.out;
  process.stderr.write = originalWrites.err;
  await envoy?.stop();
  await rolegate?.stop().catch(() => undefined);
  await tracing?.shutdown();
  await Promise.all([idp.stop(), upstream.stop()]);
});

describe('no secret reaches a log line', () => {
  it('sends every kind of canary through Envoy and finds none written', async () => {
    const validToken = secretToken(
      'valid token',
      await idp.mint(
        {
          email: `${secret('email claim', canary('EMAIL'))}@example.com`,
          jti: secret('jti claim', canary('JTI')),
          secret_claim: secret('custom claim', canary('CLAIM')),
        },
        { subject: 'canary-user' },
      ),
    );
    // Right issuer and shape, forged signature: fails verification.
    const forged = secretToken(
      'forged token',
      [
        b64url({ alg: 'RS256', typ: 'JWT', kid: canary('KID') }),
        b64url({ iss: idp.issuer, sub: canary('FORGEDSUB'), aud: 'orders-api' }),
        Buffer.from(canary('SIGNATURE')).toString('base64url'),
      ].join('.'),
    );
    const foreign = secretToken(
      'foreign-key token',
      await idp.mint({ x: canary('FOREIGN') }, { subject: 'canary-user', foreignKey: true }),
    );
    const unknownIssuer = secretToken(
      'unknown-issuer token',
      await idp.mint({}, { subject: 'canary-user', issuer: `https://${canary('ISS')}.example` }),
    );
    const opaque = secret('opaque token', canary('OPAQUE'));
    const cookie = `session=${secret('cookie', canary('COOKIE'))}; other=1`;
    const awsSecret = secret('aws secret header', canary('AWSSECRET'));
    const awsSession = secret('aws session header', canary('AWSSESSION'));
    const proxyBasic = secret(
      'proxy-authorization',
      Buffer.from(`user:${canary('PROXYPW')}`).toString('base64'),
    );
    const sigV4 = secret('sigv4 signature', canary('SIGV4'));
    const queryToken = secret('query token', canary('QUERY'));

    const extra = {
      cookie,
      'x-rolegate-aws-secret-access-key': awsSecret,
      'x-rolegate-aws-session-token': awsSession,
      'proxy-authorization': `Basic ${proxyBasic}`,
      'x-api-key': secret('api key header', canary('APIKEY')),
    };
    const bearer = (t: string) => ({ ...extra, authorization: `Bearer ${t}` });

    expect(await send(`/orders/1?access_token=${queryToken}`, bearer(validToken))).toBe(200);
    expect(await send('/orders/1', bearer(validToken))).toBe(200); // token-cache hit
    expect(await send('/orders/1', bearer(validToken), 'DELETE')).toBe(403);
    expect(await send('/orders/1', bearer(forged))).toBe(401);
    expect(await send('/orders/1', bearer(foreign))).toBe(401);
    expect(await send('/orders/1', bearer(unknownIssuer))).toBe(401);
    expect(await send('/orders/1', bearer(opaque))).toBe(401);
    expect(await send('/orders/1', { ...extra, authorization: `Basic ${proxyBasic}` })).toBe(401);
    expect(
      await send('/orders/1', {
        ...extra,
        authorization: `AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260601/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=${sigV4}`,
      }),
    ).toBe(401);
    expect(await send('/orders/1', extra)).toBe(401);
    // The allowed request did reach the upstream with the claim header: the canary was live.
    expect(upstream.requestsTo('/orders/1')[0]?.headers['x-user-email']).toContain(canary('EMAIL'));

    await rolegate.stop(); // flush everything before reading
    const auditLines = audit.lines;
    // Ten decisions, all audited (sample rate 1): the records exist and were searched.
    expect(auditLines).toHaveLength(10);
    expect(ops.lines.length).toBeGreaterThan(0);
    expect(spans.getFinishedSpans()).toHaveLength(10);

    // The one echo allowed by design: an identity refusal names the token's
    // `iss` and `kid` (found) against the configured ones (expected), for the
    // operator (docs/errors.md). Only there, only those two, and they are there.
    const echoes = [canary('KID'), canary('ISS')];
    const seenEchoes = new Set<string>();
    const withoutIdentityEcho = (line: string): string => {
      const record = JSON.parse(line) as { audit?: { explanation?: { identity?: object }[] } };
      for (const entry of record.audit?.explanation ?? []) {
        if (entry.identity === undefined) continue;
        let text = JSON.stringify(entry.identity);
        for (const echo of echoes) {
          if (text.includes(echo)) seenEchoes.add(echo);
          text = text.split(echo).join('<echo>');
        }
        entry.identity = JSON.parse(text) as object;
      }
      return JSON.stringify(record);
    };
    const written: [string, string][] = [
      ...auditLines.map((l): [string, string] => ['audit log', withoutIdentityEcho(l)]),
      ...ops.lines.map((l): [string, string] => ['operational log', l]),
      ...stray.map((l): [string, string] => ['stdout/stderr', l]),
      ...spans.getFinishedSpans().map((s): [string, string] => [
        'span',
        JSON.stringify({
          name: s.name,
          attributes: s.attributes,
          events: s.events,
          status: s.status,
        }),
      ]),
    ];
    const leaks: string[] = [];
    for (const [where, line] of written) {
      if (line.includes(RUN)) leaks.push(`${where}: run id (some canary) in ${line.slice(0, 300)}`);
      for (const [name, value] of secrets) {
        if (line.includes(value)) leaks.push(`${where}: ${name} in ${line.slice(0, 300)}`);
      }
    }
    expect(leaks).toEqual([]);
    expect([...seenEchoes].sort()).toEqual([...echoes].sort());

    // And the records still say what happened, by reason code.
    const reasons = audit
      .records()
      .map((r) => (r['audit'] as { reason: string }).reason)
      .sort();
    expect(reasons).toEqual(
      [
        'OK', // valid token
        'OK', // valid token, cached
        'ERR_IMPLICIT_DENY', // valid token, DELETE
        'ERR_TOKEN_KID_UNKNOWN', // forged
        'ERR_TOKEN_SIGNATURE', // foreign key
        'ERR_TOKEN_ISSUER_UNKNOWN',
        'ERR_TOKEN_MALFORMED', // opaque
        'ERR_TOKEN_MALFORMED', // Basic
        'ERR_TOKEN_MALFORMED', // SigV4
        'ERR_CREDENTIAL_MISSING', // only cookie and secret headers
      ].sort(),
    );
  }, 60_000);
});
