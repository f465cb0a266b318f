/**
 * What both servers of the peer benchmark share: one ES256 key (its JWKS
 * served over HTTP for rolegate, embedded in the Rego for OPA-Envoy), one
 * issuer, the bench config, and tokens minted with node:crypto (fast enough
 * to pre-mint tens of thousands of distinct tokens for the fresh-token runs).
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

import { benchConfig } from '../lib/bench-config.js';
import { regoFromBenchConfig } from './rego.js';

/** Verified-token cache entries on both sides (rolegate tokens.cacheEntries, OPA io_jwt cache). */
export const TOKEN_CACHE_ENTRIES = 10_000;

/** Claims a bench token carries (beyond iss, aud, iat, exp). */
export interface TokenClaims {
  readonly sub?: string;
  readonly groups?: readonly string[];
  readonly email?: string;
  readonly [claim: string]: unknown;
}

export interface PeerFixture {
  readonly issuer: string;
  readonly jwks: string;
  /** Scratch directory: rolegate.yaml, policy.rego, opa.yaml, request files. */
  readonly dir: string;
  readonly rolegateConfigFile: string;
  readonly regoFile: string;
  /** A signed token; `opts` bends it for the parity samples. */
  mint(
    claims?: TokenClaims,
    opts?: { key?: KeyObject; iss?: string; aud?: string; expSec?: number },
  ): string;
  close(): Promise<void>;
}

const b64 = (x: string | Buffer) => Buffer.from(x).toString('base64url');

export async function startFixture(): Promise<PeerFixture> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwks = JSON.stringify({
    keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'bench', alg: 'ES256', use: 'sig' }],
  });
  const idp: Server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(jwks),
  );
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'rolegate-peers-'));
  const config = benchConfig(issuer, TOKEN_CACHE_ENTRIES);
  const rolegateConfigFile = join(dir, 'rolegate.yaml');
  writeFileSync(rolegateConfigFile, stringify(config));
  const regoFile = join(dir, 'policy.rego');
  writeFileSync(regoFile, regoFromBenchConfig(config, jwks));
  const header = b64(JSON.stringify({ alg: 'ES256', kid: 'bench', typ: 'JWT' }));

  return {
    issuer,
    jwks,
    dir,
    rolegateConfigFile,
    regoFile,
    mint(claims = {}, opts = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload = b64(
        JSON.stringify({
          iss: opts.iss ?? issuer,
          aud: opts.aud ?? 'bench-api',
          sub: 'bench-user',
          groups: ['inventory-team'],
          email: 'bench@example.com',
          iat: now,
          exp: now + (opts.expSec ?? 7200),
          ...claims,
        }),
      );
      const input = `${header}.${payload}`;
      const sig = sign('sha256', Buffer.from(input), {
        key: opts.key ?? privateKey,
        dsaEncoding: 'ieee-p1363',
      });
      return `${input}.${b64(sig)}`;
    },
    close: async () => {
      await new Promise<void>((resolve) => idp.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
