/**
 * The one claim rule (src/identity/claims.ts), table-driven, and the four
 * readers that use it: policy context keys, groups and principal tags,
 * upstream headers, STS session tags.
 */
import { describe, expect, it } from '@jest/globals';
import { requestContextResolver } from '../../../src/check/context.js';
import {
  claimAt,
  claimText,
  claimTexts,
  claimValue,
  MAX_CLAIM_PATH_SEGMENTS,
} from '../../../src/identity/claims.js';
import { principalFromClaims } from '../../../src/identity/jwt.js';
import { canonicalRequest } from '../../../src/request/normalize.js';
import { upstreamHeaders } from '../../../src/response/upstream-headers.js';
import { sessionTagsFor } from '../../../src/aws/sts-broker.js';
import { issuerConfig } from '../../support/issuer.js';

const CLAIMS = {
  iss: 'https://idp.example.com',
  sub: 'alice',
  email: 'alice@example.com',
  Email: 'ALICE@EXAMPLE.COM',
  Team: 'platform',
  realm_access: { roles: ['readers', 'admins'], Level: 3 },
  'kubernetes.io': { namespace: 'orders', serviceaccount: { name: 'api' } },
  kubernetes: { other: true },
  org: { unit: { team: 'data', tags: ['a', 7, true, { x: 1 }, null] } },
  mixed: ['a', { b: 1 }],
  empty: [],
  nothing: null,
  flag: false,
  count: 0,
  dup: { Ab: 1, AB: 2 },
  'a.b': 'dotted',
  a: { b: 'nested' },
};

describe('claimAt: paths and names', () => {
  it.each<[string, unknown]>([
    ['sub', 'alice'],
    // exact name first, then the one case-insensitive match
    ['email', 'alice@example.com'],
    ['Email', 'ALICE@EXAMPLE.COM'],
    ['team', 'platform'],
    ['TEAM', 'platform'],
    // any depth, names ignoring case at every level
    ['realm_access.roles', ['readers', 'admins']],
    ['REALM_ACCESS.level', 3],
    ['org.unit.team', 'data'],
    // claim names holding dots: longest name first, shorter ones when it leads nowhere
    ['kubernetes.io.namespace', 'orders'],
    ['kubernetes.io.serviceaccount.name', 'api'],
    ['kubernetes.other', true],
    ['a.b', 'dotted'],
    // absent, ambiguous, malformed, lists not indexed, no prototype members
    ['missing', undefined],
    ['org.unit.missing', undefined],
    ['dup.ab', undefined],
    ['dup.Ab', 1],
    ['realm_access.roles.0', undefined],
    ['', undefined],
    ['org..team', undefined],
    ['.sub', undefined],
    ['constructor', undefined],
    ['__proto__', undefined],
    ['org.toString', undefined],
    ['nothing', null],
  ])('%s -> %j', (path, expected) => {
    expect(claimAt(CLAIMS, path)).toEqual(expected);
  });

  it(`reads nothing past ${MAX_CLAIM_PATH_SEGMENTS} segments`, () => {
    let deep: Record<string, unknown> = { leaf: 'x' };
    for (let i = 0; i < MAX_CLAIM_PATH_SEGMENTS; i++) deep = { n: deep };
    const path = `${'n.'.repeat(MAX_CLAIM_PATH_SEGMENTS)}leaf`;
    expect(claimAt(deep, path)).toBeUndefined();
    expect(claimAt(deep, `${'n.'.repeat(MAX_CLAIM_PATH_SEGMENTS - 1)}n`)).toEqual({ leaf: 'x' });
  });
});

describe('claimValue, claimTexts and claimText: how values render', () => {
  it.each<[string, unknown, string[], string | undefined, string | undefined]>([
    // path, policy value, texts (groups), header text (','), principal tag (no separator)
    ['sub', 'alice', ['alice'], 'alice', 'alice'],
    ['realm_access.level', 3, ['3'], '3', '3'],
    ['flag', false, ['false'], 'false', 'false'],
    ['count', 0, ['0'], '0', '0'],
    [
      'realm_access.roles',
      ['readers', 'admins'],
      ['readers', 'admins'],
      'readers,admins',
      undefined,
    ],
    ['org.unit.tags', ['a', 7, true], ['a', '7', 'true'], undefined, undefined],
    ['mixed', ['a'], ['a'], undefined, undefined],
    ['empty', [], [], '', undefined],
    ['org.unit', undefined, [], undefined, undefined],
    ['nothing', undefined, [], undefined, undefined],
    ['missing', undefined, [], undefined, undefined],
  ])('%s', (path, value, texts, header, tag) => {
    expect(claimValue(claimAt(CLAIMS, path))).toEqual(value);
    expect(claimTexts(CLAIMS, path)).toEqual(texts);
    expect(claimText(CLAIMS, path, ',')).toBe(header);
    expect(claimText(CLAIMS, path)).toBe(tag);
  });
});

describe('every reader follows the one rule', () => {
  const issuer = issuerConfig('https://idp.example.com', {
    groupsClaim: 'REALM_ACCESS.roles',
    tagClaims: { team: 'team', ns: 'kubernetes.io.namespace', roles: 'realm_access.roles' },
  });
  const principal = principalFromClaims(CLAIMS, issuer);
  const request = canonicalRequest({
    method: 'GET',
    target: '/',
    host: 'h',
    headers: {},
    secure: false,
    contextExtensions: {},
  });
  const context = requestContextResolver(request, principal, undefined, 0);

  it('groups and principal tags (a list claim gives no principal tag)', () => {
    expect(principal.groups).toEqual(['readers', 'admins']);
    expect(principal.tags).toEqual({ team: 'platform', ns: 'orders' });
    expect(principal.federated).toEqual(['https://idp.example.com', 'idp.example.com']);
  });

  it.each<[string, unknown]>([
    ['jwt:team', 'platform'],
    ['jwt:realm_access.roles', ['readers', 'admins']],
    ['jwt:org.unit.team', 'data'],
    ['jwt:kubernetes.io.namespace', 'orders'],
    ['jwt:org.unit.tags', ['a', 7, true]],
    ['jwt:org.unit', undefined],
    ['aws:principaltag/ns', 'orders'],
    ['aws:principaltag/roles', undefined],
    ['rolegate:groups', ['readers', 'admins']],
  ])('policy key %s -> %j (keys arrive lower-cased)', (key, expected) => {
    expect(context(key)).toEqual(expected);
  });

  it('upstream headers and STS session tags render lists with their own separator', () => {
    const headers = upstreamHeaders(principal, 'arn:r', 'id', {
      'x-roles': 'realm_access.roles',
      'x-team': 'TEAM',
      'x-ns': 'kubernetes.io.namespace',
      'x-unit': 'org.unit',
    });
    expect(headers.ok && Object.fromEntries(headers.headers)).toMatchObject({
      'x-roles': 'readers,admins',
      'x-team': 'platform',
      'x-ns': 'orders',
    });
    expect(headers.ok && headers.headers.has('x-unit')).toBe(false);
    expect(
      sessionTagsFor(principal, { roles: 'realm_access.roles', team: 'Team', unit: 'org.unit' }),
    ).toEqual([
      { Key: 'roles', Value: 'readers:admins' },
      { Key: 'team', Value: 'platform' },
    ]);
  });

  it('requiredClaims read paths by the same rule', () => {
    const required = (requiredClaims: Record<string, string[] | null>) => () =>
      principalFromClaims(CLAIMS, { ...issuer, requiredClaims });
    expect(required({ 'realm_access.roles': ['admins'] })).not.toThrow();
    expect(required({ 'kubernetes.io.namespace': null })).not.toThrow();
    expect(required({ TEAM: ['platform'] })).not.toThrow();
    expect(required({ 'org.unit.team': ['sales'] })).toThrow(
      expect.objectContaining({ code: 'ERR_TOKEN_CLAIM' }),
    );
    expect(required({ nothing: null })).toThrow(
      expect.objectContaining({ code: 'ERR_TOKEN_CLAIM' }),
    );
  });

  it('a principal needs a non-empty string sub', () => {
    expect(() => principalFromClaims({ ...CLAIMS, sub: '' }, issuer)).toThrow(
      expect.objectContaining({ code: 'ERR_TOKEN_CLAIM' }),
    );
    expect(() => principalFromClaims({ ...CLAIMS, sub: 7 }, issuer)).toThrow(
      expect.objectContaining({ code: 'ERR_TOKEN_CLAIM' }),
    );
  });
});
