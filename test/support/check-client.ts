/** Calling rolegate's Check over gRPC directly (no Envoy), for tests of decisions alone. */
import * as grpc from '@grpc/grpc-js';
import { loadAuthorizationClient } from '../../src/transport/grpc/protos.js';

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
