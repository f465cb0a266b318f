/**
 * Bench child entry: the protected API behind Envoy in the soak and the
 * peer benchmark, in its own process (so its work does not count against
 * the load generator). Answers every request 200 with a short JSON body
 * over keep-alive and keeps no record (a soak sends a million requests).
 * Speaks the bench child protocol (bench/lib/README.md); COUNTS reports
 * requests served.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceToParent } from '../lib/child-protocol.js';

let served = 0;
const body = Buffer.from('{"ok":true}');
const server = createServer((req, res) => {
  served++;
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
announceToParent({
  port: (server.address() as AddressInfo).port,
  counts: () => ({ allow: served, deny: 0 }),
  shutdown: () => {
    server.closeAllConnections();
    server.close();
  },
});
