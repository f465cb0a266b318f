/**
 * PostgreSQL connections as every rolegate module that shares state through
 * the database opens them (`pg` driver): a small pool whose statements the
 * server cancels past a bound, and one dedicated connection per channel
 * that LISTENs and comes back after it broke. The just-in-time access store
 * and the fleet's IAM snapshots both use them.
 */
import pg from 'pg';

/** Longest one statement may run before the server cancels it (ms). */
export const STATEMENT_TIMEOUT_MS = 5000;

/** Options of {@link openPool}. */
export interface PoolOptions {
  /** Server-side `statement_timeout` per statement, ms; the client gives up at twice that. Default 5000. */
  readonly statementTimeoutMs?: number;
  /** Connections kept at most. Default 4. */
  readonly max?: number;
}

/** A pool to `url` whose statements are bounded on both sides. Connects lazily. */
export function openPool(url: string, options: PoolOptions = {}): pg.Pool {
  const statementMs = options.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 4,
    connectionTimeoutMillis: 2000,
    // A statement stuck behind a lock or a slow server is cancelled by the server, and
    // the connection stays usable; without it one hung query held a pooled connection
    // until the database let go.
    statement_timeout: statementMs,
    // The same bound on the client's side, for a server that never answers at all.
    query_timeout: statementMs * 2,
  });
  // A pool error (the server went away) must not crash the process; calls fail and are retried.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Runs `fn` in one transaction on a pooled connection; `notify` (a channel
 * and optional payload) is sent with the commit, so listeners hear of a
 * change only once it is visible.
 */
export async function transaction<T>(
  pool: pg.Pool,
  fn: (c: pg.PoolClient) => Promise<T>,
  notify?: { readonly channel: string; readonly payload?: string },
): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    if (notify !== undefined) {
      await c.query('SELECT pg_notify($1, $2)', [notify.channel, notify.payload ?? '']);
    }
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/** What {@link listenChannel} calls. */
export interface ChannelHandlers {
  /** A notification's payload ('' when it had none). */
  readonly onNotification: (payload: string) => void;
  /**
   * The listening connection is (back) up: notifications sent while it was
   * away are lost, so the listener should re-read what it follows.
   */
  readonly onConnected: () => void;
}

/** A LISTEN connection that reconnects; `close` ends it for good. */
export interface ChannelListener {
  /** True while the LISTEN connection is up. */
  connected(): boolean;
  close(): Promise<void>;
}

/**
 * LISTENs on `channel` over a dedicated connection, reconnecting every
 * `retryMs` (default 1000) after it broke. Resolves once the first attempt
 * finished, connected or not (later attempts go on in the background).
 */
export async function listenChannel(
  url: string,
  channel: string,
  handlers: ChannelHandlers,
  retryMs = 1000,
): Promise<ChannelListener> {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const again = () => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, retryMs);
    retry.unref();
  };
  const connect = async () => {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    c.on('error', () => {
      if (client === c) client = undefined;
      again();
    });
    c.on('notification', (n) => handlers.onNotification(n.payload ?? ''));
    try {
      await c.connect();
      await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      if (closed) throw new Error('closed');
      client = c;
      handlers.onConnected();
    } catch {
      await c.end().catch(() => undefined);
      again();
    }
  };
  await connect();
  return {
    connected: () => client !== undefined,
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      await client?.end().catch(() => undefined);
      client = undefined;
    },
  };
}
