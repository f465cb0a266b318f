/**
 * rolegate behind a real nginx (Debian's package, a child process on
 * loopback) with `auth_request`, configured by `examples/nginx/rolegate.conf`
 * verbatim but for its three ports: client -> nginx -> auth subrequest ->
 * rolegate's HTTP check -> the echo upstream.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Rolegate } from '../../src/main.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { JwksIssuer } from '../harness/jwks.js';
import { NginxPeer, substitutePorts } from '../harness/nginx.js';
import { freePort } from '../harness/ports.js';
import { frontDoorConfig, readerToken } from '../support/front-door.js';
import { captureLogger } from '../support/log-capture.js';
import { rawRequest } from '../support/raw-http.js';
import { startTestRolegate } from '../support/rolegate.js';

const EXAMPLE = new URL('../../examples/nginx/rolegate.conf', import.meta.url);

const idp = new JwksIssuer({ audience: 'orders-api' });
const upstream = new EchoUpstream();
const audit = captureLogger();
const ops = captureLogger('warn');
let rolegate: Rolegate;
let nginx: NginxPeer;
let nginxPort: number;

beforeAll(async () => {
  await Promise.all([idp.start(), upstream.start()]);
  ({ rolegate } = await startTestRolegate(frontDoorConfig(idp), { ops, audit }, { httpPort: 0 }));
  nginxPort = await freePort();
  nginx = new NginxPeer({
    port: nginxPort,
    serverConfig: substitutePorts(readFileSync(EXAMPLE, 'utf8'), {
      8080: nginxPort,
      9003: rolegate.httpPort as number,
      8081: upstream.port,
    }),
  });
  await nginx.start();
}, 60_000);

afterAll(async () => {
  await nginx?.stop();
  await rolegate?.stop().catch(() => undefined);
  await Promise.all([idp.stop(), upstream.stop()]);
});

const bearer = async () => ({ authorization: `Bearer ${await readerToken(idp)}` });

describe('rolegate behind a real nginx (auth_request)', () => {
  it('allows a reader, and auth_request_set carries the identity headers to the upstream', async () => {
    upstream.clear();
    const res = await rawRequest(nginxPort, 'GET', '/orders/42?x=1', await bearer());
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/42');
    expect(seen?.path).toBe('/orders/42?x=1');
    expect(seen?.headers['x-rolegate-principal']).toBe('alice');
    expect(seen?.headers['x-rolegate-role']).toBe('arn:rolegate:iam:::role/orders-reader');
    expect(seen?.headers['x-user-email']).toBe('alice@example.com');
    const id = seen?.headers['x-rolegate-decision-id'] as string;
    expect(audit.auditFor(id)).toMatchObject({ decision: 'allow', action: 'orders:GetOrder' });
  });

  it('replaces client-sent identity and method-override headers', async () => {
    upstream.clear();
    const res = await rawRequest(nginxPort, 'GET', '/orders/7', {
      ...(await bearer()),
      'x-rolegate-principal': 'mallory',
      'x-user-email': 'mallory@example.com',
      'x-http-method-override': 'DELETE',
    });
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/7');
    expect(seen?.headers['x-rolegate-principal']).toBe('alice');
    expect(seen?.headers['x-user-email']).toBe('alice@example.com');
    expect(seen?.headers['x-http-method-override']).toBeUndefined();
  });

  it('answers 401 with RFC 6750 WWW-Authenticate without a token; the upstream sees nothing', async () => {
    upstream.clear();
    const res = await rawRequest(nginxPort, 'GET', '/orders/1');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="rolegate"');
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 403 to a reader deleting; the upstream sees nothing', async () => {
    upstream.clear();
    const res = await rawRequest(nginxPort, 'DELETE', '/orders/1', await bearer());
    expect(res.status).toBe(403);
    expect(upstream.requests).toHaveLength(0);
    expect(audit.records().at(-1)?.['audit']).toMatchObject({
      decision: 'deny',
      reason: 'ERR_IMPLICIT_DENY',
      action: 'orders:DeleteOrder',
    });
  });

  // The config sends $request_uri: rolegate decides on the bytes the client
  // sent, which are the bytes `proxy_pass` forwards. Paths whose meaning
  // nginx's $uri would have changed are refused (400 -> nginx 500), never
  // decided on a normalised spelling the upstream does not receive.
  it.each([
    ['an encoded separator', '/orders/1%2F..%2F..%2Fadmin', 'ERR_PATH_ENCODED_SEPARATOR'],
    ['a path parameter', '/orders/1;jsessionid=x', 'ERR_PATH_INVALID'],
    ['a raw backslash', '/orders/1\\..\\x', 'ERR_PATH_INVALID'],
  ])('refuses %s: nginx answers 500 and never passes the request', async (_, path, reason) => {
    upstream.clear();
    const res = await rawRequest(nginxPort, 'GET', path, await bearer());
    expect(res.status).toBe(500);
    expect(upstream.requests).toHaveLength(0);
    expect(audit.records().at(-1)?.['audit']).toMatchObject({ decision: 'deny', reason });
  });

  it('a climb above the root is refused by nginx itself (400) before any check', async () => {
    upstream.clear();
    const res = await rawRequest(nginxPort, 'GET', '/orders/%2e%2e/%2e%2e/etc', await bearer());
    expect(res.status).toBe(400);
    expect(upstream.requests).toHaveLength(0);
  });

  it('decides a dot-segment path on its canonical form, the one the upstream resolves', async () => {
    upstream.clear();
    // Reader may GET /orders/{id}; /orders/x/../9 is /orders/9 for both.
    const res = await rawRequest(nginxPort, 'GET', '/orders/x/../9', await bearer());
    expect(res.status).toBe(200);
    const last = audit.records().at(-1)?.['audit'];
    expect(last).toMatchObject({ decision: 'allow', resource: 'arn:rolegate:orders:::order/9' });
  });

  it('rolegate down: nginx answers 500 and never passes the request', async () => {
    await rolegate.stop();
    upstream.clear();
    const res = await rawRequest(nginxPort, 'GET', '/orders/42', await bearer());
    expect(res.status).toBe(500);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('the same config with $uri instead of $request_uri (what not to do)', () => {
  let wrong: NginxPeer;
  let wrongPort: number;
  let own: Rolegate;

  beforeAll(async () => {
    ({ rolegate: own } = await startTestRolegate(
      frontDoorConfig(idp),
      { ops, audit },
      { httpPort: 0 },
    ));
    wrongPort = await freePort();
    const text = readFileSync(EXAMPLE, 'utf8');
    expect(text).toContain('X-Original-URI $request_uri;');
    wrong = new NginxPeer({
      port: wrongPort,
      serverConfig: substitutePorts(
        text.replace('X-Original-URI $request_uri;', 'X-Original-URI $uri;'),
        {
          8080: wrongPort,
          9003: own.httpPort as number,
          8081: upstream.port,
        },
      ),
    });
    await wrong.start();
  }, 60_000);

  afterAll(async () => {
    await wrong?.stop();
    await own?.stop().catch(() => undefined);
  });

  // Inside the auth subrequest $uri is the subrequest's own URI: every
  // request is asked about as `/_rolegate`, which no route matches, so every
  // request is refused (403) and none reaches the upstream: fails safe, but
  // never works. (Outside a subrequest $uri is nginx's decoded, normalised
  // path without the query: a decision about bytes the upstream never gets.)
  it.each(['/orders/42', '/orders/1%2F..%2F2', '/orders/42?x=1'])(
    '%s is decided as /_rolegate and refused',
    async (path) => {
      upstream.clear();
      const res = await rawRequest(wrongPort, 'GET', path, await bearer());
      expect(res.status).toBe(403);
      expect(upstream.requests).toHaveLength(0);
      expect(audit.records().at(-1)?.['audit']).toMatchObject({
        path: '/_rolegate',
        reason: 'ERR_ROUTE_UNMATCHED',
      });
    },
  );
});
