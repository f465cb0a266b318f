/** The just-in-time access scenario the access suites share: engineers, approvers, a staging admin role. */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allowPolicy, ORDER_ROUTES, webIdentityTrust } from './fixtures.js';
import type { AuthzRequest } from '../../src/request/types.js';

export const ADMIN_ARN = 'arn:rolegate:iam:::role/staging-admin';

/**
 * Roles: `engineer` (group engineers: read orders, request the staging-*
 * roles for at most 1 h), `approver` (group admins: approve, revoke and list for
 * any role up to 4 h, never their own), `staging-admin` (no one by trust:
 * every order action), `staging-dba` (no one by trust). `access.store` as given (default: a fresh sqlite
 * file).
 */
export function accessScenario(
  issuer: string,
  store: Record<string, unknown> = {
    file: join(mkdtempSync(join(tmpdir(), 'rolegate-access-')), 'access.db'),
  },
  extra: Record<string, unknown> = {},
) {
  const group = (g: string) => ({ 'ForAnyValue:StringEquals': { 'jwt:groups': [g] } });
  return {
    issuers: [{ issuer, audiences: ['orders-api'], groupsClaim: 'groups' }],
    roles: [
      {
        name: 'engineer',
        trustPolicy: webIdentityTrust(issuer, group('engineers')),
        policies: {
          read: allowPolicy('orders:GetOrder', 'arn:rolegate:orders:::order/*'),
          request: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'RequestStagingRolesUpToAnHour',
                Effect: 'Allow',
                Action: 'rolegate:RequestAccess',
                Resource: ['arn:rolegate:iam:::role/staging-*', 'arn:aws:iam::*:role/staging-*'],
                Condition: { NumericLessThanEquals: { 'rolegate:RequestedDuration': 3600 } },
              },
            ],
          },
        },
      },
      {
        name: 'approver',
        trustPolicy: webIdentityTrust(issuer, group('admins')),
        policies: {
          approve: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'AdminsApproveUpToFourHours',
                Effect: 'Allow',
                Action: [
                  'rolegate:ApproveAccessRequest',
                  'rolegate:RevokeGrant',
                  'rolegate:ListAccessRequests',
                ],
                Resource: ['arn:rolegate:iam:::role/*', 'arn:aws:iam::*:role/*'],
                Condition: { NumericLessThanEquals: { 'rolegate:RequestedDuration': 14400 } },
              },
            ],
          },
        },
      },
      {
        name: 'staging-admin',
        trustPolicy: webIdentityTrust(issuer, {
          StringEquals: { 'jwt:sub': 'nobody-by-trust' },
        }),
        policies: { all: allowPolicy('orders:*', 'arn:rolegate:orders:::order/*') },
      },
      {
        name: 'staging-dba',
        trustPolicy: webIdentityTrust(issuer, {
          StringEquals: { 'jwt:sub': 'nobody-by-trust' },
        }),
        policies: { read: allowPolicy('orders:GetOrder', 'arn:rolegate:orders:::order/*') },
      },
    ],
    routes: ORDER_ROUTES,
    access: {
      enabled: true,
      store,
      refreshMs: 200,
      roles: { 'staging-admin': { maxGrantSeconds: 7200, breakGlass: { maxSeconds: 600 } } },
      ...extra,
    },
  };
}

/** A JSON call to the access API with a bearer token. */
export async function api(
  port: number,
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  const res = await fetch(`http://127.0.0.1:${port}/v1/access${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Resolves once `check()` is true (polling every 50 ms); throws after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A pending request of `role` (default staging-admin) for 15 minutes, made with `token`; its id. */
export async function newAccessRequest(
  port: number,
  token: string,
  reason: string,
  role = 'staging-admin',
): Promise<string> {
  const { json } = await api(port, 'POST', '/requests', token, {
    role,
    durationSeconds: 900,
    reason,
  });
  return json['id'] as string;
}

/**
 * Another origin on 127.0.0.1 whose page auto-submits a form with `fields`
 * to its `?target=` URL on load (a cross-site request forgery attempt).
 */
export async function startAutoPostSite(fields: Readonly<Record<string, string>>): Promise<Server> {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input name="${name}" value="${value}">`)
    .join('');
  const server = createServer((req, res) => {
    const target = new URL(req.url ?? '/', 'http://x').searchParams.get('target') ?? '';
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(
      `<form id="f" method="post" action="${target}">${inputs}</form>` +
        '<script>document.getElementById("f").submit()</script>',
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

/** An access API call as the identity and policy phases read it (for deciding access actions directly). */
export const ACCESS_API_CALL: AuthzRequest = {
  requestId: 'r',
  method: 'POST',
  path: '/v1/access/requests',
  query: new Map(),
  host: 'rolegate.example.com',
  headers: {},
  secure: true,
  contextExtensions: {},
};
