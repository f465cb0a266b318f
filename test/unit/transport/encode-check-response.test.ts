/**
 * The direct CheckResponse encoder against the generic one: for every shape
 * rolegate sends, Envoy's upstream definitions decode both to the same
 * message.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import type protobuf from 'protobufjs';
import { encodeCheckResponse } from '../../../src/transport/grpc/encode-check-response.js';
import type { CheckResponse, ProtoValue } from '../../../src/wire/ext-authz.js';
import { loadAuthorizationService } from '../../../src/transport/grpc/protos.js';
import { DENY_BODY, toCheckResponse } from '../../../src/response/check-response.js';
import type { CheckOutcome } from '../../../src/decision/outcome.js';
import type { CompiledRole } from '../../../src/config/compile.js';
import { TO_OBJECT, UPSTREAM_INCLUDE_DIRS, loadRoot } from '../../support/upstream-protos.js';

const set = (key: string, value: string) => ({
  header: { key, value },
  append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' as const,
});

const allowOutcome: CheckOutcome = {
  decisionId: '8b4d0e56-2f0c-4c1c-9d4e-3f3f4b1a6a10',
  allowed: true,
  status: 200,
  reason: 'OK',
  principal: {
    kind: 'jwt',
    issuer: 'https://idp',
    subject: 'ålice',
    claims: { email: 'å@x' },
    federated: [],
  },
  role: { name: 'r', arn: 'arn:rolegate:iam:::role/r' } as CompiledRole,
  route: {
    action: 'orders:GetOrder',
    resource: 'arn:rolegate:orders:::order/42',
    source: 'route[0]',
    tags: {},
  },
  rolesConsidered: ['r'],
  determining: [],
};

const responses: [string, CheckResponse][] = [
  [
    'an allow from toCheckResponse',
    toCheckResponse(
      allowOutcome,
      { 'x-rolegate-x': '1' },
      { claimHeaders: { 'x-email': 'email' }, requestedRoleHeader: 'x-rolegate-role' },
    ),
  ],
  [
    'a 401 from toCheckResponse',
    toCheckResponse(
      { ...allowOutcome, allowed: false, status: 401, reason: 'ERR_TOKEN_EXPIRED' },
      {},
      { claimHeaders: {}, requestedRoleHeader: 'x-rolegate-role' },
    ),
  ],
  [
    'a bare deny',
    {
      status: { code: 7 },
      denied_response: { status: { code: 'Forbidden' }, body: DENY_BODY[403] },
    },
  ],
  ['an empty allow', { status: { code: 0 }, ok_response: {} }],
  [
    'long values, default append action, numbers, booleans and nulls in metadata',
    {
      status: { code: 0, message: 'fine' },
      ok_response: {
        headers: [{ header: { key: 'x-long', value: 'v'.repeat(20_000) } }, set('x-empty', '')],
        headers_to_remove: ['x-a', 'x-b'],
      },
      dynamic_metadata: {
        fields: {
          n: { numberValue: 1.5 },
          b: { boolValue: true },
          f: { boolValue: false },
          z: { nullValue: 0 },
          s: { stringValue: '' },
        },
      },
    },
  ],
];

describe('encodeCheckResponse', () => {
  let upstream: protobuf.Type;
  const generic = loadAuthorizationService().Check.responseSerialize;
  beforeAll(() => {
    upstream = loadRoot(UPSTREAM_INCLUDE_DIRS).lookupType('envoy.service.auth.v3.CheckResponse');
  });

  it.each(responses)('encodes %s as the generic encoder does', (_name, response) => {
    const fast = encodeCheckResponse(response);
    expect(fast).toBeDefined();
    const decode = (b: Buffer) => upstream.toObject(upstream.decode(b), TO_OBJECT);
    expect(decode(fast as Buffer)).toEqual(decode(generic(response)));
  });

  it.each(responses)('leaves the reserved prefix room before %s untouched', (_name, response) => {
    const plain = encodeCheckResponse(response) as Buffer;
    const framed = encodeCheckResponse(response, 5) as Buffer;
    expect(framed.length).toBe(plain.length + 5);
    expect(framed.subarray(5).equals(plain)).toBe(true);
  });

  it('encodes 2,000 random responses as the generic encoder does', () => {
    // Compared as Envoy's upstream definitions read them: protobufjs also writes an
    // enum set to its default (append_action 0), which proto3 readers cannot tell apart.
    const decode = (b: Buffer) => upstream.toObject(upstream.decode(b), TO_OBJECT);
    // Seeded: a failure names a reproducible case.
    let seed = 0x2f6b1d;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      // The high bits: an LCG's low bits repeat with short periods.
      return (seed >>> 16) % n;
    };
    const alphabet = ['a', 'Z', '0', '-', ':', '/', '"', '\\', 'é', '€', '😀', '\u0000', '\u2028'];
    const str = () => {
      // Up to 300 characters: length prefixes of one and two bytes.
      const n = rnd(4) === 0 ? rnd(300) : rnd(40);
      let out = '';
      for (let i = 0; i < n; i++) out += alphabet[rnd(rnd(3) === 0 ? alphabet.length : 6)];
      return out;
    };
    const actions = [
      undefined,
      'APPEND_IF_EXISTS_OR_ADD',
      'ADD_IF_ABSENT',
      'OVERWRITE_IF_EXISTS_OR_ADD',
      'OVERWRITE_IF_EXISTS',
    ] as const;
    const options = () =>
      Array.from({ length: rnd(5) }, () => {
        const action = actions[rnd(actions.length)];
        return {
          header: { key: str(), value: str() },
          ...(action === undefined ? {} : { append_action: action }),
        };
      });
    const value = (): ProtoValue => {
      switch (rnd(4)) {
        case 0:
          return { stringValue: str() };
        case 1:
          return { numberValue: (rnd(2000) - 1000) / 7 };
        case 2:
          return { boolValue: rnd(2) === 0 };
        default:
          return { nullValue: 0 };
      }
    };
    for (let i = 0; i < 2000; i++) {
      const fields: Record<string, ProtoValue> = {};
      for (let f = rnd(9); f > 0; f--) fields[str()] = value();
      const message = rnd(4) === 0 ? { message: str() } : {};
      const response: CheckResponse =
        rnd(2) === 0
          ? {
              status: { code: 0, ...message },
              ok_response: {
                headers: options(),
                headers_to_remove: Array.from({ length: rnd(3) }, str),
              },
              ...(rnd(3) === 0 ? {} : { dynamic_metadata: { fields } }),
            }
          : {
              status: { code: 1 + rnd(16), ...message },
              denied_response: {
                status: {
                  code: (['Unauthorized', 'Forbidden', 'TooManyRequests'] as const)[rnd(3)]!,
                },
                headers: options(),
                ...(rnd(2) === 0 ? { body: str() } : {}),
              },
              ...(rnd(3) === 0 ? {} : { dynamic_metadata: { fields } }),
            };
      const fast = encodeCheckResponse(response);
      expect(fast).toBeDefined();
      expect(decode(fast as Buffer)).toEqual(decode(generic(response)));
    }
  });

  it('leaves shapes it does not cover to the generic encoder', () => {
    expect(
      encodeCheckResponse({
        status: { code: 0 },
        ok_response: { response_headers_to_add: [set('x', 'y')] },
      }),
    ).toBeUndefined();
    expect(
      encodeCheckResponse({
        status: { code: 0 },
        ok_response: {},
        dynamic_metadata: { fields: { s: { structValue: { fields: {} } } } },
      }),
    ).toBeUndefined();
  });
});
