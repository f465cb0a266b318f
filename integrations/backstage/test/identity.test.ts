/**
 * Backstage user tokens as a rolegate issuer, end to end with real parts:
 * Backstage's backend (auth plugin, guest sign-in, started by
 * `startTestBackend`) signs alice in and issues her user token; a real
 * `rolegate serve` (its own process) trusts the auth plugin by OpenID
 * discovery; a real Envoy asks it about every request to the echo
 * upstream. A plugin's service token, minted by Backstage's own auth
 * service, is refused: it has no `iss`, another signing key and the target
 * plugin as audience. So is the limited user token Backstage derives for
 * cookies (no `iss`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EchoUpstream } from '../../../test/harness/echo-upstream.js';
import { EnvoyPeer } from '../../../test/harness/envoy.js';
import { PostgresPeer } from '../../../test/harness/postgres.js';
import { RolegateProcess } from '../../../test/support/rolegate-process.js';
import { startBackstage, type BackstageBed } from './support/backstage.js';
import {
  auditRecord,
  backstageRolegateConfig,
  PAYMENTS_GROUP,
  type AuditRecord,
} from './support/rolegate.js';

const ALICE = 'user:default/alice';
const database = new PostgresPeer();
const upstream = new EchoUpstream();
let backstage: BackstageBed;
let rolegate: RolegateProcess;
let envoy: EnvoyPeer;
let dir: string;
let auditFile: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rolegate-backstage-'));
  auditFile = join(dir, 'audit.log');
  await Promise.all([database.start(), upstream.start()]);
  backstage = await startBackstage({
    database,
    user: { userEntityRef: ALICE, ownershipEntityRefs: [ALICE, PAYMENTS_GROUP] },
  });
  rolegate = new RolegateProcess(backstageRolegateConfig(backstage.issuer, auditFile), 'rolegate');
  await rolegate.start();
  envoy = new EnvoyPeer({ rolegatePort: rolegate.grpcPort, upstreamPort: upstream.port });
  await envoy.start();
  await envoy.waitForCluster('rolegate');
}, 180_000);

afterAll(async () => {
  await envoy?.stop();
  await rolegate?.stop();
  await backstage?.stop();
  await Promise.all([upstream.stop(), database.stop()]);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** One request through Envoy with `token` as bearer. */
async function call(method: string, path: string, token: string) {
  const res = await fetch(envoy.url(path), {
    method,
    headers: { authorization: `Bearer ${token}` },
  });
  await res.arrayBuffer();
  return res.status;
}

const recordFor = (method: string, path: string) =>
  auditRecord(auditFile, (r: AuditRecord) => r['method'] === method && r['path'] === path);

describe('a Backstage user token', () => {
  it('carries what the docs say: typ vnd.backstage.user, aud backstage, sub and ent', async () => {
    const token = await backstage.userToken();
    const [header, claims] = token
      .split('.')
      .slice(0, 2)
      .map(
        (part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>,
      );
    expect(header).toMatchObject({ typ: 'vnd.backstage.user', alg: 'ES256' });
    expect(claims).toMatchObject({
      iss: backstage.issuer,
      aud: 'backstage',
      sub: ALICE,
      ent: [ALICE, PAYMENTS_GROUP],
    });
  });

  it('reaches a route the payments group role permits, as the user entity', async () => {
    const token = await backstage.userToken();
    upstream.clear();
    expect(await call('GET', '/payments/invoices/7', token)).toBe(200);
    const [seen] = upstream.requestsTo('/payments/invoices/7');
    expect(seen?.headers['x-rolegate-principal']).toBe(ALICE);
    const record = await recordFor('GET', '/payments/invoices/7');
    expect(record).toMatchObject({
      decision: 'allow',
      reason: 'OK',
      issuer: backstage.issuer,
      subject: ALICE,
      role: 'arn:rolegate:iam:::role/payments-engineer',
    });
  });

  it('is denied where the role grants nothing, and by the trust of a group she is not in', async () => {
    const token = await backstage.userToken();
    upstream.clear();
    expect(await call('GET', '/ledger/entries/1', token)).toBe(403);
    expect(await call('DELETE', '/payments/invoices/7', token)).toBe(403);
    expect(upstream.requestsTo('/')).toHaveLength(0);
    const record = await recordFor('GET', '/ledger/entries/1');
    expect(record).toMatchObject({
      decision: 'deny',
      reason: 'ERR_IMPLICIT_DENY',
      subject: ALICE,
      roles_considered: ['payments-engineer'],
    });
    // The finance group's role: its trust policy's condition on ent did not hold for alice.
    expect(record['explanation']).toContainEqual(
      expect.objectContaining({
        role: 'ledger-reader',
        trust: 'denied',
        trust_statements: [expect.objectContaining({ matched: false, key: 'jwt:ent' })],
      }),
    );
  });
});

describe('a Backstage limited user token (the cookie kind)', () => {
  it('is refused: it has no iss either', async () => {
    const token = await backstage.limitedUserToken(await backstage.userToken());
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString());
    expect(header).toMatchObject({ typ: 'vnd.backstage.limited-user' });
    upstream.clear();
    expect(await call('GET', '/payments/invoices/9', token)).toBe(401);
    expect(upstream.requestsTo('/')).toHaveLength(0);
    const record = await recordFor('GET', '/payments/invoices/9');
    expect(record).toMatchObject({ decision: 'deny', reason: 'ERR_TOKEN_ISSUER_UNKNOWN' });
  });
});

describe("a Backstage plugin's service token", () => {
  it('is refused before any trust policy is asked', async () => {
    const token = await backstage.pluginToken('rolegate');
    upstream.clear();
    expect(await call('GET', '/payments/invoices/8', token)).toBe(401);
    expect(upstream.requestsTo('/')).toHaveLength(0);
    const record = await recordFor('GET', '/payments/invoices/8');
    // No iss at all: rolegate cannot even tell which issuer's keys to try.
    expect(record).toMatchObject({ decision: 'deny', reason: 'ERR_TOKEN_ISSUER_UNKNOWN' });
    expect(record['subject']).toBeUndefined();
    expect(record['roles_considered']).toEqual([]);
  });
});
