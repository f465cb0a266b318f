/**
 * Bench child entry: rolegate itself with a realistic configuration (one
 * OIDC issuer served in-process, five roles with claim-conditioned trust
 * policies, guardrails, a permissions boundary, twenty routes), speaking
 * the protocol in bench/lib/child-protocol.ts. The "(b)" side of bench/grpc.ts.
 *
 * Arguments: `--token-cache off` verifies the token signature on every call.
 * `--observability off` starts rolegate without audit records, metric
 * updates or spans (the "without" side of bench/observability.ts).
 * Audit records go through the production destination (src/observe/batched-output.ts,
 * as `audit.file` and standard output use it) into /dev/null: every byte is
 * encoded and handed to write(2), and no disk is involved. `--audit-file`
 * writes them to a temp file instead.
 * `--shadow` adds a `shadow` section naming a copy of the same configuration
 * as the candidate, so every Check is evaluated twice (the "(b)" side of
 * bench/shadow.ts).
 * `--http` announces the HTTP check listener (nginx door, `/nginx`) instead
 * of the gRPC port: the "(b)" side of the HTTP mode. `--http-door forward`
 * announces the forward-auth door (`/forward`, `X-Forwarded-*`) instead
 * (bench/http-door.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { devNull, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { stringify } from 'yaml';
import { startRolegate } from '../src/main.js';
import { createAuditLogger, createLogger } from '../src/observe/logger.js';
import { benchConfig } from './lib/bench-config.js';
import { announceToParent } from './lib/child-protocol.js';

/** The value after `--name` on the command line. */
const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const tokenCache = argValue('--token-cache') === 'off' ? 0 : 10_000;
const observability = argValue('--observability') !== 'off';
const auditToFile = process.argv.includes('--audit-file');
const shadow = process.argv.includes('--shadow');
const httpMode = process.argv.includes('--http');
const forwardDoor = argValue('--http-door') === 'forward';
/** The original request as each HTTP door is told it (nginx auth_request, forward-auth). */
const doorHeaders: Record<string, string> = forwardDoor
  ? {
      'x-forwarded-method': 'GET',
      'x-forwarded-uri': '/inventory/42',
      'x-forwarded-host': 'api.example.com',
      'x-forwarded-proto': 'https',
    }
  : { 'x-original-method': 'GET', 'x-original-uri': '/inventory/42' };

/** `--alg RS256` signs the bench token with RSA-2048 instead of ES256 (the fresh-token rows). */
const alg = argValue('--alg') === 'RS256' ? 'RS256' : 'ES256';
const { publicKey, privateKey } = await generateKeyPair(alg);
const jwks = JSON.stringify({
  keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg }],
});
const idp = createServer((_req, res) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(jwks),
);
await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
const dir = mkdtempSync(join(tmpdir(), 'rolegate-bench-'));
const configFile = join(dir, 'rolegate.yaml');
const config = benchConfig(issuer, tokenCache);
if (shadow) writeFileSync(join(dir, 'candidate.yaml'), stringify(config));
const withHttp = httpMode ? { ...config, server: { http: { enabled: true } } } : config;
writeFileSync(
  configFile,
  stringify(shadow ? { ...withHttp, shadow: { config: 'candidate.yaml' } } : withHttp),
);
const sink = new Writable({ write: (_c, _e, done) => done() });
const rolegate = await startRolegate({
  configFile,
  grpcPort: 0,
  adminPort: 0,
  httpPort: 0,
  logger: createLogger('warn', sink),
  auditLogger: createAuditLogger({ file: auditToFile ? join(dir, 'audit.log') : devNull }),
  watch: false,
  observability,
});
const token = await new SignJWT({ groups: ['inventory-team'], email: 'bench@example.com' })
  .setProtectedHeader({ alg, kid: 'bench' })
  .setIssuer(issuer)
  .setAudience('bench-api')
  .setSubject('bench-user')
  .setIssuedAt()
  .setExpirationTime('2h')
  .sign(privateKey);

announceToParent({
  port: httpMode ? (rolegate.httpPort as number) : rolegate.grpcPort,
  counts: () => ({ ...rolegate.decisions }),
  headers: {
    authorization: `Bearer ${token}`,
    ...(httpMode ? doorHeaders : {}),
  },
  path: httpMode ? (forwardDoor ? '/forward' : '/nginx') : '/inventory/42',
  method: 'GET',
  shutdown: async () => {
    await rolegate.stop();
    idp.close();
    rmSync(dir, { recursive: true, force: true });
  },
});
