/**
 * gRPC over HTTP/2 framing (src/transport/grpc/wire.ts), against the
 * protocol document: https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md
 * ("Timeout → "grpc-timeout" TimeoutValue TimeoutUnit", "Length-Prefixed-Message").
 */
import { describe, expect, it } from '@jest/globals';
import {
  FRAME_PREFIX_BYTES,
  frameMessage,
  GrpcStatus,
  GrpcWireError,
  parseGrpcTimeout,
} from '../../../src/transport/grpc/wire.js';

describe('parseGrpcTimeout', () => {
  it.each([
    ['1H', 3_600_000],
    ['2M', 120_000],
    ['3S', 3_000],
    ['250m', 250],
    ['1500u', 1.5],
    ['2000000n', 2],
    ['0m', 0],
    ['99999999S', 99_999_999_000],
  ])('%s is %d ms', (value, ms) => {
    expect(parseGrpcTimeout(value)).toBeCloseTo(ms, 9);
  });

  it('is undefined when the header is absent', () => {
    expect(parseGrpcTimeout(undefined)).toBeUndefined();
  });

  // TimeoutValue is at most 8 ASCII digits; the unit one of H M S m u n.
  it.each(['', 'm', '123456789m', '10', '10x', '10s', '-1m', '1.5S', ' 1S', '1S ', '1S,2S', '１S'])(
    'refuses %j with INTERNAL',
    (value) => {
      let caught: unknown;
      try {
        parseGrpcTimeout(value);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(GrpcWireError);
      expect((caught as GrpcWireError).status).toBe(GrpcStatus.INTERNAL);
    },
  );

  it('refuses a repeated header', () => {
    expect(() => parseGrpcTimeout(['1S', '2S'])).toThrow(GrpcWireError);
  });
});

describe('frameMessage', () => {
  it('prefixes an uncompressed flag and the big-endian length', () => {
    const frame = frameMessage(Buffer.from('abc'));
    expect([...frame]).toEqual([0, 0, 0, 0, 3, 0x61, 0x62, 0x63]);
    expect(FRAME_PREFIX_BYTES).toBe(5);
  });

  it('frames an empty message as the prefix alone', () => {
    expect([...frameMessage(Buffer.alloc(0))]).toEqual([0, 0, 0, 0, 0]);
  });
});
