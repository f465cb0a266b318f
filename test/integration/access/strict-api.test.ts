/**
 * The access API reads strictly, against an in-process rolegate (embedded
 * store, frozen clock): a body must be declared `application/json`
 * (optionally `; charset=utf-8`) or it is 415; a call that takes no body
 * refuses one; unknown fields and query parameters are 400 and named,
 * server-owned ones (id, status, approver, createdAt, grantId) included;
 * booleans and numbers are not coerced from strings; reasons count visible
 * characters; a browser call from another site or origin is refused; a
 * state-changing call authenticated by a cookie alone is refused (the
 * approvals page, with its CSRF token, still works with that cookie). The
 * client gets the code and the catalogue's generic message; the audit
 * record says what was expected and what was found.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ERROR_CATALOGUE, type ErrorCode } from '../../../src/errors.js';
import type { Rolegate } from '../../../src/main.js';
import { JwksIssuer } from '../../harness/jwks.js';
import { accessScenario } from '../../support/access.js';
import { webIdentityTrust } from '../../support/fixtures.js';
import { captureLogger } from '../../support/log-capture.js';
import { startTestRolegate } from '../../support/rolegate.js';

const idp = new JwksIssuer({ audience: 'orders-api' });
/** An issuer whose tokens travel in a cookie (rolegate reads the cookie itself). */
const cookieIdp = new JwksIssuer({ audience: 'orders-api' });
const COOKIE = 'rolegate_session';
const audit = captureLogger();
const clock = Date.now();
let rolegate: Rolegate;
let port: number;

const mint = (issuer: JwksIssuer, sub: string, group: string) =>
  issuer.mint(
    { groups: [group] },
    { subject: sub, expiresIn: '1h', issuedAt: Math.floor(clock / 1000) },
  );
const alice = () => mint(idp, 'alice', 'engineers');
const carol = () => mint(idp, 'carol', 'admins');

interface Sent {
  token?: string;
  cookie?: string;
  contentType?: string | null;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

async function call(method: string, path: string, sent: Sent = {}) {
  const headers: Record<string, string> = { ...sent.headers };
  if (sent.contentType !== null) headers['content-type'] = sent.contentType ?? 'application/json';
  if (sent.token !== undefined) headers['authorization'] = `Bearer ${sent.token}`;
  if (sent.cookie !== undefined) headers['cookie'] = `${COOKIE}=${sent.cookie}`;
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers,
    redirect: 'manual',
    // A Buffer, so fetch adds no Content-Type of its own.
    ...(sent.body === undefined ? {} : { body: Buffer.from(sent.body) }),
  });
  const text = await res.text();
  const json = res.headers.get('content-type') === 'application/json' ? JSON.parse(text) : {};
  return { status: res.status, json: json as Record<string, unknown>, text };
}

/** Sends raw header lines (repeats allowed) and a body, even on a GET. */
function raw(method: string, path: string, headerPairs: string[], body = '') {
  return new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: [
          'host',
          `127.0.0.1:${port}`,
          ...headerPairs,
          'content-length',
          String(Buffer.byteLength(body)),
        ],
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            json: JSON.parse(text) as Record<string, unknown>,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const request = (reason = 'strictness check') => ({
  role: 'staging-admin',
  durationSeconds: 600,
  reason,
});

async function newRequest(): Promise<string> {
  const { status, json } = await call('POST', '/v1/access/requests', {
    token: await alice(),
    body: JSON.stringify(request()),
  });
  expect(status).toBe(201);
  return json['id'] as string;
}

const lastRefusal = () =>
  audit
    .records()
    .filter((r) => r['msg'] === 'access_refused')
    .map((r) => r['access'] as Record<string, unknown>)
    .at(-1);

/** The client saw only the code and its catalogue message (and named unknown fields). */
function expectRefused(
  res: { status: number; json: Record<string, unknown> },
  status: number,
  code: ErrorCode,
  fields?: string[],
) {
  expect(res).toMatchObject({ status });
  expect(res.json).toEqual({
    error: code,
    message: ERROR_CATALOGUE[code],
    ...(fields ? { fields } : {}),
  });
}

beforeAll(async () => {
  await Promise.all([idp.start(), cookieIdp.start()]);
  const config = accessScenario(idp.issuer, undefined, {
    origins: ['https://rolegate.example.com'],
  });
  config.issuers.push({
    issuer: cookieIdp.issuer,
    audiences: ['orders-api'],
    groupsClaim: 'groups',
    token: { cookie: COOKIE },
  } as (typeof config.issuers)[number]);
  const approver = config.roles.find((r) => r.name === 'approver');
  config.roles.push({
    ...(approver as (typeof config.roles)[number]),
    name: 'cookie-approver',
    trustPolicy: webIdentityTrust(cookieIdp.issuer, {
      'ForAnyValue:StringEquals': { 'jwt:groups': ['admins'] },
    }),
  });
  ({ rolegate } = await startTestRolegate(
    config,
    { ops: captureLogger('warn'), audit },
    { accessPort: 0, now: () => clock },
  ));
  port = rolegate.accessPort as number;
}, 30_000);

afterAll(async () => {
  await rolegate?.stop().catch(() => undefined);
  await Promise.all([idp.stop(), cookieIdp.stop()]);
}, 30_000);

describe('content types', () => {
  it('takes application/json, with or without charset=utf-8, in any case', async () => {
    for (const contentType of [
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON;charset="UTF-8"',
    ]) {
      const res = await call('POST', '/v1/access/requests', {
        token: await alice(),
        contentType,
        body: JSON.stringify(request()),
      });
      expect([contentType, res.status]).toEqual([contentType, 201]);
    }
  });

  it.each([
    ['text/plain', 'Content-Type: "text/plain"'],
    ['application/x-www-form-urlencoded', 'Content-Type: "application/x-www-form-urlencoded"'],
    ['multipart/form-data; boundary=x', 'Content-Type: "multipart/form-data; boundary=x"'],
    ['application/json; charset=latin1', 'Content-Type: "application/json; charset=latin1"'],
    [
      'application/json; charset=utf-8; x=1',
      'Content-Type: "application/json; charset=utf-8; x=1"',
    ],
    ['application/jsonp', 'Content-Type: "application/jsonp"'],
    [null, 'no Content-Type'],
  ])('refuses a body declared as %s with 415', async (contentType, actual) => {
    const res = await call('POST', '/v1/access/requests', {
      token: await alice(),
      contentType,
      body: JSON.stringify(request()),
    });
    expectRefused(res, 415, 'ERR_ACCESS_CONTENT_TYPE');
    expect(lastRefusal()).toMatchObject({
      reason: 'ERR_ACCESS_CONTENT_TYPE',
      actor: 'alice',
      action: 'POST /v1/access/requests',
      expected: 'Content-Type: application/json (optionally "; charset=utf-8")',
      actual,
    });
  });

  it('refuses two Content-Type headers', async () => {
    const res = await raw(
      'POST',
      '/v1/access/requests',
      [
        'authorization',
        `Bearer ${await alice()}`,
        'content-type',
        'application/json',
        'content-type',
        'text/plain',
      ],
      JSON.stringify(request()),
    );
    expectRefused(res, 415, 'ERR_ACCESS_CONTENT_TYPE');
    expect(lastRefusal()).toMatchObject({ actual: '2 Content-Type headers' });
  });

  it('needs application/json on a state-changing call even without a body', async () => {
    const id = await newRequest();
    const res = await call('POST', `/v1/access/requests/${id}/approve`, {
      token: await carol(),
      contentType: null,
    });
    expectRefused(res, 415, 'ERR_ACCESS_CONTENT_TYPE');
    // With it, an empty body is an approval without a comment.
    const ok = await call('POST', `/v1/access/requests/${id}/approve`, { token: await carol() });
    expect(ok.status).toBe(200);
  });
});

describe('bodies on calls that take none', () => {
  it('refuses a body on revoke and on a GET; a GET needs no Content-Type', async () => {
    const id = await newRequest();
    const approved = await call('POST', `/v1/access/requests/${id}/approve`, {
      token: await carol(),
      body: '{}',
    });
    const grantId = (approved.json['grant'] as { id: string }).id;
    const revoke = await call('POST', `/v1/access/grants/${grantId}/revoke`, {
      token: await carol(),
      body: '{}',
    });
    expectRefused(revoke, 400, 'ERR_ACCESS_BODY_UNEXPECTED');
    expect(lastRefusal()).toMatchObject({
      expected: 'no body (this call takes none)',
      actual: 'a body of 2 bytes',
    });
    const get = await raw(
      'GET',
      '/v1/access/requests',
      ['authorization', `Bearer ${await carol()}`, 'content-type', 'application/json'],
      '{"status":"pending"}',
    );
    expectRefused(get, 400, 'ERR_ACCESS_BODY_UNEXPECTED');
    const plain = await call('GET', '/v1/access/requests', {
      token: await carol(),
      contentType: null,
    });
    expect(plain.status).toBe(200);
    const textPlainGet = await call('GET', '/v1/access/grants', {
      token: await carol(),
      contentType: 'text/plain',
    });
    expectRefused(textPlainGet, 415, 'ERR_ACCESS_CONTENT_TYPE');
    expect(
      (await call('POST', `/v1/access/grants/${grantId}/revoke`, { token: await carol() })).status,
    ).toBe(200);
  });
});

describe('fields', () => {
  it('refuses unknown fields, server-owned ones included, and names them', async () => {
    const res = await call('POST', '/v1/access/requests', {
      token: await alice(),
      body: JSON.stringify({
        ...request(),
        id: 'mine',
        status: 'approved',
        approver: 'alice',
        createdAt: '2020-01-01T00:00:00Z',
        grantId: 'grant-mine',
      }),
    });
    expectRefused(res, 400, 'ERR_ACCESS_UNKNOWN_FIELD', [
      'id',
      'status',
      'approver',
      'createdAt',
      'grantId',
    ]);
    expect(lastRefusal()).toMatchObject({
      reason: 'ERR_ACCESS_UNKNOWN_FIELD',
      expected:
        'only the fields role, roles, durationSeconds, reason, ticket, breakGlass, sessionPolicy',
      actual: 'unknown fields "id", "status", "approver", "createdAt", "grantId"',
    });
    const listed = await call('GET', '/v1/access/requests', { token: await alice() });
    expect((listed.json['requests'] as { id: string }[]).every((r) => r.id !== 'mine')).toBe(true);

    const id = await newRequest();
    const approve = await call('POST', `/v1/access/requests/${id}/approve`, {
      token: await carol(),
      body: JSON.stringify({ comment: 'ok', approvals: 2, __proto__: { x: 1 } }),
    });
    // JSON.stringify drops __proto__ set this way; send it as text instead.
    expectRefused(approve, 400, 'ERR_ACCESS_UNKNOWN_FIELD', ['approvals']);
    const proto = await call('POST', `/v1/access/requests/${id}/deny`, {
      token: await carol(),
      body: '{"comment":"no","__proto__":{"status":"approved"}}',
    });
    expectRefused(proto, 400, 'ERR_ACCESS_UNKNOWN_FIELD', ['__proto__']);
    const shown = await call('GET', `/v1/access/requests/${id}`, { token: await alice() });
    expect(shown.json['status']).toBe('pending');
  });

  it('refuses unknown and repeated query parameters', async () => {
    const unknown = await call('GET', '/v1/access/requests?status=pending&mine=1', {
      token: await carol(),
    });
    expectRefused(unknown, 400, 'ERR_ACCESS_UNKNOWN_FIELD', ['mine']);
    const onShow = await call('GET', `/v1/access/grants?all=true`, { token: await carol() });
    expectRefused(onShow, 400, 'ERR_ACCESS_UNKNOWN_FIELD', ['all']);
    const twice = await call('GET', '/v1/access/requests?status=pending&status=denied', {
      token: await carol(),
    });
    expectRefused(twice, 400, 'ERR_ACCESS_INVALID');
    expect(lastRefusal()).toMatchObject({
      expected: 'the query parameter status at most once',
      actual: '2 times',
    });
  });

  it.each([
    ['breakGlass "true"', { breakGlass: 'true' }, 'breakGlass is string'],
    ['breakGlass 1', { breakGlass: 1 }, 'breakGlass is number 1'],
    ['durationSeconds "600"', { durationSeconds: '600' }, 'durationSeconds is string'],
    ['durationSeconds 600.5', { durationSeconds: 600.5 }, 'durationSeconds is number 600.5'],
    ['reason null', { reason: null }, 'reason is null'],
    ['ticket 42', { ticket: 42 }, 'ticket is number 42'],
    ['no role', { role: undefined }, 'role is nothing'],
  ])('refuses %s without coercing it', async (_what, change, actual) => {
    const res = await call('POST', '/v1/access/requests', {
      token: await alice(),
      body: JSON.stringify({ ...request(), ...change }),
    });
    expectRefused(res, 400, 'ERR_ACCESS_INVALID');
    expect(res.text).not.toContain('600.5');
    expect(lastRefusal()).toMatchObject({ reason: 'ERR_ACCESS_INVALID', actual });
  });

  it.each([
    ['not JSON', '{"role":', 'ERR_INPUT_SYNTAX'],
    ['not UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), 'ERR_INPUT_SYNTAX'],
    ['an array', '[]', 'ERR_INPUT_SHAPE'],
    ['a string', '"x"', 'ERR_INPUT_SHAPE'],
    ['empty', '', 'ERR_INPUT_SYNTAX'],
  ] as const)('refuses a body that is %s', async (_what, body, code) => {
    const res = await call('POST', '/v1/access/requests', { token: await alice(), body });
    expectRefused(res, 400, code);
  });

  it('counts reasons in visible characters', async () => {
    for (const [reason, breakGlass, actual] of [
      ['\u200b'.repeat(30), false, 'reason has 0 visible of 30 code points, fewer than 1'],
      [' '.repeat(20), false, 'reason has 0 visible of 20 code points, fewer than 1'],
      [`${' '.repeat(20)}db down`, true, 'reason has 6 visible of 27 code points, fewer than 10'],
    ] as const) {
      const res = await call('POST', '/v1/access/requests', {
        token: await alice(),
        body: JSON.stringify({ ...request(reason), durationSeconds: 300, breakGlass }),
      });
      expectRefused(res, 400, 'ERR_ACCESS_INVALID');
      expect(lastRefusal()).toMatchObject({ actual });
    }
  });
});

describe('where a call comes from', () => {
  it.each([
    [{ 'sec-fetch-site': 'cross-site' }, 'Sec-Fetch-Site: "cross-site"'],
    [{ 'sec-fetch-site': 'same-site' }, 'Sec-Fetch-Site: "same-site"'],
    [{ origin: 'http://evil.example' }, 'Origin: "http://evil.example"'],
    [{ origin: 'null' }, 'Origin: "null"'],
    [{ origin: 'http://127.0.0.1:1' }, 'Origin: "http://127.0.0.1:1"'],
  ])('refuses a browser call with %j', async (headers, actual) => {
    const id = await newRequest();
    const res = await call('POST', `/v1/access/requests/${id}/approve`, {
      token: await carol(),
      headers,
      body: '{}',
    });
    expectRefused(res, 403, 'ERR_ACCESS_CROSS_SITE');
    expect(lastRefusal()).toMatchObject({
      reason: 'ERR_ACCESS_CROSS_SITE',
      actor: 'carol',
      actual,
    });
    const shown = await call('GET', `/v1/access/requests/${id}`, {
      token: await carol(),
      headers,
    });
    expectRefused(shown, 403, 'ERR_ACCESS_CROSS_SITE');
  });

  it('takes same-origin calls: the Host’s own origin, or one of access.origins', async () => {
    for (const headers of [
      { 'sec-fetch-site': 'same-origin', origin: `http://127.0.0.1:${port}` },
      { 'sec-fetch-site': 'none' },
      { origin: 'https://rolegate.example.com' },
    ]) {
      const id = await newRequest();
      const res = await call('POST', `/v1/access/requests/${id}/approve`, {
        token: await carol(),
        headers,
        body: '{}',
      });
      expect([headers, res.status]).toEqual([headers, 200]);
    }
  });
});

describe('cookie credentials', () => {
  it('are refused for state-changing API calls, and work on the approvals page with its CSRF token', async () => {
    const cookie = await mint(cookieIdp, 'erin', 'admins');
    const id = await newRequest();
    const listed = await call('GET', '/v1/access/requests?status=pending', { cookie });
    expect(listed.status).toBe(200);
    const res = await call('POST', `/v1/access/requests/${id}/approve`, { cookie, body: '{}' });
    expectRefused(res, 403, 'ERR_ACCESS_AMBIENT_CREDENTIAL');
    expect(lastRefusal()).toMatchObject({
      actor: 'erin',
      actual: 'a token in a cookie only, on a call that changes state',
    });

    const page = await call('GET', '/approvals', { cookie, contentType: null });
    expect(page.status).toBe(200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1] as string;
    const form = (fields: Record<string, string>, contentType?: string | null) =>
      call('POST', `/approvals/requests/${id}/approve`, {
        cookie,
        contentType: contentType === undefined ? 'application/x-www-form-urlencoded' : contentType,
        body: new URLSearchParams(fields).toString(),
      });
    // The page's own strictness: a form post, only the form's fields, the caller's token.
    expect((await form({ csrf, comment: 'ok' }, 'application/json')).status).toBe(415);
    expect(lastRefusal()).toMatchObject({ reason: 'ERR_ACCESS_CONTENT_TYPE' });
    expect((await form({ csrf, comment: 'ok', approver: 'mallory' })).status).toBe(400);
    expect(lastRefusal()).toMatchObject({
      reason: 'ERR_ACCESS_UNKNOWN_FIELD',
      actual: 'form field "approver"',
    });
    const carolsPage = await call('GET', '/approvals', { token: await carol(), contentType: null });
    const carolsCsrf = /name="csrf" value="([^"]+)"/.exec(carolsPage.text)?.[1] as string;
    expect((await form({ csrf: carolsCsrf, comment: 'ok' })).status).toBe(403);
    expect(lastRefusal()).toMatchObject({ reason: 'ERR_ACCESS_CSRF', actor: 'erin' });
    const done = await form({ csrf, comment: 'ok', do: 'approve' });
    expect(done.status).toBe(303);
    const shown = await call('GET', `/v1/access/requests/${id}`, { token: await alice() });
    expect(shown.json).toMatchObject({ status: 'approved', approvals: [{ approver: 'erin' }] });
  });
});
