import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { mintDevToken, startDevIssuer } from '../../../src/cli/dev-issuer.js';
import { loadConfig } from '../../../src/config/load.js';
import { createJwtVerifier } from '../../../src/identity/jwt.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/rolegate.yaml', import.meta.url));

describe('the development issuer of the example config', () => {
  it('serves discovery and keys that verify the tokens dev-token mints', async () => {
    const server = await startDevIssuer();
    try {
      const config = loadConfig(EXAMPLE);
      const verifier = createJwtVerifier({
        issuers: config.issuers,
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
