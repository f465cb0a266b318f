/** Calling rolegate's Check and grpc.health.v1 over gRPC directly (no Envoy). */
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { loadAuthorizationClient } from './authorization-client.js';

/** What a Check answered: allowed or not, and the upstream headers of an allow. */
export interface CheckAnswer {
  readonly allowed: boolean;
  readonly headers: Readonly<Record<string, string>>;
}

/** One Check for `method path` with a bearer `token`. */
export async function checkOnce(
  port: number,
  method: string,
  path: string,
  token: string,
): Promise<CheckAnswer> {
  const Client = loadAuthorizationClient();
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const answer = await new Promise<Record<string, unknown>>((resolve, reject) =>
      client.Check(
        {
          attributes: {
            request: {
              http: {
                method,
                path,
                host: 'orders.test',
                headers: { authorization: `Bearer ${token}` },
              },
            },
          },
        },
        (err, res) =>
          err || res === undefined
            ? reject(err ?? new Error('no answer'))
            : resolve(res as unknown as Record<string, unknown>),
      ),
    );
    const status = answer['status'] as { code?: number } | undefined;
    const ok = answer['ok_response'] as
      { headers?: { header?: { key: string; value: string } }[] } | undefined;
    const headers: Record<string, string> = {};
    for (const h of ok?.headers ?? []) if (h.header) headers[h.header.key] = h.header.value;
    return { allowed: (status?.code ?? 0) === 0, headers };
  } finally {
    client.close();
  }
}

const HealthClient = grpc.makeGenericClientConstructor(healthService, 'grpc.health.v1.Health');

/**
 * The grpc.health.v1 status (`SERVING`, `NOT_SERVING`, ...) of `service`
 * (default '', the whole server) on 127.0.0.1:`port`, asked over a
 * connection of its own (no shared subchannel), so consecutive calls to a
 * cluster reach its workers in turn. Rejects when nothing answers within
 * `deadlineMs` (default 5 s).
 */
export function healthStatus(port: number, service = '', deadlineMs = 5000): Promise<string> {
  const client = new HealthClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  }) as unknown as {
    check: (r: object, o: object, cb: (e: Error | null, r?: { status: string }) => void) => void;
    close: () => void;
  };
  return new Promise((resolve, reject) =>
    client.check({ service }, { deadline: Date.now() + deadlineMs }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res?.status ?? 'missing');
    }),
  );
}
