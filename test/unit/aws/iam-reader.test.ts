import { describe, expect, it } from '@jest/globals';
import {
  countedIamReader,
  errorFromIamRead,
  iamReadError,
  parseIamFetch,
  parseIamReadRequest,
  sharedIamReader,
  type IamReadRequest,
} from '../../../src/aws/iam-reader.js';
import type { IamFetch } from '../../../src/aws/iam-source.js';
import { isRetryableAwsError } from '../../../src/aws/iam-sync.js';
import { awsIamSchema, type AwsIamConfig } from '../../../src/aws/config.js';

const iam = (refreshSeconds: number, pathPrefix = '/'): AwsIamConfig =>
  awsIamSchema.parse({ refreshSeconds, pathPrefix });
const request = (refreshSeconds = 300, pathPrefix = '/'): IamReadRequest => ({
  client: { endpoint: 'http://127.0.0.1:1' },
  iam: iam(refreshSeconds, pathPrefix),
});
const fetched = (syncedAt: number): IamFetch => ({ roles: [], problems: [], listed: [], syncedAt });

/** A reader we control: each call waits until settled by the test. */
function controlledReader() {
  const calls: { request: IamReadRequest; settle: (f: IamFetch | Error) => void }[] = [];
  const read = (r: IamReadRequest) =>
    new Promise<IamFetch>((resolve, reject) => {
      calls.push({
        request: r,
        settle: (f) => (f instanceof Error ? reject(f) : resolve(f)),
      });
    });
  return { calls, read };
}

describe('sharedIamReader', () => {
  it('joins a read in flight: two workers starting together make one read of IAM', async () => {
    const inner = controlledReader();
    const shared = sharedIamReader(inner.read, () => 0);
    const a = shared(request());
    const b = shared(request());
    expect(inner.calls).toHaveLength(1);
    inner.calls[0]?.settle(fetched(1));
    expect(await a).toEqual(fetched(1));
    expect(await b).toBe(await a);
  });

  it('hands a result out again for half the refresh interval, then reads again', async () => {
    const inner = controlledReader();
    let now = 0;
    const shared = sharedIamReader(inner.read, () => now);
    const first = shared(request(300));
    inner.calls[0]?.settle(fetched(1));
    await first;
    now = 149_999;
    expect(await shared(request(300))).toEqual(fetched(1));
    expect(inner.calls).toHaveLength(1);
    now = 150_000;
    const later = shared(request(300));
    expect(inner.calls).toHaveLength(2);
    inner.calls[1]?.settle(fetched(2));
    expect(await later).toEqual(fetched(2));
  });

  it('keeps no failure: the next ask reads again', async () => {
    const inner = controlledReader();
    const shared = sharedIamReader(inner.read, () => 0);
    const failed = shared(request());
    inner.calls[0]?.settle(new Error('Throttling'));
    await expect(failed).rejects.toThrow('Throttling');
    const again = shared(request());
    expect(inner.calls).toHaveLength(2);
    inner.calls[1]?.settle(fetched(3));
    expect(await again).toEqual(fetched(3));
  });

  it('never hands one selection the roles of another', async () => {
    const inner = controlledReader();
    const shared = sharedIamReader(inner.read, () => 0);
    const a = shared(request(300, '/a/'));
    const b = shared(request(300, '/b/'));
    expect(inner.calls.map((c) => c.request.iam.pathPrefix)).toEqual(['/a/', '/b/']);
    inner.calls[0]?.settle(fetched(1));
    inner.calls[1]?.settle(fetched(2));
    expect([await a, await b]).toEqual([fetched(1), fetched(2)]);
    // A cached answer is for its own selection only.
    const c = shared(request(300, '/a/'));
    expect(inner.calls).toHaveLength(3);
    inner.calls[2]?.settle(fetched(4));
    expect(await c).toEqual(fetched(4));
  });
});

describe('countedIamReader', () => {
  it('tells the outcome of each read and passes the answer or the error through', async () => {
    const inner = controlledReader();
    const outcomes: boolean[] = [];
    const counted = countedIamReader(inner.read, (ok) => outcomes.push(ok));
    const good = counted(request());
    inner.calls[0]?.settle(fetched(1));
    expect(await good).toEqual(fetched(1));
    const bad = counted(request());
    inner.calls[1]?.settle(new Error('AccessDenied'));
    await expect(bad).rejects.toThrow('AccessDenied');
    expect(outcomes).toEqual([true, false]);
  });
});

describe('IAM read errors across processes', () => {
  // What the AWS SDK v3 throws, in the shapes isRetryableAwsError reads.
  const cases: [string, unknown][] = [
    [
      'throttling by name',
      Object.assign(new Error('Rate exceeded'), {
        name: 'Throttling',
        $metadata: { httpStatusCode: 400 },
      }),
    ],
    [
      'a server error',
      Object.assign(new Error('boom'), {
        name: 'ServiceFailure',
        $metadata: { httpStatusCode: 500 },
        $fault: 'server',
      }),
    ],
    [
      'access denied',
      Object.assign(new Error('no'), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
        $fault: 'client',
      }),
    ],
    ['no answer at all', Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' })],
    [
      'marked retryable',
      Object.assign(new Error('x'), {
        name: 'TimeoutError',
        $metadata: {},
        $retryable: { throttling: false },
      }),
    ],
  ];
  it.each(cases)('%s keeps its retry decision, name and status', (_what, original) => {
    const crossed = errorFromIamRead(JSON.parse(JSON.stringify(iamReadError(original))));
    expect(isRetryableAwsError(crossed)).toBe(isRetryableAwsError(original));
    expect(crossed.name).toBe((original as Error).name);
    expect((crossed as { $metadata?: unknown }).$metadata).toEqual(
      (original as { $metadata?: unknown }).$metadata,
    );
  });
});

describe('parsing what another process sent', () => {
  it('accepts a read request and a fetch of the right shape, nothing else', () => {
    expect(parseIamReadRequest(JSON.parse(JSON.stringify(request())))).toEqual(request());
    expect(parseIamReadRequest({ client: {}, iam: { pathPrefix: 1 } })).toBeUndefined();
    expect(parseIamReadRequest('x')).toBeUndefined();
    const role = {
      roleName: 'r',
      arn: 'arn:aws:iam::1:role/r',
      tags: {},
      trust: {},
      inline: [],
      attached: [],
    };
    expect(parseIamFetch({ ...fetched(1), roles: [role] })).toEqual({
      ...fetched(1),
      roles: [role],
    });
    expect(parseIamFetch({ ...fetched(1), roles: [{ roleName: 'r' }] })).toBeUndefined();
    expect(parseIamFetch({ roles: [], problems: [], syncedAt: 1 })).toBeUndefined();
  });
});
