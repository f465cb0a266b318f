/**
 * Bench child entry: the upstream behind Envoy in the peer benchmark, a
 * node:http server answering every request 200 with a small JSON body
 * (keep-alive). Speaks bench/lib/child-protocol.ts; `allow` counts requests.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { announceToParent } from '../lib/child-protocol.js';

const body = Buffer.from('{"ok":true}');
let served = 0;
const server = createServer((req, res) => {
  served++;
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  announceToParent({
    port: (server.address() as AddressInfo).port,
    counts: () => ({ allow: served, deny: 0 }),
    shutdown: () => {
      server.close();
    },
  });
});
