/** `catalog.backstage` and a route's `entity`, as config validation reads them. */
import { describe, expect, it } from '@jest/globals';
import { validateConfig } from '../../../src/config/schema.js';

const route = (extra: Record<string, unknown> = {}) => ({
  method: 'POST',
  path: '/payments/{id}',
  action: 'payments:Write',
  resource: 'arn:rolegate:payments:::payment/{id}',
  ...extra,
});
const CATALOG = {
  backstage: { baseUrl: 'http://backstage.internal:7007', tokenEnv: 'BACKSTAGE_CATALOG_TOKEN' },
};

describe('catalog.backstage', () => {
  it('takes its defaults from the schema', () => {
    const { config } = validateConfig({ catalog: CATALOG });
    expect(config?.catalog?.backstage).toEqual({
      baseUrl: 'http://backstage.internal:7007',
      tokenEnv: 'BACKSTAGE_CATALOG_TOKEN',
      refreshSeconds: 60,
      staleAfterSeconds: 600,
      maxEntities: 10_000,
      pageSize: 500,
    });
  });

  it('refuses a token in the file: only the variable holding it', () => {
    const { problems } = validateConfig({
      catalog: { backstage: { ...CATALOG.backstage, token: 'x' } },
    });
    expect(problems).toEqual([
      {
        path: '$.catalog.backstage.token',
        message: expect.stringMatching(/^unknown field; expected one of: baseUrl, tokenEnv/),
      },
    ]);
  });
});

describe('catalog.backstage.baseUrl', () => {
  // fetch refuses a URL with credentials with a message that quotes it whole, password
  // included, and that message reached ERR_CATALOG_READ and the ops log line.
  it.each([
    ['credentials', 'http://reader:pa55word@backstage.internal:7007'],
    ['a query', 'http://backstage.internal:7007/?token=pa55word'],
    ['a fragment', 'http://backstage.internal:7007/#pa55word'],
    ['a scheme other than http(s)', 'file:///etc/pa55word'],
  ])('refuses %s, without quoting it', (_what, baseUrl) => {
    const { problems } = validateConfig({
      catalog: { backstage: { ...CATALOG.backstage, baseUrl } },
    });
    expect(problems).toEqual([
      { path: '$.catalog.backstage.baseUrl', message: expect.any(String) },
    ]);
    expect(JSON.stringify(problems)).not.toContain('pa55word');
  });

  it('takes a path (Backstage behind a prefix)', () => {
    const baseUrl = 'https://portal.example/backstage';
    const { problems } = validateConfig({
      catalog: { backstage: { ...CATALOG.backstage, baseUrl } },
    });
    expect(problems).toEqual([]);
  });
});

describe("a route's entity", () => {
  it('is normalised as Backstage normalises refs (kind component, namespace default)', () => {
    const { config } = validateConfig({
      catalog: CATALOG,
      routes: [route({ entity: 'Payments-API' }), route({ entity: 'api:eu/Ledger' })],
    });
    expect(config?.routes.map((r) => r.entity)).toEqual([
      'component:default/payments-api',
      'api:eu/ledger',
    ]);
  });

  it('needs catalog.backstage, named by its JSON path', () => {
    expect(
      validateConfig({ routes: [route(), route({ entity: 'payments-api' })] }).problems,
    ).toEqual([
      {
        path: '$.routes[1].entity',
        message:
          'names the Backstage entity component:default/payments-api, but catalog.backstage is not configured to read it from',
      },
    ]);
  });

  it('refuses owner, system or lifecycle tags of its own beside an entity', () => {
    const { problems } = validateConfig({
      catalog: CATALOG,
      routes: [route({ entity: 'payments-api', tags: { Owner: 'me', tier: 'gold' } })],
    });
    expect(problems).toEqual([
      {
        path: '$.routes[0].tags.Owner',
        message:
          'set by the catalog for a route with an entity (component:default/payments-api); remove it here',
      },
    ]);
  });

  it('refuses what is not an entity ref', () => {
    const { problems } = validateConfig({ catalog: CATALOG, routes: [route({ entity: 'a b' })] });
    expect(problems).toEqual([
      {
        path: '$.routes[0].entity',
        message:
          'not a Backstage entity ref: name "a b" is not a Backstage name (letters, digits, and - _ . between them, at most 63)',
      },
    ]);
  });
});
