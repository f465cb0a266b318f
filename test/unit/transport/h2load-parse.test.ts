import { describe, expect, it } from '@jest/globals';

import { latencyFromLog, parseH2loadOutput, percentile } from '../../../bench/lib/h2load.js';
import { benchCheckRequest, grpcFrame } from '../../../bench/lib/request.js';
import { loadAuthorizationService } from '../../../src/transport/grpc/protos.js';

const SAMPLE = `finished in 4.00s, 5837.33 req/s, 257.73KB/s
requests: 17512 total, 17512 started, 17510 done, 17500 succeeded, 10 failed, 2 errored, 0 timeout
status codes: 17512 2xx, 0 3xx, 0 4xx, 0 5xx
time for request:      764us     57.08ms      5.36ms      5.96ms    94.32%
`;

describe('bench h2load helpers', () => {
  it('parses the h2load summary', () => {
    expect(parseH2loadOutput(SAMPLE)).toEqual({
      callsPerSec: 5837.33,
      done: 17510,
      succeeded: 17500,
      failed: 12,
    });
    expect(() => parseH2loadOutput('garbage')).toThrow(/unexpected h2load output/);
  });

  it('computes nearest-rank percentiles from the per-request log', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `17954026534${i}\t200\t${(i + 1) * 10}`);
    lines.push('1795402653999\t-1\t999999');
    const lat = latencyFromLog(lines.join('\n') + '\n');
    expect(lat.logged).toBe(100);
    expect(lat.p50Ms).toBeCloseTo(0.5);
    expect(lat.p99Ms).toBeCloseTo(0.99);
    expect(percentile([], 0.5)).toBeNaN();
    expect(percentile([7], 0.99)).toBe(7);
  });

  it('frames a bench CheckRequest that the server decodes', () => {
    const frame = grpcFrame(benchCheckRequest({ headers: { authorization: 'Bearer x' } }));
    expect(frame[0]).toBe(0);
    expect(frame.readUInt32BE(1)).toBe(frame.length - 5);
    const req = loadAuthorizationService().Check.requestDeserialize(frame.subarray(5));
    expect(req.attributes?.request?.http?.headers['authorization']).toBe('Bearer x');
    expect(req.attributes?.request?.http?.headers[':path']).toBe('/orders/42?expand=items');
  });
});
