import { describe, expect, it } from '@jest/globals';
import { validateConfig } from '../../../src/config/schema.js';

const issuer = { issuer: 'https://idp.example', audiences: ['api'] };
const trust = { Version: '2012-10-17', Statement: [] };

function problemsOf(value: unknown) {
  return validateConfig(value).problems;
}

describe('validateConfig: the cross-field and format rules, each with its path and message', () => {
  it('issuers: jwksUri excludes jwksFile, URLs, HS* needs hmacSecretEnv, unknown algorithms', () => {
    expect(
      problemsOf({
        issuers: [
          {
            ...issuer,
            jwksUri: 'not a url',
            jwksFile: 'keys.json',
            algorithms: ['HS256', 'none', 'RS256'],
          },
        ],
      }),
    ).toEqual(
      expect.arrayContaining([
        { path: '$.issuers[0].jwksUri', message: 'must be a URL' },
        { path: '$.issuers[0].jwksFile', message: 'give either jwksUri or jwksFile, not both' },
        {
          path: '$.issuers[0].algorithms[0]',
          message: 'HS256 needs hmacSecretEnv naming the shared secret',
        },
        {
          path: '$.issuers[0].algorithms[1]',
          message:
            'none is not allowed; use RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA (or HS* with hmacSecretEnv)',
        },
      ]),
    );
    const hs = validateConfig({
      issuers: [{ ...issuer, hmacSecretEnv: 'SECRET', algorithms: 'HS256' }],
    });
    expect(hs.problems).toEqual([]);
    expect(hs.config?.issuers[0]?.algorithms).toEqual(['HS256']);
  });

  it('issuers: duplicates, empty audiences, a string audience becomes a list', () => {
    expect(problemsOf({ issuers: [issuer, { ...issuer, audiences: [] }] })).toEqual([
      { path: '$.issuers[1].audiences', message: 'must not be empty' },
      { path: '$.issuers[1].issuer', message: 'duplicate issuer https://idp.example' },
    ]);
    expect(
      validateConfig({ issuers: [{ ...issuer, audiences: 'api' }] }).config?.issuers[0]?.audiences,
    ).toEqual(['api']);
  });

  it('issuers: claimPatterns are anchored and compile; tagClaims map to strings', () => {
    expect(
      problemsOf({
        issuers: [
          {
            ...issuer,
            claimPatterns: { sub: '[a-z]+', email: '^(unclosed$', team: '^[a-z]+$' },
            tagClaims: { team: 7 },
          },
        ],
      }),
    ).toEqual([
      {
        path: '$.issuers[0].tagClaims.team',
        message: 'must be a non-empty string',
      },
      {
        path: '$.issuers[0].claimPatterns.sub',
        message: 'must be anchored: start with ^ and end with $',
      },
      {
        path: '$.issuers[0].claimPatterns.email',
        message: expect.stringMatching(/^is not a valid regular expression: /) as unknown as string,
      },
    ]);
    expect(problemsOf({ issuers: [{ ...issuer, claimPatterns: 'x' }] })).toEqual([
      { path: '$.issuers[0].claimPatterns', message: 'must map claim names to patterns' },
    ]);
  });

  it('issuers: token location and required claims', () => {
    expect(problemsOf({ issuers: [{ ...issuer, token: { header: 'a', cookie: 'b' } }] })).toEqual([
      { path: '$.issuers[0].token', message: 'give either header or cookie, not both' },
    ]);
    const read = (token: unknown) =>
      validateConfig({ issuers: [{ ...issuer, token }] }).config?.issuers[0]?.token;
    expect(read(undefined)).toEqual({ kind: 'bearer' });
    expect(read({ header: 'Authorization' })).toEqual({ kind: 'bearer' });
    expect(read({ header: 'X-Id-Token' })).toEqual({ kind: 'header', name: 'x-id-token' });
    expect(read({ cookie: 'session' })).toEqual({ kind: 'cookie', name: 'session' });
    const claims = (requiredClaims: unknown) =>
      validateConfig({ issuers: [{ ...issuer, requiredClaims }] });
    expect(claims(['tenant']).config?.issuers[0]?.requiredClaims).toEqual({ tenant: null });
    expect(claims({ tenant: 'acme' }).config?.issuers[0]?.requiredClaims).toEqual({
      tenant: ['acme'],
    });
    expect(claims(5).problems).toEqual([
      {
        path: '$.issuers[0].requiredClaims',
        message: 'must be a list of claim names or a mapping of claim to value(s)',
      },
    ]);
  });

  it('headers: names are lower-case letters, digits and -; requestedRole is lower-cased', () => {
    expect(
      problemsOf({ headers: { claims: { 'X-User': 'email' }, stripInbound: ['ok', 'Not_OK'] } }),
    ).toEqual([
      {
        path: '$.headers.claims["X-User"]',
        message: 'header names must be lower-case letters, digits and -',
      },
      {
        path: '$.headers.stripInbound[1]',
        message: 'header names must be lower-case letters, digits and -',
      },
    ]);
    const { config } = validateConfig({ headers: { requestedRole: 'X-Role' } });
    expect(config?.headers).toEqual({
      requestedRole: 'x-role',
      claims: {},
      stripInbound: ['x-http-method-override', 'x-http-method', 'x-method-override'],
    });
  });

  it('roles and policies: names, file references, document shapes', () => {
    expect(
      problemsOf({
        roles: [
          { name: 'bad name!', trustPolicy: 'x' },
          { name: 'r', trustPolicy: { file: 't.json', Version: '2012-10-17' }, policies: 3 },
        ],
        guardrails: [{ file: '' }],
      }),
    ).toEqual(
      expect.arrayContaining([
        {
          path: '$.roles[0].name',
          message: 'must be 1-64 characters of letters, digits and +=,.@_-',
        },
        { path: '$.roles[0].trustPolicy', message: 'must be a policy document or {file: path}' },
        { path: '$.roles[1].trustPolicy.Version', message: 'unknown field; expected one of: file' },
        {
          path: '$.roles[1].policies',
          message: 'must be a mapping of policy name to policy document',
        },
        { path: '$.guardrails[0].file', message: 'must be a non-empty string' },
      ]),
    );
    const { config } = validateConfig({
      roles: [{ name: 'r', trustPolicy: trust, permissionsBoundary: { file: 'b.json' } }],
    });
    expect(config?.roles[0]).toEqual({
      name: 'r',
      arn: 'arn:rolegate:iam:::role/r',
      trustPolicy: { name: 'r/trust', document: trust, path: '$.roles[0].trustPolicy' },
      policies: [],
      permissionsBoundary: {
        name: 'r/boundary',
        file: 'b.json',
        path: '$.roles[0].permissionsBoundary',
      },
    });
  });

  it('routes: placeholders the path lacks, upper-cased methods, json paths', () => {
    expect(
      problemsOf({ routes: [{ path: '/a', action: 'a:{op}', resource: 'arn:x:{id}' }] }),
    ).toEqual([
      {
        path: '$.routes[0].action',
        message: 'must be of the form service:ActionName',
      },
      {
        path: '$.routes[0].action',
        message: 'names {op}, which the path template "/a" does not have (its parameters: none)',
      },
      {
        path: '$.routes[0].resource',
        message: 'names {id}, which the path template "/a" does not have (its parameters: none)',
      },
    ]);
    const { config } = validateConfig({
      routes: [{ method: 'get', path: '/a/{id}', action: 'a:Get', resource: 'arn:x:{id}' }],
    });
    expect(config?.routes[0]).toEqual({
      method: 'GET',
      path: '/a/{id}',
      action: 'a:Get',
      resource: 'arn:x:{id}',
      tags: {},
      jsonPath: '$.routes[0]',
    });
  });

  it('server, mtls and audit: ranges and defaults', () => {
    expect(
      problemsOf({
        server: { grpc: { port: 70000 }, drainSeconds: -1 },
        mtls: { enabled: 'yes' },
        audit: { allowSampleRate: 1.5, file: '' },
      }),
    ).toEqual([
      { path: '$.mtls.enabled', message: 'must be true or false' },
      { path: '$.server.grpc.port', message: 'must be an integer from 0 to 65535' },
      { path: '$.server.drainSeconds', message: 'must be an integer from 0 to 300' },
      { path: '$.audit.allowSampleRate', message: 'must be a number from 0 to 1' },
      { path: '$.audit.file', message: 'must be a non-empty string' },
    ]);
    const { config } = validateConfig({ server: { admin: { port: 9999 } } });
    expect(config?.server).toEqual({
      grpc: { host: '127.0.0.1', port: 9001 },
      admin: { host: '127.0.0.1', port: 9999 },
      http: {
        enabled: false,
        host: '127.0.0.1',
        port: 9003,
        trustedProxies: [],
        originalMethodHeader: 'x-original-method',
        originalUriHeader: 'x-original-uri',
        originalHostHeader: 'x-original-host',
        nginxAuthLocation: '/_rolegate',
        envoyPrefix: '/envoy',
        maxBodyBytes: 8192,
        maxHeaderBytes: 16384,
        maxHeaders: 100,
        requestTimeoutMs: 5000,
        maxConnections: 4096,
        keepAliveTimeoutMs: 60000,
      },
      drainSeconds: 10,
      shutdownDelaySeconds: 3,
    });
    expect(config?.mtls).toEqual({ enabled: false, trustDomains: [] });
    expect(config?.audit).toEqual({ allowSampleRate: 1, format: 'rolegate' });
    expect(config?.aws).toBeUndefined();
  });
});

describe('validateConfig: sections left empty in YAML', () => {
  it('reads a null section as all defaults, as before', () => {
    const { config, problems } = validateConfig({
      server: null,
      headers: null,
      tokens: null,
      audit: null,
      mtls: null,
      issuers: [{ issuer: 'https://idp.example', audiences: ['api'], keys: null }],
      aws: { sts: null },
    });
    expect(problems).toEqual([]);
    expect(config?.server.grpc).toEqual({ host: '127.0.0.1', port: 9001 });
    expect(config?.issuers[0]?.keys.maxWaitMs).toBe(250);
    expect(config?.aws?.sts.durationSeconds).toBe(3600);
  });

  it('still refuses a null where a value is needed', () => {
    expect(
      validateConfig({
        server: { grpc: null },
        issuers: [{ issuer: 'https://idp.example', audiences: ['api'], token: null }],
        aws: { sts: { headers: null } },
        tokens: 5,
      }).problems,
    ).toEqual([
      { path: '$.server.grpc', message: 'must be a mapping' },
      { path: '$.issuers[0].token', message: 'must be a mapping' },
      { path: '$.tokens', message: 'must be a mapping' },
      { path: '$.aws.sts.headers', message: 'must be a mapping' },
    ]);
  });

  it('reports problems inside a section and inside a string-or-list at their own paths', () => {
    expect(
      validateConfig({
        tokens: { maxBytes: 1, cache: 1 },
        issuers: [
          { issuer: 'https://idp.example', audiences: ['api', 3], requiredClaims: { t: 5 } },
        ],
      }).problems,
    ).toEqual(
      expect.arrayContaining([
        { path: '$.tokens.maxBytes', message: 'must be an integer from 256 to 1048576' },
        {
          path: '$.tokens.cache',
          message: 'unknown field; expected one of: maxBytes, cacheEntries, cacheMaxBytes',
        },
        { path: '$.issuers[0].audiences[1]', message: 'must be a non-empty string' },
        {
          path: '$.issuers[0].requiredClaims.t',
          message: 'must be a string or a list of strings',
        },
      ]),
    );
  });
});

describe('validateConfig: as the hand-written reader did', () => {
  const issuer = { issuer: 'https://idp.example', audiences: ['api'] };

  it('refuses a bare string or an empty value list as requiredClaims', () => {
    expect(validateConfig({ issuers: [{ ...issuer, requiredClaims: 'tenant' }] }).problems).toEqual(
      [
        {
          path: '$.issuers[0].requiredClaims',
          message: 'must be a list of claim names or a mapping of claim to value(s)',
        },
      ],
    );
    expect(
      validateConfig({ issuers: [{ ...issuer, requiredClaims: { tenant: [] } }] }).problems,
    ).toEqual([{ path: '$.issuers[0].requiredClaims.tenant', message: 'must not be empty' }]);
  });

  it('reports an empty string once, and counts it as absent for cross-field rules', () => {
    expect(
      validateConfig({
        issuers: [{ ...issuer, jwksUri: '', hmacSecretEnv: '', algorithms: ['HS256'] }],
        roles: [{ name: '', trustPolicy: {} }],
        routes: [{ path: '', action: '', resource: '{x}' }],
      }).problems,
    ).toEqual([
      { path: '$.issuers[0].jwksUri', message: 'must be a non-empty string' },
      { path: '$.issuers[0].hmacSecretEnv', message: 'must be a non-empty string' },
      {
        path: '$.issuers[0].algorithms[0]',
        message: 'HS256 needs hmacSecretEnv naming the shared secret',
      },
      { path: '$.roles[0].name', message: 'must be a non-empty string' },
      { path: '$.routes[0].path', message: 'must be a non-empty string' },
      { path: '$.routes[0].action', message: 'must be a non-empty string' },
    ]);
  });

  it('says an audience list without one valid audience is empty', () => {
    expect(validateConfig({ issuers: [{ ...issuer, audiences: [7] }] }).problems).toEqual([
      { path: '$.issuers[0].audiences[0]', message: 'must be a non-empty string' },
      { path: '$.issuers[0].audiences', message: 'must not be empty' },
    ]);
  });
});
