import { describe, expect, it } from '@jest/globals';
import { DENY_BODY, denyAnswer, toCheckResponse } from '../../../src/response/check-response.js';
import type { CheckOutcome } from '../../../src/decision/outcome.js';
import type { CompiledRole } from '../../../src/config/compile.js';
import { upstreamHeaders } from '../../../src/response/upstream-headers.js';

const role = { name: 'reader', arn: 'arn:rolegate:iam:::role/reader' } as CompiledRole;
const principal = {
  kind: 'jwt' as const,
  issuer: 'https://idp',
  subject: 'alice',
  claims: { email: 'a@x', org: { team: 'blue' } },
  federated: ['https://idp'],
};
const settings = {
  claimHeaders: { 'x-user-email': 'email', 'x-team': 'org.team', 'x-missing': 'nope' },
  requestedRoleHeader: 'x-rolegate-role',
};

const computed = upstreamHeaders(principal, role.arn, 'd-1', settings.claimHeaders);
if (!computed.ok) throw new Error('fixture headers must be valid');

const allow: CheckOutcome = {
  decisionId: 'd-1',
  allowed: true,
  status: 200,
  reason: 'OK',
  principal,
  role,
  route: { action: 'orders:GetOrder', resource: 'arn:x', source: 'route[0]', tags: {} },
  rolesConsidered: ['reader'],
  determining: [],
  upstreamHeaders: computed.headers,
};

describe('toCheckResponse', () => {
  it('allows with identity headers, claim headers and dynamic metadata', () => {
    const res = toCheckResponse(allow, {}, settings);
    expect(res.status.code).toBe(0);
    if (!('ok_response' in res)) throw new Error('expected ok_response');
    const headers = Object.fromEntries(
      (res.ok_response.headers ?? []).map((h) => [h.header.key, h.header.value]),
    );
    expect(headers).toEqual({
      'x-rolegate-principal': 'alice',
      'x-rolegate-role': role.arn,
      'x-rolegate-decision-id': 'd-1',
      'x-user-email': 'a@x',
      'x-team': 'blue',
    });
    expect(
      res.ok_response.headers?.every((h) => h.append_action === 'OVERWRITE_IF_EXISTS_OR_ADD'),
    ).toBe(true);
    expect(res.dynamic_metadata?.fields['role']).toEqual({ stringValue: role.arn });
  });

  it('removes inbound owned headers it does not overwrite', () => {
    const res = toCheckResponse(
      allow,
      {
        'x-rolegate-foo': '1',
        'x-rolegate-principal': 'mallory',
        'x-missing': 'forged',
        'x-rolegate-role': 'admin',
        accept: '*/*',
      },
      settings,
    );
    if (!('ok_response' in res)) throw new Error('expected ok_response');
    expect([...(res.ok_response.headers_to_remove ?? [])].sort()).toEqual([
      'x-missing',
      'x-rolegate-foo',
    ]);
  });

  it('strips inbound method-override headers named in stripInbound', () => {
    const res = toCheckResponse(
      allow,
      { 'x-http-method-override': 'DELETE', 'x-method-override': 'PUT', accept: '*/*' },
      { ...settings, stripInbound: ['x-http-method-override', 'x-method-override'] },
    );
    if (!('ok_response' in res)) throw new Error('expected ok_response');
    expect([...(res.ok_response.headers_to_remove ?? [])].sort()).toEqual([
      'x-http-method-override',
      'x-method-override',
    ]);
  });

  it('denies 400 with its own fixed body for a request that cannot be read', () => {
    const res = toCheckResponse(
      { ...allow, allowed: false, status: 400, reason: 'ERR_PATH_TRAVERSAL' },
      {},
      settings,
    );
    expect(res.status.code).toBe(3);
    if (!('denied_response' in res)) throw new Error('expected denied_response');
    expect(res.denied_response.status.code).toBe('BadRequest');
    expect(res.denied_response.body).toBe(DENY_BODY[400]);
    const names = (res.denied_response.headers ?? []).map((h) => h.header.key);
    expect(names).not.toContain('www-authenticate');
  });

  it('denies 401 with WWW-Authenticate and the fixed body', () => {
    const res = toCheckResponse(
      { ...allow, allowed: false, status: 401, reason: 'ERR_TOKEN_EXPIRED' },
      {},
      settings,
    );
    expect(res.status.code).toBe(16);
    if (!('denied_response' in res)) throw new Error('expected denied_response');
    expect(res.denied_response.status.code).toBe('Unauthorized');
    expect(res.denied_response.body).toBe(DENY_BODY[401]);
    const names = (res.denied_response.headers ?? []).map((h) => h.header.key);
    expect(names).toContain('www-authenticate');
    expect(names).toContain('x-rolegate-decision-id');
  });

  it.each([
    ['ERR_TOKEN_EXPIRED', 'Bearer realm="rolegate", error="invalid_token"'],
    ['ERR_CREDENTIAL_MISSING', 'Bearer realm="rolegate"'],
  ] as const)('%s: WWW-Authenticate is %s (RFC 6750 3.1)', (reason, expected) => {
    const res = denyAnswer({ ...allow, allowed: false, status: 401, reason });
    expect(res.headers['www-authenticate']).toBe(expected);
  });

  it('denies 403 with a body that never names the reason or the policy', () => {
    const res = toCheckResponse(
      { ...allow, allowed: false, status: 403, reason: 'ERR_EXPLICIT_DENY' },
      {},
      settings,
    );
    expect(res.status.code).toBe(7);
    if (!('denied_response' in res)) throw new Error('expected denied_response');
    expect(res.denied_response.body).toBe(DENY_BODY[403]);
    expect(res.denied_response.body).not.toMatch(/ERR_|orders|alice/);
  });
});
