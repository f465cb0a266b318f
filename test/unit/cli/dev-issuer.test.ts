import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { DEV_ISSUER, mintDevToken, startDevIssuer } from '../../../src/cli/dev-issuer.js';
import { loadConfig } from '../../../src/config/load.js';
import { createJwtVerifier } from '../../../src/identity/jwt.js';
import { freePort } from '../../harness/ports.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/rolegate.yaml', import.meta.url));

describe('the development issuer of the example config', () => {
  it('serves discovery and keys that verify the tokens dev-token mints', async () => {
    // Never on its default 127.0.0.1:9100: a developer's `npm start --dev-issuer` holds it.
    const port = await freePort();
    const server = await startDevIssuer(port);
    try {
      const served = `http://127.0.0.1:${port}`;
      const discovery = (await (
        await fetch(`${served}/.well-known/openid-configuration`)
      ).json()) as { issuer: string; jwks_uri: string };
      expect(discovery).toEqual({ issuer: served, jwks_uri: `${served}/jwks.json` });

      // The example trusts the dev issuer by its fixed name (what dev-token puts in `iss`);
      // its keys come from the issuer served here.
      const config = loadConfig(EXAMPLE);
      expect(config.issuers.map((i) => i.issuer)).toEqual([DEV_ISSUER]);
      const verifier = createJwtVerifier({
        issuers: config.issuers.map((i) => ({ ...i, jwksUri: discovery.jwks_uri })),
        maxTokenBytes: 16384,
        cacheEntries: 0,
        now: Date.now,
      });
      const token = await mintDevToken('alice', ['readers'], { email: 'alice@example.com' });
      const principal = await verifier.verify(token);
      expect(principal).toMatchObject({ subject: 'alice', issuer: 'http://127.0.0.1:9100' });
      expect(principal.claims['groups']).toEqual(['readers']);
    } finally {
      server.close();
    }
  });
});
