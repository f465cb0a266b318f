/**
 * The soak's OIDC issuer and its tokens: an ES256 key, a JWKS served on
 * loopback, and many distinct valid tokens (different `sub` and `jti`)
 * minted up front with node:crypto (jose's async signing would take
 * minutes for 100,000), plus one of each kind that must be refused.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The audience the soak config trusts. */
export const SOAK_AUDIENCE = 'bench-api';

const b64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The tokens one soak run sends. */
export interface SoakTokens {
  /** Distinct valid tokens (group `inventory-team`, 2 h lifetime). */
  readonly good: readonly string[];
  readonly expired: string;
  readonly wrongAudience: string;
  /** A valid token with its signature's bytes changed. */
  readonly badSignature: string;
}

/** A running issuer: its URL (also the JWKS URI) and a way to stop it. */
export interface SoakIssuer {
  readonly url: string;
  mint(count: number): SoakTokens;
  close(): Promise<void>;
}

function signToken(key: KeyObject, kid: string, claims: Record<string, unknown>): string {
  const input = `${b64url({ alg: 'ES256', kid, typ: 'JWT' })}.${b64url(claims)}`;
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** Starts the issuer on a free loopback port; every path answers the JWKS. */
export async function startSoakIssuer(): Promise<SoakIssuer> {
  const kid = 'soak';
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwks = JSON.stringify({
    keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' }],
  });
  const server: Server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(jwks),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const claims = (i: number, now: number, aud: string, exp: number) => ({
    iss: url,
    aud,
    sub: `soak-user-${i}`,
    jti: `soak-${i}-${now}`,
    iat: now,
    exp,
    groups: ['inventory-team'],
    email: `user${i}@example.com`,
  });
  return {
    url,
    mint(count) {
      const now = Math.floor(Date.now() / 1000);
      const good: string[] = [];
      for (let i = 0; i < count; i++)
        good.push(signToken(privateKey, kid, claims(i, now, SOAK_AUDIENCE, now + 7200)));
      const valid =
        good[0] ?? signToken(privateKey, kid, claims(0, now, SOAK_AUDIENCE, now + 7200));
      // Flip bits in the middle of the signature: still base64url, no longer valid.
      const dot = valid.lastIndexOf('.');
      const sig = Buffer.from(valid.slice(dot + 1), 'base64url');
      sig[10] = (sig[10] ?? 0) ^ 0xff;
      return {
        good,
        expired: signToken(privateKey, kid, claims(-1, now - 7200, SOAK_AUDIENCE, now - 3600)),
        wrongAudience: signToken(privateKey, kid, claims(-2, now, 'another-api', now + 7200)),
        badSignature: `${valid.slice(0, dot)}.${sig.toString('base64url')}`,
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
