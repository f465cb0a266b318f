/**
 * Fuzzing the CheckRequest decoder (issue 16, "Fuzzing"): random, truncated,
 * oversized and mutated frames derived from valid encoded CheckRequests go
 * through the real decoder (the server's direct decoder, decode-check-request.ts;
 * whenever the generic proto-loader decoder reads a frame too, both must
 * normalise it to the same request),
 * normalizeCheckRequest, and the real gRPC server of an in-process rolegate
 * (a raw client with a passthrough serializer sends the bytes as the request
 * message). Properties: every input is decided within a time bound; every
 * input either decodes or is refused; an undecodable frame never gets an OK
 * response; an OK response only for a frame that decodes to a request
 * carrying the valid reader token unchanged. Seeded and bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import type { Rolegate } from '../../../src/main.js';
import { normalizeCheckRequest } from '../../../src/request/normalize.js';
import type { CheckRequestFields, DecodedCheckResponse } from '../../../src/wire/ext-authz.js';
import {
  CheckRequestDecodeError,
  decodeCheckRequest,
} from '../../../src/transport/grpc/decode-check-request.js';
import {
  CHECK_METHOD_PATH,
  encodeCheckRequest,
  loadAuthorizationService,
} from '../../../src/transport/grpc/protos.js';
import { JwksIssuer } from '../../harness/jwks.js';
import { frontDoorConfig, readerToken } from '../../support/front-door.js';
import { captureLogger } from '../../support/log-capture.js';
import { startTestRolegate } from '../../support/rolegate.js';

const SEED = 0x16f022;
const RUNS = 1_500;
const DECIDE_WITHIN_MS = 2_000;
const HOST = 'api.example.com';

const idp = new JwksIssuer({ audience: 'orders-api' });
const audit = captureLogger();
const ops = captureLogger('error');
let rolegate: Rolegate;
let raw: grpc.Client;
let token = '';
const service = loadAuthorizationService();

/** A valid CheckRequest of a reader (method, path and headers varied by the caller). */
function validRequest(method: string, path: string, auth: string): Buffer {
  return encodeCheckRequest({
    attributes: {
      source: { address: { socket_address: { address: '127.0.0.1', port_value: 40000 } } },
      request: {
        http: {
          id: 'r1',
          method,
          path,
          host: HOST,
          headers: { host: HOST, authorization: auth, 'x-user-email': 'm@example.com' },
        },
      },
    },
  });
}

type Decoded = { ok: true; message: CheckRequestFields } | { ok: false };

/** The server's decoder; checks it against the generic one where both read the frame. */
function decode(frame: Buffer): Decoded {
  let message: CheckRequestFields;
  try {
    message = decodeCheckRequest(frame);
  } catch (err) {
    expect(err).toBeInstanceOf(CheckRequestDecodeError);
    return { ok: false };
  }
  let generic: CheckRequestFields | undefined;
  try {
    generic = service.Check.requestDeserialize(frame);
  } catch {
    generic = undefined;
  }
  if (generic !== undefined && readableByNormalizer(message)) {
    expect(normalizeCheckRequest(message)).toEqual(normalizeCheckRequest(generic));
  }
  return { ok: true, message };
}

type Answer = { kind: 'response'; code: number } | { kind: 'error'; code: grpc.status };

/** Sends the bytes as they are as the request message; decodes the answer with the real protos. */
function send(frame: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer in time')), DECIDE_WITHIN_MS);
    raw.makeUnaryRequest<Buffer, Buffer>(
      CHECK_METHOD_PATH,
      (b) => b,
      (b) => b,
      frame,
      new grpc.Metadata(),
      { deadline: Date.now() + DECIDE_WITHIN_MS },
      (err, body) => {
        clearTimeout(timer);
        if (err) return resolve({ kind: 'error', code: err.code });
        if (body === undefined) return reject(new Error('no body and no error'));
        const response = service.Check.responseDeserialize(body) as unknown as DecodedCheckResponse;
        resolve({ kind: 'response', code: response.status?.code ?? 0 });
      },
    );
  });
}

function authorizationOf(message: CheckRequestFields): unknown {
  const headers = message.attributes?.request?.http?.headers as Record<string, unknown> | undefined;
  return headers?.['authorization'];
}

/** Whether normalizeCheckRequest reads the decoded message (it may refuse by throwing). */
function readableByNormalizer(message: CheckRequestFields): boolean {
  try {
    normalizeCheckRequest(message);
    return true;
  } catch {
    return false;
  }
}

const isAllow = (a: Answer) => a.kind === 'response' && a.code === 0;

beforeAll(async () => {
  await idp.start();
  ({ rolegate } = await startTestRolegate(frontDoorConfig(idp), { ops, audit }));
  raw = new grpc.Client(`127.0.0.1:${rolegate.grpcPort}`, grpc.credentials.createInsecure());
  token = await readerToken(idp);
}, 30_000);

afterAll(async () => {
  raw?.close();
  await rolegate?.stop();
  await idp.stop();
});

/** Mutations of a valid frame: flip, overwrite, insert, delete, truncate, extend, splice. */
const mutation = (length: number): fc.Arbitrary<(b: Buffer) => Buffer> =>
  fc.oneof(
    fc
      .record({ at: fc.nat(length - 1), bit: fc.integer({ min: 0, max: 7 }) })
      .map(({ at, bit }) => (b: Buffer) => {
        const c = Buffer.from(b);
        c[at % c.length] = (c[at % c.length] ?? 0) ^ (1 << bit);
        return c;
      }),
    fc
      .record({ at: fc.nat(length - 1), byte: fc.integer({ min: 0, max: 255 }) })
      .map(({ at, byte }) => (b: Buffer) => {
        const c = Buffer.from(b);
        c[at % c.length] = byte;
        return c;
      }),
    fc.record({ at: fc.nat(length), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }).map(
      ({ at, bytes }) =>
        (b: Buffer) =>
          Buffer.concat([b.subarray(0, at), bytes, b.subarray(at)]),
    ),
    fc.record({ at: fc.nat(length - 1), n: fc.integer({ min: 1, max: 16 }) }).map(
      ({ at, n }) =>
        (b: Buffer) =>
          Buffer.concat([b.subarray(0, at), b.subarray(at + n)]),
    ),
    fc.nat(length - 1).map((at) => (b: Buffer) => b.subarray(0, at)),
    fc
      .integer({ min: 1, max: 4 })
      .map((times) => (b: Buffer) => Buffer.concat(Array(times + 1).fill(b) as Buffer[])),
    fc
      .record({
        from: fc.nat(length - 1),
        to: fc.nat(length - 1),
        n: fc.integer({ min: 1, max: 32 }),
      })
      .map(
        ({ from, to, n }) =>
          (b: Buffer) =>
            Buffer.concat([b.subarray(0, to), b.subarray(from, from + n), b.subarray(to)]),
      ),
  );

const methods = fc.constantFrom('GET', 'DELETE', 'get', 'POST');
const paths = fc.constantFrom(
  '/orders/42',
  '/private/3',
  '/orders/x/../9',
  '/admin',
  '/orders/1%2F2',
);

describe('CheckRequest frames through the decoder and the real gRPC server', () => {
  it('the unmutated reader request is allowed (the oracle below is not vacuous)', async () => {
    const frame = validRequest('GET', '/orders/42', `Bearer ${token}`);
    expect(await send(frame)).toEqual({ kind: 'response', code: 0 });
    const decoded = decode(frame);
    expect(decoded.ok).toBe(true);
  });

  it('mutated valid frames: decoded or refused, never an allow without the valid token', async () => {
    let decodedCount = 0;
    let refused = 0;
    let allowedCount = 0;
    await fc.assert(
      fc.asyncProperty(
        methods,
        paths,
        fc.boolean(),
        fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: 1 << 30 }),
        async (method, path, withToken, picks, seed) => {
          const auth = withToken ? `Bearer ${token}` : 'Bearer not.a.jwt';
          const base = validRequest(method, path, auth);
          const all = fc.sample(mutation(base.length), { seed, numRuns: picks.length });
          const frame = all.reduce((b, m) => (b.length === 0 ? b : m(b)), base);
          const decoded = decode(frame);
          const answer = await send(frame);
          const readable = decoded.ok && readableByNormalizer(decoded.message);
          const carriesToken = decoded.ok && authorizationOf(decoded.message) === `Bearer ${token}`;
          if (decoded.ok) decodedCount++;
          else refused++;
          if (isAllow(answer)) allowedCount++;
          // An allow only for a frame that decodes, normalizes and carries the valid token.
          expect(isAllow(answer) && !(decoded.ok && readable && carriesToken)).toBe(false);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    expect(decodedCount + refused).toBe(RUNS);
    expect(decodedCount).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    // Some mutations keep the request intact enough to be allowed: the property is not vacuous.
    expect(allowedCount).toBeGreaterThan(0);
  }, 20_000);

  it('random bytes and oversized frames are decoded or refused, never allowed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }),
          fc
            .record({
              byte: fc.integer({ min: 0, max: 255 }),
              n: fc.integer({ min: 1, max: 1 << 20 }),
            })
            .map(({ byte, n }) => new Uint8Array(n).fill(byte)),
        ),
        async (bytes) => {
          const frame = Buffer.from(bytes);
          const decoded = decode(frame);
          const answer = await send(frame);
          expect(isAllow(answer)).toBe(false);
          expect(decoded.ok && authorizationOf(decoded.message) === `Bearer ${token}`).toBe(false);
        },
      ),
      { seed: SEED + 1, numRuns: 500 },
    );
  }, 20_000);
});
