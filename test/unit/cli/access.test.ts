/**
 * `rolegate access` tells a network failure from a refusal: a call that
 * never reached the access API (connection refused, DNS, timeout) is
 * ERR_ACCESS_UNREACHABLE with the URL and the system code, never a store
 * error; something other than the API answering says so; an API error keeps
 * its code and points to its entry in docs/errors.md. Real sockets, no mocks.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { networkFailure } from '../../../src/cli/access.js';
import { lines, runCli } from './cli-io.js';

let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server?.closeAllConnections();
  server = undefined;
});

/** A loopback HTTP server answering with `handler`; resolves to its base URL. */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A loopback port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

const access = (url: string, ...argv: string[]) =>
  runCli(['access', ...argv, '--url', url, '--token', 'not-a-real-token']);

describe('rolegate access with the API out of reach', () => {
  it('reports a refused connection with the URL, as unreachable, not a store error', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await access(url, 'list');
    expect(run.status).toBe(1);
    expect(lines(run.err)).toEqual([
      `rolegate access: ERR_ACCESS_UNREACHABLE: cannot reach the access API at ${url}/v1/access/requests: connection refused: nothing listens there (ECONNREFUSED) (docs/errors.md#err_access_unreachable)`,
    ]);
    expect(run.err).not.toContain('not-a-real-token');
  });

  it('reports a host name that does not resolve', async () => {
    const run = await access('http://rolegate-access.invalid:9004', 'list', '--grants');
    expect(run.status).toBe(1);
    expect(run.err).toMatch(
      /^rolegate access: ERR_ACCESS_UNREACHABLE: cannot reach the access API at http:\/\/rolegate-access\.invalid:9004\/v1\/access\/grants: the (host name does not resolve \(DNS\) \(ENOTFOUND\)|DNS lookup failed for now \(EAI_AGAIN\))/,
    );
  });

  it('names a timeout as such', async () => {
    const url = await serve(() => undefined); // accepts, never answers
    const err = await fetch(url, { signal: AbortSignal.timeout(50) }).catch((e: unknown) => e);
    expect(networkFailure(err, 30_000)).toBe('no answer within 30 s (timeout)');
  });

  it('says when what answered is not the access API', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad Gateway</h1>');
    });
    const run = await access(url, 'show', 'r1');
    expect(lines(run.err)).toEqual([
      `rolegate access: ERR_ACCESS_UNREACHABLE: ${url}/v1/access/requests/r1 answered 502 without an access API error: not the access API, or a proxy in front of it failed (docs/errors.md#err_access_unreachable)`,
    ]);
  });

  it("keeps the API's code and points to its entry", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: 'ERR_ACCESS_STORE',
          message: 'the access store cannot be reached or failed; nothing was changed',
        }),
      );
    });
    const run = await access(url, 'list');
    expect(lines(run.err)).toEqual([
      'rolegate access: ERR_ACCESS_STORE: 503: the access store cannot be reached or failed; nothing was changed (docs/errors.md#err_access_store)',
    ]);
  });

  it('refuses a --url that is not an http(s) URL, without echoing credentials', async () => {
    const bad = await access('ftp://me:secret@example.com', 'list');
    expect(bad.status).toBe(2);
    expect(bad.err).toContain('ERR_USAGE');
    expect(bad.err).not.toContain('secret');
    expect((await access('not a url', 'list')).err).toContain('--url "not a url" is not a URL');
  });
});
