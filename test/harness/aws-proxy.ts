/**
 * A proxy in front of moto_server for the AWS query APIs (IAM, STS): it
 * passes requests through and counts them by `Action`, or answers every one
 * with a server error or throttling while `mode` says so, or with
 * AccessDenied for the actions in `denied`. The peer behind it
 * stays the real moto; only the faults are ours.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class AwsQueryProxy {
  mode: 'pass' | '500' | 'throttle' = 'pass';
  /** Actions answered with AccessDenied (403), as IAM does for a caller lacking the permission. */
  readonly denied = new Set<string>();
  /** Requests received, faulted ones included. */
  requests = 0;
  /** Requests received, by the form field `Action` (`?` when absent). */
  readonly actions = new Map<string, number>();
  port = 0;
  private server: Server | undefined;

  async start(target: number): Promise<void> {
    this.server = createServer((inbound, out) => {
      const chunks: Buffer[] = [];
      inbound.on('data', (c: Buffer) => chunks.push(c));
      inbound.on('end', () => {
        this.requests++;
        const body = Buffer.concat(chunks);
        const action = new URLSearchParams(body.toString('utf8')).get('Action') ?? '?';
        this.actions.set(action, this.count(action) + 1);
        if (this.denied.has(action)) {
          out.writeHead(403, { 'content-type': 'text/xml' });
          out.end(
            `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform iam:${action}</Message></Error></ErrorResponse>`,
          );
          return;
        }
        if (this.mode !== 'pass') {
          const [status, error] =
            this.mode === '500'
              ? [500, '<Code>ServiceFailure</Code>']
              : [400, '<Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>'];
          out.writeHead(status, { 'content-type': 'text/xml' });
          out.end(`<ErrorResponse><Error>${error}</Error></ErrorResponse>`);
          return;
        }
        const upstream = httpRequest(
          {
            host: '127.0.0.1',
            port: target,
            method: inbound.method,
            path: inbound.url,
            headers: inbound.headers,
          },
          (res) => {
            out.writeHead(res.statusCode ?? 502, res.headers);
            res.pipe(out);
          },
        );
        upstream.end(body);
      });
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Requests received for `action`. */
  count(action: string): number {
    return this.actions.get(action) ?? 0;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
