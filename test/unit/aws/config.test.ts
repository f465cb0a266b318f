import { describe, expect, it } from '@jest/globals';
import {
  awsSchema,
  credentialHeaderNames,
  DEFAULT_CREDENTIAL_HEADERS,
  DEFAULT_STS_CACHE_MAX_BYTES,
} from '../../../src/aws/config.js';
import { validateConfig } from '../../../src/config/schema.js';

describe('the aws section', () => {
  it('fills the documented defaults', () => {
    const { config, problems } = validateConfig({ aws: { iam: {} } });
    expect(problems).toEqual([]);
    expect(config?.aws).toEqual({
      iam: {
        pathPrefix: '/',
        tags: {},
        refreshSeconds: 300,
        jitter: 0.1,
        roleArnAsName: false,
        requestTimeoutMs: 10_000,
      },
      sts: {
        durationSeconds: 3600,
        headers: DEFAULT_CREDENTIAL_HEADERS,
        sessionTags: {},
        webIdentity: 'auto',
        timeoutMs: 500,
        cacheEntries: 1000,
        cacheMaxBytes: 8 * 1024 * 1024,
      },
    });
    expect(DEFAULT_STS_CACHE_MAX_BYTES).toBe(8_388_608);
    expect(DEFAULT_CREDENTIAL_HEADERS).toEqual({
      accessKeyId: 'x-rolegate-aws-access-key-id',
      secretAccessKey: 'x-rolegate-aws-secret-access-key',
      sessionToken: 'x-rolegate-aws-session-token',
      expiration: 'x-rolegate-aws-expiration',
    });
    expect(validateConfig({ aws: {} }).config?.aws?.iam).toBeUndefined();
  });

  it('refuses credentials in the config, bad URLs, prefixes, ranges and header names', () => {
    const { problems } = validateConfig({
      aws: {
        credentials: { accessKeyId: 'AKIA...' },
        endpoint: 'not a url',
        iam: { pathPrefix: 'svc', jitter: 2, refreshSeconds: 0 },
        sts: {
          durationSeconds: 60,
          webIdentity: 'sometimes',
          headers: { accessKeyId: 'X_Key', sessionToken: 'x-rolegate-aws-expiration' },
        },
      },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        {
          path: '$.aws.credentials',
          message:
            "rolegate's own AWS credentials come from the SDK default provider chain (environment, web identity, container, instance), never from the config",
        },
        { path: '$.aws.endpoint', message: 'must be a URL' },
        { path: '$.aws.iam.pathPrefix', message: 'must start and end with /' },
        { path: '$.aws.iam.jitter', message: 'must be a number from 0 to 1' },
        { path: '$.aws.iam.refreshSeconds', message: 'must be an integer from 1 to 86400' },
        { path: '$.aws.sts.durationSeconds', message: 'must be an integer from 900 to 43200' },
        { path: '$.aws.sts.webIdentity', message: 'must be one of: auto, never' },
        {
          path: '$.aws.sts.headers.accessKeyId',
          message: 'header names must be letters, digits and -',
        },
      ]),
    );
    expect(
      validateConfig({ aws: { sts: { headers: { sessionToken: 'X-Rolegate-Aws-Expiration' } } } })
        .problems,
    ).toEqual([{ path: '$.aws.sts.headers', message: 'header names must differ' }]);
  });

  it('checks STS session tag keys and their number', () => {
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, 'sub']));
    expect(validateConfig({ aws: { sts: { sessionTags: many } } }).problems).toEqual([
      { path: '$.aws.sts.sessionTags', message: 'STS accepts at most 50 session tags' },
    ]);
    expect(
      validateConfig({ aws: { sts: { sessionTags: { 'a\u0000b': 'sub' } } } }).problems,
    ).toEqual([
      { path: '$.aws.sts.sessionTags["a\\u0000b"]', message: 'is not a valid STS tag key' },
    ]);
  });

  it('lower-cases header names and lists every credential header', () => {
    const aws = awsSchema.parse({ sts: { headers: { expiration: 'X-Exp' } } });
    expect(aws.sts.headers.expiration).toBe('x-exp');
    expect(credentialHeaderNames(aws)).toEqual([
      ...Object.values(DEFAULT_CREDENTIAL_HEADERS),
      'x-exp',
    ]);
  });
});
