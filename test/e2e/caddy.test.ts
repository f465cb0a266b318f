/**
 * rolegate behind a real Caddy (Debian's package, a child process on
 * loopback) with `forward_auth`, configured by `examples/caddy/Caddyfile`
 * verbatim but for its three ports: client -> Caddy -> `/forward` ->
 * rolegate -> the echo upstream. The cases every front door shares are in
 * test/support/front-door-cases.ts; here, what is Caddy's own.
 */
import { expect, it } from '@jest/globals';
import { frontDoorOwnedHeaders, useFrontDoor } from '../support/front-door-bed.js';
import { describeFrontDoor } from '../support/front-door-cases.js';
import { caddyDoor } from '../support/front-doors.js';
import { rawRequest } from '../support/raw-http.js';

const bed = useFrontDoor(caddyDoor(), { timeoutMs: 60_000 });
const { upstream, bearer } = bed;

describeFrontDoor(
  'rolegate behind a real Caddy (forward_auth)',
  bed,
  {
    // The example deletes the client's owned headers before forward_auth.
    checkSeesRequestedRole: false,
    removesOwnedPrefix: false,
    // Without trusted_proxies Caddy drops the client's copies and writes what it saw.
    forwarded: { forwardedFor: '127.0.0.1', realIp: '203.0.113.8' },
    // forward_auth hands a non-2xx answer to the client as rolegate wrote it.
    passesDenyResponse: true,
    refusesPaths: {},
    normalisesPaths: {},
    ownRefusals: [],
    whenRolegateDown: 502,
  },
  () => {
    // Caddy 2.6 sets a copied header rolegate did not send to the unexpanded
    // placeholder text; the example deletes it again after forward_auth.
    it('lets no unexpanded placeholder of a header rolegate did not send reach the upstream', async () => {
      upstream.clear();
      const res = await rawRequest(bed.port(), 'GET', '/orders/10', await bearer());
      expect(res.status).toBe(200);
      const [seen] = upstream.requestsTo('/orders/10');
      const placeholders = Object.entries(seen?.headers ?? {}).filter(([, v]) =>
        String(v).includes('{http.reverse_proxy.header.'),
      );
      expect(placeholders).toEqual([]);
      const owned = frontDoorOwnedHeaders().map((h) => h.name);
      expect(
        Object.keys(seen?.headers ?? {})
          .filter((n) => owned.includes(n))
          .sort(),
      ).toEqual([
        'x-rolegate-decision-id',
        'x-rolegate-principal',
        'x-rolegate-role',
        'x-user-email',
      ]);
    });
  },
);
