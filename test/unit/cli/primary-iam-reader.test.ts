import { describe, expect, it } from '@jest/globals';
import { primaryIamReader } from '../../../src/cli/primary-iam-reader.js';
import type { FromWorker } from '../../../src/transport/cluster/protocol.js';
import type { IamReadRequest } from '../../../src/aws/iam-reader.js';
import { awsIamSchema } from '../../../src/aws/config.js';

const request: IamReadRequest = { client: {}, iam: awsIamSchema.parse({}) };

function withChannel() {
  const sent: FromWorker[] = [];
  const reader = primaryIamReader((m) => sent.push(m));
  const idOf = (i: number) => (sent[i] as Extract<FromWorker, { kind: 'iam-read' }>).id;
  return { sent, reader, idOf };
}

describe('primaryIamReader', () => {
  it('asks the primary and resolves with its answer to the same id', async () => {
    const { sent, reader, idOf } = withChannel();
    const a = reader.read(request);
    const b = reader.read(request);
    expect(sent.map((m) => m.kind)).toEqual(['iam-read', 'iam-read']);
    const fetch = { roles: [], problems: [], listed: [], syncedAt: 5 };
    reader.answer({ rolegate: 1, kind: 'iam-read', id: idOf(1), fetch: { ...fetch, syncedAt: 6 } });
    reader.answer({ rolegate: 1, kind: 'iam-read', id: idOf(0), fetch });
    expect(await a).toEqual(fetch);
    expect((await b).syncedAt).toBe(6);
  });

  it("rejects with the primary's error, as the SDK's would look", async () => {
    const { reader, idOf } = withChannel();
    const read = reader.read(request);
    reader.answer({
      rolegate: 1,
      kind: 'iam-read',
      id: idOf(0),
      error: { name: 'Throttling', message: 'Rate exceeded', metadata: { httpStatusCode: 400 } },
    });
    await expect(read).rejects.toMatchObject({
      name: 'Throttling',
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('rejects an answer of the wrong shape, and every read when the primary is gone', async () => {
    const { reader, idOf } = withChannel();
    const bad = reader.read(request);
    const pending = reader.read(request);
    reader.answer({ rolegate: 1, kind: 'iam-read', id: idOf(0), fetch: { roles: 'no' } });
    await expect(bad).rejects.toThrow('something else');
    reader.close();
    await expect(pending).rejects.toThrow('the primary is gone');
  });
});
