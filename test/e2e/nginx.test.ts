/**
 * rolegate behind a real nginx (Debian's package, a child process on
 * loopback) with `auth_request`, configured by `examples/nginx/rolegate.conf`
 * verbatim but for its three ports: client -> nginx -> auth subrequest ->
 * rolegate's HTTP check -> the echo upstream. The cases every front door
 * shares are in test/support/front-door-cases.ts; here, what is nginx's own.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { useFrontDoor } from '../support/front-door-bed.js';
import { describeFrontDoor } from '../support/front-door-cases.js';
import { nginxDoor } from '../support/front-doors.js';
import { rawRequest } from '../support/raw-http.js';

const bed = useFrontDoor(nginxDoor(), { timeoutMs: 60_000 });
const { upstream, audit, bearer } = bed;

describeFrontDoor('rolegate behind a real nginx (auth_request)', bed, {
  // auth_request passes the client's headers, the requested role too.
  checkSeesRequestedRole: true,
  removesOwnedPrefix: false,
  forwarded: {
    // rolegate and the API get the same chain: the client's entry, then the
    // address nginx saw (the right-most, the one a reader of the chain takes).
    forwardedFor: '203.0.113.7, 127.0.0.1',
    // The example clears X-Real-IP: it names no chain of hops.
    realIp: undefined,
  },
  // auth_request answers a deny with nginx's own page.
  passesDenyResponse: false,
  // The config sends $request_uri: rolegate decides on the bytes the client
  // sent, which are the bytes `proxy_pass` forwards. Paths whose meaning
  // nginx's $uri would have changed are refused (400 -> nginx 500, the
  // door's clientStatus), never decided on a normalised spelling the
  // upstream does not receive.
  refusesPaths: {},
  normalisesPaths: {},
  ownRefusals: [{ why: 'a climb above the root', path: '/orders/%2e%2e/%2e%2e/etc', status: 400 }],
  whenRolegateDown: 500,
});

describe('the same config with $uri instead of $request_uri (what not to do)', () => {
  const wrong = nginxDoor({
    name: 'nginx with $uri',
    edit: (text) => {
      expect(text).toContain('X-Original-URI $request_uri;');
      return text.replace('X-Original-URI $request_uri;', 'X-Original-URI $uri;');
    },
  });

  beforeAll(() => bed.variant(wrong), 60_000);

  // Inside the auth subrequest $uri is the subrequest's own URI, the auth
  // location `/_rolegate`: rolegate refuses an original URI naming it (400,
  // nginx answers 500), so the mistake fails at once and never reaches the
  // upstream, even with a catch-all route. (Outside a subrequest $uri is
  // nginx's decoded, normalised path without the query: a decision about
  // bytes the upstream never gets.)
  it.each(['/orders/42', '/orders/1%2F..%2F2', '/orders/42?x=1'])(
    '%s is refused as naming the auth location',
    async (path) => {
      upstream.clear();
      const res = await rawRequest(wrong.port(), 'GET', path, await bearer());
      expect(res.status).toBe(500);
      expect(upstream.requests).toHaveLength(0);
      expect(audit.records().at(-1)?.['audit']).toMatchObject({
        decision: 'deny',
        reason: 'ERR_REQUEST_ORIGINAL_IS_CHECK',
      });
    },
  );
});
