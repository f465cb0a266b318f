/**
 * The direct CheckResponse encoder against the generic one: for every shape
 * rolegate sends, Envoy's upstream definitions decode both to the same
 * message.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import type protobuf from 'protobufjs';
import { encodeCheckResponse } from '../../../src/transport/grpc/encode-check-response.js';
import type { CheckResponse } from '../../../src/transport/grpc/messages.js';
import { loadAuthorizationService } from '../../../src/transport/grpc/protos.js';
import { DENY_BODY, toCheckResponse } from '../../../src/response/check-response.js';
import type { CheckOutcome } from '../../../src/decision/outcome.js';
import type { RuntimeRole } from '../../../src/config/compile.js';
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
  role: { name: 'r', arn: 'arn:rolegate:iam:::role/r' } as RuntimeRole,
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
