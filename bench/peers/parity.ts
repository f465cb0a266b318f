/**
 * Before anything is timed: the same sample requests to rolegate and to
 * OPA-Envoy over gRPC, and the same answers from both (allow or deny, the
 * HTTP status of a deny, and on an allow the identity headers: principal,
 * role ARN, the claim header, a decision id). A table is printed; any
 * difference fails the benchmark (a faster peer that decides differently
 * proves nothing).
 */
import * as grpc from '@grpc/grpc-js';

import type { CheckRequestInit } from '../../src/wire/ext-authz.js';
import { loadAuthorizationClient } from '../../test/support/authorization-client.js';
import { benchCheckRequest } from '../lib/request.js';
import { generateKeyPairSync } from 'node:crypto';
import type { PeerFixture } from './fixture.js';

/** What a Check answered, reduced to what parity compares. */
export interface Answer {
  readonly allowed: boolean;
  /** HTTP status of a deny (0 on allow). */
  readonly status: number;
  readonly principal?: string;
  readonly role?: string;
  readonly email?: string;
  readonly decisionId: boolean;
}

interface Sample {
  readonly name: string;
  readonly request: CheckRequestInit;
}

const STATUS: Readonly<Record<string, number>> = { Unauthorized: 401, Forbidden: 403, OK: 200 };

/** The sample requests: allows, denies by policy, by token, by route. */
export function paritySamples(f: PeerFixture): Sample[] {
  const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const req = (method: string, path: string, token?: string, extra: Record<string, string> = {}) =>
    benchCheckRequest({
      method,
      path,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...extra },
    });
  const team = f.mint();
  const admin = f.mint({ sub: 'admin-1', groups: ['admins'], email: 'admin@example.com' });
  const senior = f.mint({ sub: 'admin-2', groups: ['admins'], level: 7 });
  const fromOutside = req('DELETE', '/orders/42', admin);
  const src = fromOutside.attributes?.source?.address?.socket_address;
  if (src) (src as { address: string }).address = '203.0.113.9';
  return [
    { name: 'allow: team reads its item', request: req('GET', '/inventory/42', team) },
    { name: 'allow: team lists (query string)', request: req('GET', '/inventory?page=2', team) },
    { name: 'allow: admin, any service', request: req('GET', '/shipping/7', admin) },
    { name: 'allow: admin deletes from office', request: req('DELETE', '/orders/42', admin) },
    {
      name: 'allow: requested role',
      request: req('GET', '/inventory/1', admin, { 'x-rolegate-role': 'inventory-operator' }),
    },
    { name: 'deny: other team’s service', request: req('GET', '/orders/42', team) },
    { name: 'deny: write not own item', request: req('PUT', '/inventory/42', team) },
    { name: 'deny: admin delete from outside', request: fromOutside },
    { name: 'deny: admin level 7 deletes', request: req('DELETE', '/orders/42', senior) },
    {
      name: 'deny: requested role lacks it',
      request: req('GET', '/orders/1', admin, { 'x-rolegate-role': 'shipping-operator' }),
    },
    { name: 'deny: no token', request: req('GET', '/inventory/42') },
    { name: 'deny: not a JWT', request: req('GET', '/inventory/42', 'abc.def') },
    {
      name: 'deny: other key',
      request: req('GET', '/inventory/42', f.mint({}, { key: otherKey })),
    },
    { name: 'deny: expired', request: req('GET', '/inventory/42', f.mint({}, { expSec: -600 })) },
    {
      name: 'deny: other audience',
      request: req('GET', '/inventory/42', f.mint({}, { aud: 'x' })),
    },
    {
      name: 'deny: other issuer',
      request: req('GET', '/inventory/42', f.mint({}, { iss: 'https://evil.example' })),
    },
    { name: 'deny: unknown path', request: req('GET', '/reports/1', team) },
    { name: 'deny: other method', request: req('POST', '/inventory/42', team) },
  ];
}

/** One Check over gRPC to 127.0.0.1:port. */
export async function checkAnswer(port: number, request: CheckRequestInit): Promise<Answer> {
  const Client = loadAuthorizationClient();
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const res = await new Promise<Record<string, unknown>>((resolve, reject) =>
      client.Check(request, (err, r) =>
        err || r === undefined
          ? reject(err ?? new Error('no answer'))
          : resolve(r as unknown as Record<string, unknown>),
      ),
    );
    const code = (res['status'] as { code?: number } | undefined)?.code ?? 0;
    const ok = res['ok_response'] as
      { headers?: { header?: { key: string; value: string } }[] } | undefined;
    const denied = res['denied_response'] as { status?: { code?: string | number } } | undefined;
    const headers = new Map<string, string>();
    for (const h of ok?.headers ?? []) if (h.header) headers.set(h.header.key, h.header.value);
    const raw = denied?.status?.code;
    const status = code === 0 ? 0 : typeof raw === 'number' ? raw : (STATUS[raw ?? ''] ?? -1);
    const principal = headers.get('x-rolegate-principal');
    const role = headers.get('x-rolegate-role');
    const email = headers.get('x-user-email');
    return {
      allowed: code === 0,
      status,
      ...(principal !== undefined ? { principal } : {}),
      ...(role !== undefined ? { role } : {}),
      ...(email !== undefined ? { email } : {}),
      decisionId: (headers.get('x-rolegate-decision-id') ?? '') !== '',
    };
  } finally {
    client.close();
  }
}

const show = (a: Answer): string =>
  a.allowed
    ? `allow ${a.role?.replace('arn:rolegate:iam:::role/', '') ?? '-'} ${a.principal ?? '-'} ${a.email ?? '-'}${a.decisionId ? '' : ' (no id)'}`
    : `deny ${a.status}`;

/** Prints the parity table; true when every sample got the same answer from both. */
export async function checkParity(
  f: PeerFixture,
  rolegatePort: number,
  opaPort: number,
  print: (line: string) => void,
): Promise<boolean> {
  print('Parity: the same sample requests to both servers (gRPC Check)');
  print(`  ${'sample'.padEnd(36)} ${'rolegate'.padEnd(44)} ${'OPA-Envoy'.padEnd(44)} same`);
  let same = true;
  for (const s of paritySamples(f)) {
    const a = await checkAnswer(rolegatePort, s.request);
    const b = await checkAnswer(opaPort, s.request);
    const eq = show(a) === show(b);
    same &&= eq;
    print(
      `  ${s.name.padEnd(36)} ${show(a).padEnd(44)} ${show(b).padEnd(44)} ${eq ? 'yes' : 'NO'}`,
    );
  }
  print(same ? '  parity: all samples agree' : '  parity: FAIL (the servers decide differently)');
  return same;
}
