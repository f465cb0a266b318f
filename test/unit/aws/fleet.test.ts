/**
 * The fleet snapshot's own checks, without a database: what a replica
 * refuses before it compiles, and what names one snapshot. The fleet with
 * a real PostgreSQL and moto is test/integration/aws/iam-fleet.test.ts.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { snapshotBody, snapshotSource, verifiedSnapshot } from '../../../src/aws/fleet.js';
import type { IamFetch } from '../../../src/aws/iam-source.js';
import { RolegateError } from '../../../src/errors.js';

const fetch: IamFetch = {
  roles: [
    {
      roleName: 'orders',
      arn: 'arn:aws:iam::123456789012:role/orders',
      tags: {},
      trust: { Version: '2012-10-17', Statement: [] },
      inline: [],
      attached: [],
    },
  ],
  problems: [],
  listed: ['orders'],
  syncedAt: 1,
  readWith: 'details',
};
const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return err instanceof RolegateError ? err.code : String(err);
  }
  return 'no error';
};

describe('verifiedSnapshot', () => {
  const body = snapshotBody(fetch);

  it('returns the documents with the publication time as syncedAt', () => {
    expect(verifiedSnapshot({ hash: sha(body), body, publishedAt: 42 })).toEqual({
      ...fetch,
      syncedAt: 42,
    });
  });

  it.each([
    [
      'a body that is not the hashed one',
      { hash: sha(body), body: body.replace('orders', 'admin') },
    ],
    ['a body that is not JSON', { hash: sha('{'), body: '{' }],
    ['JSON that is not a read of IAM', { hash: sha('{"roles":1}'), body: '{"roles":1}' }],
    ['a JSON scalar', { hash: sha('7'), body: '7' }],
  ])('refuses %s (ERR_IAM_SNAPSHOT_INVALID)', (_, row) => {
    expect(codeOf(() => verifiedSnapshot({ ...row, publishedAt: 1 }))).toBe(
      'ERR_IAM_SNAPSHOT_INVALID',
    );
  });

  it('hashes the documents only: the same IAM read at another time is the same snapshot', () => {
    expect(snapshotBody({ ...fetch, syncedAt: 99 })).toBe(body);
  });
});

describe('snapshotSource', () => {
  const request = {
    client: { endpoint: 'http://iam.local' },
    iam: {
      pathPrefix: '/',
      tags: {},
      refreshSeconds: 300,
      jitter: 0.1,
      roleArnAsName: false,
      requestTimeoutMs: 10_000,
    },
  };

  it('is shared by replicas that select the same roles, whatever their timings', () => {
    expect(
      snapshotSource({ ...request, iam: { ...request.iam, refreshSeconds: 5, jitter: 0 } }),
    ).toBe(snapshotSource(request));
  });

  it('differs for another selection or another IAM endpoint', () => {
    const base = snapshotSource(request);
    expect(snapshotSource({ ...request, iam: { ...request.iam, pathPrefix: '/team/' } })).not.toBe(
      base,
    );
    expect(snapshotSource({ ...request, iam: { ...request.iam, tags: { team: 'a' } } })).not.toBe(
      base,
    );
    expect(snapshotSource({ ...request, client: { endpoint: 'http://other' } })).not.toBe(base);
  });
});
