/** Outcomes and requests for the observe unit tests. */
import type { CheckOutcome } from '../../../src/decision/outcome.js';
import type { CompiledRole } from '../../../src/config/compile.js';
import type { Principal } from '../../../src/identity/principal.js';
import type { AuthzRequest } from '../../../src/request/types.js';

export const TOKEN =
  'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImNhbmFyeSI6IkNBTkFSWS1VTklULTcxIn0.c2lnbmF0dXJlLWNhbmFyeS03MQ';

export function request(overrides: Partial<AuthzRequest> = {}): AuthzRequest {
  return {
    requestId: 'req-1',
    method: 'GET',
    path: '/orders/42',
    query: new Map(),
    host: 'api.example.com',
    headers: {
      authorization: `Bearer ${TOKEN}`,
      cookie: 'session=COOKIE-CANARY-71',
      'proxy-authorization': 'Basic UFJPWFktQ0FOQVJZ',
      'x-request-id': 'req-1',
    },
    sourceAddress: '203.0.113.7',
    secure: true,
    contextExtensions: {},
    ...overrides,
  };
}

const principal: Principal = {
  kind: 'jwt',
  issuer: 'https://idp.example.com',
  subject: 'alice',
  claims: { sub: 'alice', canary: 'CANARY-UNIT-71' },
  federated: ['https://idp.example.com'],
};

export function allowOutcome(): CheckOutcome {
  return {
    decisionId: 'dec-allow',
    allowed: true,
    status: 200,
    reason: 'OK',
    principal,
    route: {
      action: 'orders:GetOrder',
      resource: 'arn:rolegate:orders:::order/42',
      source: 'route[0]',
      tags: {},
    },
    rolesConsidered: ['orders-reader'],
    role: { name: 'orders-reader', arn: 'arn:rolegate:iam:::role/orders-reader' } as CompiledRole,
    determining: [{ layer: 'identity', effect: 'Allow', policy: 'read', statement: 'Read' }],
  };
}

export function denyOutcome(): CheckOutcome {
  return {
    decisionId: 'dec-deny',
    allowed: false,
    status: 403,
    reason: 'ERR_IMPLICIT_DENY',
    principal,
    route: {
      action: 'orders:DeleteOrder',
      resource: 'arn:rolegate:orders:::order/42',
      source: 'route[1]',
      tags: {},
    },
    rolesConsidered: ['orders-reader'],
    determining: [{ layer: 'identity', effect: 'ImplicitDeny' }],
  };
}
