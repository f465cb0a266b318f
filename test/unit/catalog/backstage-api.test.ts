import { describe, expect, it } from '@jest/globals';
import { backstagePageReader, parseCatalogPage } from '../../../src/catalog/backstage-api.js';

describe('parseCatalogPage', () => {
  it('reads items, the next cursor and the total', () => {
    expect(
      parseCatalogPage(
        JSON.stringify({
          items: [{ kind: 'Component' }, 'junk'],
          totalItems: 3,
          pageInfo: { nextCursor: 'abc' },
        }),
      ),
    ).toEqual({ items: [{ kind: 'Component' }], nextCursor: 'abc', totalItems: 3 });
    expect(parseCatalogPage(JSON.stringify({ items: [], pageInfo: {} }))).toEqual({ items: [] });
  });

  it.each(['not json', '[]', '{"items":{}}'])('refuses %s with ERR_CATALOG_READ', (body) => {
    expect(() => parseCatalogPage(body)).toThrow(
      expect.objectContaining({ code: 'ERR_CATALOG_READ' }),
    );
  });
});

describe('backstagePageReader', () => {
  it('refuses to read without a token, naming the variable (not a value)', async () => {
    const read = backstagePageReader({
      baseUrl: 'http://127.0.0.1:1',
      token: undefined,
      tokenEnv: 'CATALOG_TOKEN',
    });
    await expect(read(undefined, 10)).rejects.toMatchObject({
      code: 'ERR_CATALOG_READ',
      message: 'CATALOG_TOKEN is not set: no token to read the catalog with',
    });
  });

  // fetch's own refusal of such a header value quotes it whole ("Bearer <token>"), and
  // that message went into ERR_CATALOG_READ and the log line.
  it.each([
    ['a line break', 'sekrit-token\nline-two'],
    ['a NUL', 'sekrit-token\u0000tail'],
    ['a character past Latin-1', 'sekrit-token\u0100tail'],
  ])('refuses a token holding %s, naming the variable, never the value', async (_what, token) => {
    const read = backstagePageReader({
      baseUrl: 'http://127.0.0.1:1',
      token,
      tokenEnv: 'CATALOG_TOKEN',
    });
    const err: unknown = await read(undefined, 10).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as { code?: unknown }).code).toBe('ERR_CATALOG_READ');
    expect((err as Error).message).toMatch(/^CATALOG_TOKEN /);
    expect((err as Error).message).not.toContain('sekrit');
    expect(JSON.stringify(err)).not.toContain('sekrit');
  });
});
