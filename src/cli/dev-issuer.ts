/**
 * The local development issuer for the example configuration: serves
 * OpenID discovery and the JWKS of `examples/dev-issuer`, and mints tokens
 * with its (public, throw-away) key. Never for production.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { exportJWK, importJWK, SignJWT, type JWK } from 'jose';
import { packageRoot } from '../transport/grpc/protos.js';
import { listenError } from '../transport/listen-error.js';

/** Issuer URL of the development issuer. */
export const DEV_ISSUER = 'http://127.0.0.1:9100';
export const DEV_AUDIENCE = 'rolegate-dev';

function devKey(): JWK & { kid: string } {
  const file = join(packageRoot(), 'examples', 'dev-issuer', 'dev-signing-key.jwk.json');
  return JSON.parse(readFileSync(file, 'utf8')) as JWK & { kid: string };
}

/**
 * Serves discovery and JWKS on 127.0.0.1:9100 (or `port`). A port that
 * cannot be bound rejects with an `ERR_LISTEN_*` RolegateError.
 */
export async function startDevIssuer(port = 9100): Promise<Server> {
  const { d: _private, ...publicPart } = devKey();
  const publicJwk = await exportJWK(await importJWK(publicPart, 'ES256'));
  const jwks = JSON.stringify({
    keys: [{ ...publicJwk, kid: publicPart.kid, alg: 'ES256', use: 'sig' }],
  });
  const issuer = `http://127.0.0.1:${port}`;
  const discovery = JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks.json` });
  const server = createServer((req, res) => {
    const body =
      req.url === '/.well-known/openid-configuration'
        ? discovery
        : req.url === '/jwks.json'
          ? jwks
          : undefined;
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(listenError(err, { listener: 'development issuer', host: '127.0.0.1', port })),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}

/** Mints a one-hour development token for `sub` with the given groups and extra claims. */
export async function mintDevToken(
  sub: string,
  groups: readonly string[],
  extra: Record<string, unknown> = {},
): Promise<string> {
  const jwk = devKey();
  const key = await importJWK(jwk, 'ES256');
  return new SignJWT({ groups: [...groups], ...extra })
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'JWT' })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key);
}
