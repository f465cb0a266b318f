/**
 * Bench child entry: a node:http server (the framework of rolegate's HTTP
 * check listener) that answers every request 200 with one identity header
 * and does nothing else: the "(a)" side of the HTTP mode of bench/grpc.ts.
 * Speaks the protocol in bench/lib/README.md.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceToParent } from './lib/child-protocol.js';

let allow = 0;
const server = createServer((req, res) => {
  allow++;
  req.resume();
  res.writeHead(200, { 'x-rolegate-principal': 'bench-user' }).end();
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  announceToParent({
    port: (server.address() as AddressInfo).port,
    counts: () => ({ allow, deny: 0 }),
    path: '/nginx',
    headers: { 'x-original-method': 'GET', 'x-original-uri': '/inventory/42' },
    shutdown: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
});
