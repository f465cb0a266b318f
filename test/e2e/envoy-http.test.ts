/**
 * rolegate behind a real Envoy in ext_authz `http_service` mode, configured
 * by `examples/envoy-http/envoy.yaml` with only its port and host
 * placeholders filled: client -> Envoy -> HTTP check (`/envoy` + path) ->
 * rolegate -> the echo upstream. The cases every front door shares are in
 * test/support/front-door-cases.ts; here, what is Envoy's own.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { assertEnvoyImage } from '../harness/envoy.js';
import { useFrontDoor } from '../support/front-door-bed.js';
import { describeFrontDoor } from '../support/front-door-cases.js';
import { envoyHttpDoor } from '../support/front-doors.js';
import { rawRequest } from '../support/raw-http.js';

const bed = useFrontDoor(envoyHttpDoor(), { before: () => assertEnvoyImage() });
const { upstream, audit, bearer } = bed;

describeFrontDoor(
  'rolegate behind a real Envoy (ext_authz http_service)',
  bed,
  {
    // allowed_headers passes the requested-role header to the check.
    checkSeesRequestedRole: true,
    // rolegate has Envoy remove every client `x-rolegate-*` copy.
    removesOwnedPrefix: true,
    forwarded: {
      // For a client at exactly 127.0.0.1 Envoy appends its own host
      // address instead of the loopback one.
      from: '127.0.0.5',
      // use_remote_address: the address Envoy saw goes last, where rolegate
      // reads; -Proto is replaced.
      forwardedFor: '203.0.113.7,127.0.0.5',
      realIp: '203.0.113.8',
    },
    passesDenyResponse: true,
    // path_with_escaped_slashes_action: Envoy refuses an encoded separator itself.
    refusesPaths: { '/orders/1%2F..%2F..%2Fadmin': 400 },
    // normalize_path turns a backslash into a slash and resolves the dot segment.
    normalisesPaths: { '/orders/1\\..\\x': '/orders/x' },
    ownRefusals: [
      {
        why: 'an encoded separator (path_with_escaped_slashes_action)',
        path: '/orders/1%2F..%2F2',
        status: 400,
      },
    ],
    // The example's failure_mode_allow: false.
    whenRolegateDown: 403,
  },
  () => {
    it('a route whose denies hide the resource answers 404 with its HTML template', async () => {
      upstream.clear();
      const res = await rawRequest(bed.port(), 'GET', '/private/3', await bearer());
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      const id = res.headers['x-rolegate-decision-id'] as string;
      expect(res.body).toBe(`<p>no such &#60;page&#62;</p><!-- ${id} 404 -->`);
      expect(upstream.requests).toHaveLength(0);
    });

    it('sends a browser without a token to the login page (host not allowed: no return address)', async () => {
      upstream.clear();
      const res = await rawRequest(bed.port(), 'GET', '/orders/3', { accept: 'text/html' });
      expect(res.status).toBe(302);
      expect(res.headers['location']).toBe('https://login.example.com/start?app=orders');
      expect(upstream.requests).toHaveLength(0);
    });

    it('sends it with the original URL when the host is allowed', async () => {
      const res = await rawRequest(bed.port(), 'GET', '/orders/3?x=1', {
        accept: 'text/html',
        host: 'api.example.com',
      });
      expect(res.status).toBe(302);
      expect(res.headers['location']).toBe(
        'https://login.example.com/start?app=orders&return_to=http%3A%2F%2Fapi.example.com%2Forders%2F3%3Fx%3D1',
      );
    });
  },
);

// Why the example has rolegate remove client copies (allowed_headers, then
// x-envoy-auth-headers-to-remove) rather than a route's
// request_headers_to_remove: the router applies the route's list after
// ext_authz has added rolegate's headers, so it removes those too.
describe("a route's request_headers_to_remove (what not to do)", () => {
  const ROUTE = '                          route: { cluster: upstream }\n';
  const removing = envoyHttpDoor({
    name: 'envoy-http removing on the route',
    edit: (text) => {
      expect(text).toContain(ROUTE);
      return text.replace(
        ROUTE,
        `${ROUTE}                          request_headers_to_remove: [x-rolegate-principal]\n`,
      );
    },
  });

  beforeAll(() => bed.variant(removing), 120_000);

  it("runs after ext_authz: rolegate's own principal header never reaches the upstream", async () => {
    upstream.clear();
    const res = await rawRequest(removing.port(), 'GET', '/orders/5', {
      ...(await bearer()),
      'x-rolegate-principal': 'mallory',
    });
    expect(res.status).toBe(200);
    const [seen] = upstream.requestsTo('/orders/5');
    const id = seen?.headers['x-rolegate-decision-id'] as string;
    expect(audit.auditFor(id)).toMatchObject({ decision: 'allow', subject: 'alice' });
    expect(seen?.headers['x-rolegate-principal']).toBeUndefined();
  });
});
