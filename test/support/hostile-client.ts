/**
 * A client that writes a request the way an attacker would: from a chosen
 * loopback address (all of 127/8 is loopback on Linux, so a test can be
 * "another host" without a network), with the target and every header line
 * exactly as given (repeated lines, odd case, a Host of its choosing).
 * `fetch` would normalise the path and merge headers.
 */
import { request } from 'node:http';

/** One header line, in order; a name may repeat. */
export type HeaderLine = readonly [name: string, value: string];

/** What to send. */
export interface HostileRequest {
  /** The loopback address to connect from. Default 127.0.0.1. */
  readonly from?: string;
  readonly port: number;
  readonly method?: string;
  /** The request target, byte for byte (origin form, absolute form or `*`). */
  readonly target: string;
  /** Header lines in order. A Host line here replaces the default `127.0.0.1:<port>`. */
  readonly headers?: readonly HeaderLine[];
}

/** The answer. */
export interface HostileResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/** Sends one request on a connection of its own and reads the whole answer. */
export function hostileRequest(req: HostileRequest): Promise<HostileResponse> {
  const lines = req.headers ?? [];
  const hasHost = lines.some(([name]) => name.toLowerCase() === 'host');
  const flat = lines.flatMap(([name, value]) => [name, value]);
  if (!hasHost) flat.unshift('Host', `127.0.0.1:${req.port}`);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: '127.0.0.1',
        port: req.port,
        localAddress: req.from ?? '127.0.0.1',
        method: req.method ?? 'GET',
        path: req.target,
        // An array keeps every line as written (node's rawHeaders format).
        headers: flat,
        setHost: false,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    outgoing.setTimeout(10_000, () =>
      outgoing.destroy(new Error(`timeout: ${req.method ?? 'GET'} ${req.target}`)),
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}
