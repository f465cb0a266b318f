/**
 * `rolegate simulate --config FILE --token TOKEN --method M --path P ...`:
 * one request on the command line, verified against a real issuer (keys
 * fetched over HTTP from the JwksIssuer harness) and decided as live.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { stringify } from 'yaml';
import { JwksIssuer } from '../../harness/jwks.js';
import { lines, runCli, type CliRun } from './cli-io.js';

// Key fetches over loopback: generous on a loaded machine (the CLI waits up to 5 s for keys).
jest.setTimeout(20_000);

const issuer = new JwksIssuer({ audience: 'orders-api' });
const cookieIssuer = new JwksIssuer({ audience: 'orders-api' });
const stranger = new JwksIssuer({ audience: 'orders-api' });
let file = '';

function config(): object {
  const trust = (groups: string) => ({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: [issuer.issuer, cookieIssuer.issuer] },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { 'ForAnyValue:StringEquals': { 'rolegate:groups': groups } },
      },
    ],
  });
  return {
    issuers: [
      {
        issuer: issuer.issuer,
        audiences: ['orders-api'],
        jwksUri: issuer.jwksUri,
        groupsClaim: 'realm_access.roles',
      },
      {
        issuer: cookieIssuer.issuer,
        audiences: ['orders-api'],
        jwksUri: cookieIssuer.jwksUri,
        groupsClaim: 'groups',
        token: { cookie: 'session' },
      },
    ],
    roles: [
      {
        name: 'reader',
        trustPolicy: trust('readers'),
        policies: {
          read: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*' }],
          },
        },
      },
      {
        name: 'admin',
        trustPolicy: trust('admins'),
        policies: {
          all: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: 'orders:*',
                Resource: '*',
                Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
              },
            ],
          },
        },
        permissionsBoundary: {
          Version: '2012-10-17',
          Statement: [
            { Sid: 'All', Effect: 'Allow', Action: 'orders:*', Resource: '*' },
            {
              Sid: 'ApprovedDeletes',
              Effect: 'Deny',
              Action: 'orders:DeleteOrder',
              Resource: '*',
              Condition: { StringNotEquals: { 'http:header/x-approve': 'yes' } },
            },
          ],
        },
      },
    ],
    routes: [
      { method: 'GET', path: '/orders/{id}', action: 'orders:GetOrder', resource: 'arn:o:::{id}' },
      {
        method: 'DELETE',
        path: '/orders/{id}',
        action: 'orders:DeleteOrder',
        resource: 'arn:o:::{id}',
      },
    ],
  };
}

beforeAll(async () => {
  await Promise.all([issuer.start(), cookieIssuer.start(), stranger.start()]);
  file = join(mkdtempSync(join(tmpdir(), 'rolegate-sim-')), 'rolegate.yaml');
  writeFileSync(file, stringify(config()));
});

afterAll(async () => {
  await Promise.all([issuer.stop(), cookieIssuer.stop(), stranger.stop()]);
});

const sim = (args: string[], stdin = '') => runCli(['simulate', '--config', file, ...args], stdin);

function answer(r: CliRun, token: string): Record<string, unknown> {
  expect(r.err).toBe('');
  expect(r.status).toBe(0);
  expect(r.out).not.toContain(token);
  const [line, ...more] = lines(r.out);
  expect(more).toEqual([]);
  return JSON.parse(line ?? '') as Record<string, unknown>;
}

describe('rolegate simulate --token (one request on the command line)', () => {
  it('verifies the token with the configured issuer (groupsClaim applied) and allows', async () => {
    const token = await issuer.mint({ realm_access: { roles: ['readers'] } }, { subject: 'alice' });
    const jwksBefore = issuer.requestCount('/jwks.json');
    const a = answer(await sim(['--token', token, '--path', '/orders/7']), token);
    expect(issuer.requestCount('/jwks.json')).toBe(jwksBefore + 1); // keys fetched as serve does
    expect(a).toEqual({
      decision: 'Allow',
      status: 200,
      reason: 'OK',
      action: 'orders:GetOrder',
      resource: 'arn:o:::7',
      route: 'route[0]',
      assumableRoles: ['reader'],
      rolesConsidered: ['reader'],
      role: 'reader',
      determining: [
        expect.objectContaining({ layer: 'identity', policy: 'read', effect: 'Allow' }),
      ],
    });
  });

  it('answers "can this token DELETE /orders/7?" with headers and the source address', async () => {
    const token = await issuer.mint({ realm_access: { roles: ['admins'] } }, { subject: 'root' });
    const base = ['--token', token, '-X', 'DELETE', '--path', '/orders/7'];
    const unapproved = answer(await sim([...base, '--source-ip', '::ffff:10.1.2.3']), token);
    expect(unapproved).toMatchObject({
      decision: 'Deny',
      status: 403,
      reason: 'ERR_EXPLICIT_DENY',
    });
    expect(unapproved['determining']).toContainEqual(
      expect.objectContaining({ layer: 'boundary', statement: 'ApprovedDeletes', effect: 'Deny' }),
    );
    const approved = answer(
      await sim([...base, '-H', 'X-Approve: yes', '--source-ip', '::ffff:10.1.2.3']),
      token,
    );
    expect(approved).toMatchObject({ decision: 'Allow', role: 'admin' });
    const outside = answer(
      await sim([...base, '--header', 'x-approve:yes', '--source-ip', '192.0.2.1']),
      token,
    );
    expect(outside).toMatchObject({ decision: 'Deny', reason: 'ERR_IMPLICIT_DENY' });
  });

  it('denies what live denies: an expired token, an unknown issuer, a forged signature', async () => {
    const expired = await issuer.mint(
      { realm_access: { roles: ['readers'] } },
      { subject: 'alice', expiresIn: -120, issuedAt: Math.floor(Date.now() / 1000) - 600 },
    );
    const expiredAnswer = answer(await sim(['--token', expired, '--path', '/orders/7']), expired);
    expect(expiredAnswer).toMatchObject({
      decision: 'Deny',
      status: 401,
      reason: 'ERR_TOKEN_EXPIRED',
      assumableRoles: [],
      // Why, for the operator: exp against the clock and the allowed skew.
      explanation: [{ identity: { check: 'time', issuer: issuer.issuer, time: { claim: 'exp' } } }],
    });
    const [why] = expiredAnswer['explanation'] as { identity: { message: string } }[];
    expect(why?.identity.message).toMatch(
      /^exp \S+Z against the clock \S+Z: the token expired 1\d\d s ago, beyond the allowed skew of 30 s \(clockToleranceSeconds\)$/,
    );
    const foreign = await stranger.mint({}, { subject: 'alice' });
    const before = stranger.requestCount();
    expect(answer(await sim(['--token', foreign, '--path', '/orders/7']), foreign)).toMatchObject({
      status: 401,
      reason: 'ERR_TOKEN_ISSUER_UNKNOWN',
      explanation: [
        {
          identity: {
            check: 'issuer',
            found: stranger.issuer,
            expected: [issuer.issuer, cookieIssuer.issuer],
          },
        },
      ],
    });
    expect(stranger.requestCount()).toBe(before);
    const forged = await issuer.mint({}, { subject: 'alice', foreignKey: true });
    expect(answer(await sim(['--token', forged, '--path', '/orders/7']), forged)).toMatchObject({
      status: 401,
      reason: 'ERR_TOKEN_SIGNATURE',
    });
  });

  it("puts the token where its issuer sends tokens (here a cookie), and reads it from stdin with '-'", async () => {
    const token = await cookieIssuer.mint({ groups: ['readers'] }, { subject: 'carol' });
    expect(
      answer(await sim(['--token', '-', '--path', '/orders/1'], `${token}\n`), token),
    ).toMatchObject({ decision: 'Allow', role: 'reader' });
  });

  it('refuses an unreadable path before verifying anything', async () => {
    const token = await issuer.mint({ realm_access: { roles: ['readers'] } }, { subject: 'a' });
    expect(answer(await sim(['--token', token, '--path', '/%2e%2e/orders/1']), token)).toEqual({
      decision: 'Deny',
      status: 400,
      reason: 'ERR_PATH_TRAVERSAL',
      assumableRoles: [],
      rolesConsidered: [],
      determining: [],
    });
  });

  it('--claims decides for claims taken as verified, with the same claim mappings', async () => {
    const claims = JSON.stringify({
      iss: issuer.issuer,
      sub: 'alice',
      aud: 'orders-api',
      realm_access: { roles: ['readers'] },
    });
    expect(answer(await sim(['--claims', claims, '--path', '/orders/7']), 'none')).toMatchObject({
      decision: 'Allow',
      role: 'reader',
    });
  });
});

describe('rolegate simulate one-request usage errors', () => {
  function usage(r: CliRun, message: string): void {
    expect(r.status).toBe(2);
    expect(r.out).toBe('');
    expect(lines(r.err)).toEqual([
      `rolegate simulate: ERR_USAGE: ${message} (run 'rolegate simulate --help')`,
    ]);
  }

  it.each<[string[], string]>([
    [
      ['--path', '/orders/1'],
      'a request on the command line needs --token TOKEN (verified) or --claims JSON (taken as verified)',
    ],
    [
      ['--token', 'x', '--claims', '{}', '--path', '/'],
      'give either --token or --claims, not both',
    ],
    [['--token', 'x'], 'missing required flag --path'],
    [['--claims', '[1]', '--path', '/'], '--claims must be a JSON object'],
    [['--claims', '{', '--path', '/'], '--claims must be a JSON object'],
    [
      ['--claims', '{}', '--path', '/', '--header', 'no colon'],
      `--header takes 'Name: value', not "no colon"`,
    ],
  ])('%j', async (args, message) => {
    usage(await sim(args), message);
  });

  it('needs --config, and never echoes a token given without its flag', async () => {
    usage(
      await runCli(['simulate', '--token', 'eyJhbGciOi.x.y', '--path', '/']),
      'a request on the command line needs --config FILE',
    );
    const token = await issuer.mint({}, { subject: 'alice' });
    const r = await runCli(['simulate', '--config', file, token]);
    expect(r.status).toBe(2);
    expect(r.err).not.toContain(token);
    expect(r.err).toContain('it looks like a token');
  });
});
