/**
 * In-process cost of one decision, stage by stage, next to the baseline of
 * a server that only decodes the request and encodes an empty OK: what
 * rolegate adds to each Check call before gRPC and HTTP/2 framing. Explains
 * the gRPC benchmark's ratio. Not a test.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { check } from '../src/check/check.js';
import { createJwtVerifier } from '../src/identity/jwt.js';
import { createAuditor } from '../src/observe/audit.js';
import { createAuditLogger } from '../src/observe/logger.js';
import { createMetrics } from '../src/observe/metrics.js';
import { normalizeCheckRequest } from '../src/request/normalize.js';
import { toCheckResponse } from '../src/response/check-response.js';
import { decodeCheckRequest } from '../src/transport/grpc/decode-check-request.js';
import { encodeCheckResponse } from '../src/transport/grpc/encode-check-response.js';
import type { CheckRequest, CheckResponse } from '../src/wire/ext-authz.js';
import { loadAuthorizationService } from '../src/transport/grpc/protos.js';
import { withBenchConfig } from './lib/bench-config.js';
import { benchCheckRequest } from './lib/request.js';

async function perCall(fn: () => unknown, n = 20_000): Promise<number> {
  for (let i = 0; i < 2_000; i++) await fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - t0) / n / 1000;
}

export async function runPipelineBench(print: (line: string) => void): Promise<void> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwks = JSON.stringify({
    keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256' }],
  });
  return withBenchConfig(jwks, 10_000, async (issuer, config) => {
    const verifier = createJwtVerifier({
      issuers: config.issuers,
      maxTokenBytes: 16_384,
      cacheEntries: 10_000,
      now: Date.now,
    });
    const token = await new SignJWT({ groups: ['inventory-team'], email: 'bench@example.com' })
      .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
      .setIssuer(issuer)
      .setAudience('bench-api')
      .setSubject('bench-user')
      .setIssuedAt()
      .setExpirationTime('2h')
      .sign(privateKey);
    const method = loadAuthorizationService().Check;
    const bytes = method.requestSerialize(
      benchCheckRequest({
        headers: { authorization: `Bearer ${token}` },
        path: '/inventory/42',
      }) as CheckRequest,
    );
    const deps = {
      generation: () => ({ compiled: config, verifier }),
      now: Date.now,
      newId: randomUUID,
    };
    const sink = new Writable({ write: (_c, _e, done) => done() });
    const auditor = createAuditor(createAuditLogger(sink), () => 1);
    const metrics = createMetrics(false);
    const settings = {
      claimHeaders: config.settings.headers.claims,
      requestedRoleHeader: 'x-rolegate-role',
    };
    const OK: CheckResponse = { status: { code: 0 }, ok_response: {} };

    const decoded = method.requestDeserialize(bytes);
    const request = normalizeCheckRequest(decoded);
    const outcome = await check(request, deps);
    const response = toCheckResponse(outcome, request.headers, settings);
    const stages: [string, () => unknown][] = [
      ['decode (direct)', () => decodeCheckRequest(bytes)],
      ['decode (generic)', () => method.requestDeserialize(bytes)],
      ['normalize', () => normalizeCheckRequest(decoded)],
      ['check (token cached)', () => check(request, deps)],
      ['toCheckResponse', () => toCheckResponse(outcome, request.headers, settings)],
      ['encode (direct)', () => encodeCheckResponse(response)],
      ['encode (generic)', () => method.responseSerialize(response)],
      ['audit record', () => auditor.record(request, outcome, 10)],
      ['metrics', () => metrics.checks.inc({ decision: 'allow', reason: 'OK' })],
    ];
    print('decision pipeline in process (realistic config, warm token cache), µs per call:');
    for (const [name, fn] of stages)
      print(`  ${name.padEnd(24)} ${(await perCall(fn)).toFixed(2).padStart(7)}`);
    // Both sides decode and encode as the gRPC server does (the direct codecs).
    const baseline = await perCall(() => {
      decodeCheckRequest(bytes);
      return encodeCheckResponse(OK);
    });
    const full = await perCall(async () => {
      const req = normalizeCheckRequest(decodeCheckRequest(bytes));
      const out = await check(req, deps);
      encodeCheckResponse(toCheckResponse(out, req.headers, settings));
      metrics.checks.inc({ decision: 'allow', reason: 'OK' });
      auditor.record(req, out, 10);
    });
    print(`  baseline (decode + empty OK)    ${baseline.toFixed(2).padStart(7)}`);
    print(
      `  full pipeline                   ${full.toFixed(2).padStart(7)}   (+${(full - baseline).toFixed(1)} µs per call)`,
    );
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runPipelineBench((l) => console.log(l));
}
