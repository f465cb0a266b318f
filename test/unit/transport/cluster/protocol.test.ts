import { describe, expect, it } from '@jest/globals';
import {
  parseFromWorker,
  parseToWorker,
  type FromWorker,
  type ToWorker,
} from '../../../../src/transport/cluster/protocol.js';

describe('primary -> worker messages', () => {
  const valid: ToWorker[] = [
    { rolegate: 1, kind: 'start', slot: 1, workers: 2, file: '/etc/rolegate.yaml', hash: 'abc' },
    {
      rolegate: 1,
      kind: 'start',
      slot: 2,
      workers: 2,
      file: '<stdin>',
      hash: 'abc',
      text: 'server: {}',
    },
    { rolegate: 1, kind: 'load', hash: 'def' },
    { rolegate: 1, kind: 'metrics', id: 7 },
    { rolegate: 1, kind: 'stop' },
    {
      rolegate: 1,
      kind: 'iam-read',
      id: 4,
      fetch: { roles: [], problems: [], listed: [], syncedAt: 1 },
    },
    { rolegate: 1, kind: 'iam-read', id: 5, error: { name: 'Throttling', message: 'slow down' } },
  ];
  it.each(valid)('round-trips %j through the IPC (JSON) channel', (msg) => {
    expect(parseToWorker(JSON.parse(JSON.stringify(msg)))).toEqual(msg);
  });
  it.each([
    null,
    'stop',
    { kind: 'stop' },
    { rolegate: 2, kind: 'stop' },
    { type: 'prom-client:getMetricsReq', requestId: 1 },
    { rolegate: 1, kind: 'load' },
    { rolegate: 1, kind: 'start', slot: 1, workers: 2, hash: 'a' },
    { rolegate: 1, kind: 'start', slot: 'x', workers: 2, file: 'f', hash: 'a' },
    { rolegate: 1, kind: 'start', slot: 1, workers: 2, file: 'f', hash: 'a', text: 3 },
    // Without the worker count a worker cannot know its part of the cache bounds.
    { rolegate: 1, kind: 'start', slot: 1, file: 'f', hash: 'a' },
    { rolegate: 1, kind: 'start', slot: 1, workers: 0, file: 'f', hash: 'a' },
    { rolegate: 1, kind: 'metrics', id: 1.5 },
    { rolegate: 1, kind: 'reboot' },
    { rolegate: 1, kind: 'iam-read', id: 4 },
    { rolegate: 1, kind: 'iam-read', fetch: {} },
  ])('drops %j', (msg) => {
    expect(parseToWorker(msg)).toBeUndefined();
  });
});

describe('worker -> primary messages', () => {
  const valid: FromWorker[] = [
    { rolegate: 1, kind: 'serving', hash: 'abc', grpcPort: 9001 },
    { rolegate: 1, kind: 'serving', hash: 'abc', grpcPort: 9001, httpPort: 9003 },
    { rolegate: 1, kind: 'loaded', hash: 'abc', ok: false },
    {
      rolegate: 1,
      kind: 'metrics',
      id: 3,
      metrics: [
        {
          name: 'rolegate_check_total',
          help: 'h',
          type: 'counter',
          aggregator: 'sum',
          values: [{ value: 2, labels: { decision: 'allow' } }],
        },
      ],
    },
    { rolegate: 1, kind: 'failed', code: 'ERR_LISTEN_ADDRESS_IN_USE', message: 'in use' },
    { rolegate: 1, kind: 'iam-read', id: 2, request: { client: {}, iam: { pathPrefix: '/' } } },
  ];
  it.each(valid)('round-trips %j', (msg) => {
    expect(parseFromWorker(JSON.parse(JSON.stringify(msg)))).toEqual(msg);
  });
  it('keeps only well-formed metric entries', () => {
    const msg = parseFromWorker({
      rolegate: 1,
      kind: 'metrics',
      id: 1,
      metrics: [{ name: 'x', type: 'gauge', help: '', values: [] }, { name: 3 }, 'junk'],
    });
    expect(msg?.kind === 'metrics' ? msg.metrics.map((m) => m.name) : undefined).toEqual(['x']);
  });
  it.each([
    { rolegate: 1, kind: 'serving', hash: 'a', grpcPort: 70_000 },
    { rolegate: 1, kind: 'serving', hash: 'a', grpcPort: 1, httpPort: -1 },
    { rolegate: 1, kind: 'loaded', hash: 'a' },
    { rolegate: 1, kind: 'metrics', id: 1, metrics: {} },
    { rolegate: 1, kind: 'failed', code: 'ERR_X' },
    { rolegate: 1, kind: 'serving' },
    [1, 2],
  ])('drops %j', (msg) => {
    expect(parseFromWorker(msg)).toBeUndefined();
  });
});
