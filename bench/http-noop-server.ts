/**
 * Bench child entry: the floor of an HTTP check door, the "(a)" side of
 * bench/http-door.ts. A node:http server (the framework of rolegate's HTTP
 * check listener, with the same limits) that does per request what the door
 * does before and after the decision: drain the body, read the original
 * request's headers the door reads (`X-Original-*` for `/nginx`,
 * `X-Forwarded-*` for `/forward`, plus Authorization, Host, X-Forwarded-For
 * and X-Forwarded-Proto) through `headersDistinct`, refuse a missing or
 * repeated one with 400, split the target into path and query, take the
 * bearer token and the right-most forwarded address, and answer the bytes
 * rolegate answered (status, headers, body), with a fresh decision id.
 * It decides nothing. Speaks the protocol in bench/lib/README.md.
 *
 * Arguments: `--door nginx|forward` (default nginx); `--answer <file>`: JSON
 * `{ request: { path, headers }, answer: { status, headers, body } }` the
 * bench recorded from rolegate for the same request. Without it the answer
 * is a bare 200 with one identity header.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceToParent } from './lib/child-protocol.js';

/** What the bench recorded from rolegate (see the module comment). */
export interface DoorExchange {
  readonly request: { readonly path: string; readonly headers: Record<string, string> };
  readonly answer: {
    readonly status: number;
    readonly headers: Record<string, string>;
    readonly body: string;
  };
}

const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const door = argValue('--door') === 'forward' ? 'forward' : 'nginx';
const answerFile = argValue('--answer');
const exchange: DoorExchange =
  answerFile === undefined
    ? {
        request: {
          path: '/nginx',
          headers: { 'x-original-method': 'GET', 'x-original-uri': '/inventory/42' },
        },
        answer: { status: 200, headers: { 'x-rolegate-principal': 'bench-user' }, body: '' },
      }
    : (JSON.parse(readFileSync(answerFile, 'utf8')) as DoorExchange);
const DECISION_ID = 'x-rolegate-decision-id';
const original =
  door === 'forward'
    ? { method: 'x-forwarded-method', uri: 'x-forwarded-uri', host: 'x-forwarded-host' }
    : { method: 'x-original-method', uri: 'x-original-uri', host: 'x-original-host' };

/** The one value of `name`, undefined when absent, null when repeated (the door's 400). */
function single(headers: NodeJS.Dict<string[]>, name: string): string | undefined | null {
  const values = headers[name];
  if (values === undefined) return undefined;
  return values.length === 1 ? (values[0] as string) : null;
}

/** What the door reads before deciding; undefined when it would answer 400. */
function parse(req: { headersDistinct: NodeJS.Dict<string[]>; headers: IncomingHttpHeaders }) {
  const h = req.headersDistinct;
  const method = single(h, original.method);
  const target = single(h, original.uri);
  if (!method || !target) return undefined;
  const host = single(h, original.host) ?? single(h, 'host');
  const q = target.indexOf('?');
  const auth = single(h, 'authorization');
  const forwardedFor = single(h, 'x-forwarded-for');
  const hops = forwardedFor ? forwardedFor.split(',').map((s) => s.trim()) : [];
  return {
    method,
    path: q === -1 ? target : target.slice(0, q),
    query: q === -1 ? '' : target.slice(q + 1),
    host,
    proto: single(h, 'x-forwarded-proto'),
    source: hops.at(-1),
    token: auth?.startsWith('Bearer ') ? auth.slice(7) : undefined,
  };
}

let allow = 0;
let deny = 0;
const server = createServer({ maxHeaderSize: 16_384 }, (req, res) => {
  req.resume();
  const request = parse(req);
  if (request === undefined || request.token === undefined) {
    deny++;
    res.writeHead(400, { 'cache-control': 'no-store' }).end();
    return;
  }
  allow++;
  const headers = { ...exchange.answer.headers };
  if (headers[DECISION_ID] !== undefined) headers[DECISION_ID] = randomUUID();
  res.writeHead(exchange.answer.status, headers).end(exchange.answer.body);
});
server.keepAliveTimeout = 60_000;
server.maxHeadersCount = 101;
server.listen(0, '127.0.0.1', () => {
  announceToParent({
    port: (server.address() as AddressInfo).port,
    counts: () => ({ allow, deny }),
    path: exchange.request.path,
    headers: exchange.request.headers,
    shutdown: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
});
