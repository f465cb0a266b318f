/**
 * One pipeline, two transports: the same requests asked over gRPC
 * (`Authorization/Check`) and over each HTTP front door (Envoy
 * `http_service`, nginx `auth_request`, forward-auth) of one real rolegate
 * get the same answer: decision, status, reason, role, action, resource,
 * determining statements (the audit record, ids and timings aside), the
 * headers an allow gives the upstream, and a deny's headers and body.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import type { Rolegate } from '../../src/main.js';
import type { FrontDoor } from '../../src/wire/http-check.js';
import { loadAuthorizationClient } from '../support/authorization-client.js';
import { JwksIssuer } from '../harness/jwks.js';
import { frontDoorConfig, readerToken } from '../support/front-door.js';
import { captureLogger } from '../support/log-capture.js';
import { rawRequest } from '../support/raw-http.js';
import { startTestRolegate } from '../support/rolegate.js';

type CheckClient = InstanceType<ReturnType<typeof loadAuthorizationClient>>;

interface Case {
  readonly name: string;
  readonly method: string;
  readonly target: string;
  readonly token?: 'reader' | 'stranger' | 'garbage';
  readonly headers?: Record<string, string>;
}

const CASES: Case[] = [
  { name: 'reader GET', method: 'GET', target: '/orders/42', token: 'reader' },
  { name: 'reader GET with a query', method: 'GET', target: '/orders/42?a=1&a=2', token: 'reader' },
  { name: 'reader DELETE', method: 'DELETE', target: '/orders/42', token: 'reader' },
  { name: 'stranger GET', method: 'GET', target: '/orders/42', token: 'stranger' },
  { name: 'no token', method: 'GET', target: '/orders/42' },
  { name: 'garbage token', method: 'GET', target: '/orders/42', token: 'garbage' },
  { name: 'unmatched route', method: 'GET', target: '/admin', token: 'reader' },
  { name: 'dot segments', method: 'GET', target: '/orders/x/../9', token: 'reader' },
  { name: 'encoded separator', method: 'GET', target: '/orders/1%2F2', token: 'reader' },
  { name: 'traversal', method: 'GET', target: '/../orders/1', token: 'reader' },
  { name: 'path parameter', method: 'GET', target: '/orders/1;x', token: 'reader' },
  { name: 'lower-case method', method: 'get', target: '/orders/1', token: 'reader' },
  {
    name: 'forged identity headers',
    method: 'GET',
    target: '/orders/5',
    token: 'reader',
    headers: {
      'x-rolegate-principal': 'mallory',
      'x-rolegate-admin': 'true',
      'x-http-method-override': 'DELETE',
      'x-user-email': 'm@example.com',
    },
  },
  { name: 'reader on a hidden route', method: 'GET', target: '/private/3', token: 'reader' },
  {
    name: 'browser without a token',
    method: 'GET',
    target: '/orders/3?tab=a%20b',
    headers: { accept: 'text/html,application/xhtml+xml' },
  },
  {
    name: 'browser with a bad token on a hidden route',
    method: 'GET',
    target: '/private/3',
    token: 'garbage',
    headers: { accept: 'text/html' },
  },
  {
    name: 'role asked for',
    method: 'GET',
    target: '/orders/5',
    token: 'reader',
    headers: { 'x-rolegate-role': 'orders-reader' },
  },
];

const HOST = 'api.example.com';
const idp = new JwksIssuer({ audience: 'orders-api' });
const audit = captureLogger();
const ops = captureLogger('warn');
let rolegate: Rolegate;
let client: CheckClient;

beforeAll(async () => {
  await idp.start();
  ({ rolegate } = await startTestRolegate(frontDoorConfig(idp), { ops, audit }, { httpPort: 0 }));
  const Client = loadAuthorizationClient();
  client = new Client(`127.0.0.1:${rolegate.grpcPort}`, grpc.credentials.createInsecure());
}, 30_000);

afterAll(async () => {
  client?.close();
  await rolegate?.stop();
  await idp.stop();
});

async function tokenFor(c: Case): Promise<Record<string, string>> {
  if (c.token === undefined) return {};
  if (c.token === 'garbage') return { authorization: 'Bearer not.a.jwt' };
  const token =
    c.token === 'reader'
      ? await readerToken(idp)
      : await idp.mint({ groups: ['strangers'] }, { subject: 'bob' });
  return { authorization: `Bearer ${token}` };
}

/** What must agree: the audit record without ids and timings, and the response. */
interface Answer {
  readonly record: Record<string, unknown>;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

function comparableRecord(id: string | undefined): Record<string, unknown> {
  const record = audit.auditFor(id);
  if (record === undefined) throw new Error(`no audit record for decision ${String(id)}`);
  const { decision_id: _d, latency_us: _l, request_id: _r, ...rest } = record;
  return rest;
}

const STATUS: Record<string, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  Found: 302,
};

async function viaGrpc(c: Case, auth: Record<string, string>): Promise<Answer> {
  const request = {
    attributes: {
      source: { address: { socket_address: { address: '127.0.0.1', port_value: 40000 } } },
      request: {
        http: {
          method: c.method,
          path: c.target,
          host: HOST,
          headers: { host: HOST, ...c.headers, ...auth },
        },
      },
    },
  };
  const res = await new Promise<Record<string, unknown>>((resolve, reject) =>
    client.Check(request, (err, r) =>
      err ? reject(err) : resolve(r as unknown as Record<string, unknown>),
    ),
  );
  type Header = { header: { key: string; value: string } };
  const meta = res['dynamic_metadata'] as { fields: Record<string, { stringValue: string }> };
  const id = meta.fields['decision_id']?.stringValue;
  const denied = res['denied_response'] as {
    status: { code: string | number };
    headers: Header[];
    body: string;
  } | null;
  const ok = res['ok_response'] as { headers: Header[]; headers_to_remove: string[] } | null;
  const headers: Record<string, string> = {};
  for (const h of denied?.headers ?? ok?.headers ?? []) headers[h.header.key] = h.header.value;
  // The HTTP answer lists the same removals in Envoy's x-envoy-auth-headers-to-remove.
  if ((ok?.headers_to_remove.length ?? 0) > 0) {
    headers['x-envoy-auth-headers-to-remove'] = ok?.headers_to_remove.join(',') ?? '';
  }
  delete headers['x-rolegate-decision-id'];
  // Both transports' answers are no-store; the HTTP server says so on every answer.
  delete headers['cache-control'];
  return {
    record: comparableRecord(id),
    status: denied
      ? typeof denied.status.code === 'number'
        ? denied.status.code
        : (STATUS[denied.status.code] ?? 0)
      : 200,
    headers,
    body: (denied?.body ?? '').split(id ?? '\0').join('<decision id>'),
  };
}

async function viaHttp(door: FrontDoor, c: Case, auth: Record<string, string>): Promise<Answer> {
  const headers: Record<string, string> = { ...c.headers, ...auth };
  let path: string;
  if (door === 'envoy') {
    path = `/envoy${c.target}`;
    headers['host'] = HOST;
  } else if (door === 'nginx') {
    path = '/nginx';
    headers['host'] = HOST;
    headers['x-original-method'] = c.method;
    headers['x-original-uri'] = c.target;
  } else {
    path = '/forward';
    headers['x-forwarded-method'] = c.method;
    headers['x-forwarded-uri'] = c.target;
    headers['x-forwarded-host'] = HOST;
  }
  const res = await rawRequest(
    rolegate.httpPort as number,
    door === 'envoy' ? c.method : 'GET',
    path,
    headers,
  );
  const id = res.headers['x-rolegate-decision-id'];
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) {
    if (
      [
        'date',
        'connection',
        'keep-alive',
        'content-length',
        'transfer-encoding',
        'cache-control',
        'x-rolegate-decision-id',
      ].includes(k)
    )
      continue;
    if (typeof v === 'string') out[k] = v;
  }
  return {
    record: comparableRecord(typeof id === 'string' ? id : undefined),
    status: res.status,
    headers: out,
    body: typeof id === 'string' ? res.body.split(id).join('<decision id>') : res.body,
  };
}

describe('gRPC and HTTP give the same answer', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const auth = await tokenFor(c);
    const grpcAnswer = await viaGrpc(c, auth);
    // Envoy's http_service sends the original method as its own, which
    // Node's client upper-cases: a lower-case method is only a header's.
    const doors: FrontDoor[] =
      c.method === c.method.toUpperCase() ? ['envoy', 'nginx', 'forward'] : ['nginx', 'forward'];
    for (const door of doors) {
      expect({ door, ...(await viaHttp(door, c, auth)) }).toEqual({ door, ...grpcAnswer });
    }
  });

  it('covers allows, redirects, 400s, 401s, 403s and 404s', async () => {
    const statuses = new Set<number>();
    for (const c of CASES) statuses.add((await viaGrpc(c, await tokenFor(c))).status);
    expect([...statuses].sort()).toEqual([200, 302, 400, 401, 403, 404]);
  });

  it('shapes denies the same in both transports: 404 with the HTML template, 302 to the login page', async () => {
    const hidden = CASES.find((c) => c.name === 'reader on a hidden route') as Case;
    const h = await viaHttp('envoy', hidden, await tokenFor(hidden));
    expect(h.status).toBe(404);
    expect(h.body).toBe('<p>no such &#60;page&#62;</p><!-- <decision id> 404 -->');
    expect(h.headers['x-deny-kind']).toBe('hidden');
    const browser = CASES.find((c) => c.name === 'browser without a token') as Case;
    const b = await viaHttp('nginx', browser, {});
    expect(b.status).toBe(302);
    expect(b.headers['location']).toBe(
      'https://login.example.com/start?app=orders&return_to=http%3A%2F%2Fapi.example.com%2Forders%2F3%3Ftab%3Da%2Bb',
    );
  });
});
