/**
 * One IAM reader per fleet. Replicas that share a PostgreSQL database elect
 * a reader with a lease row (renewed every third of its length, taken over
 * once it expires, so a reader that dies without a word is replaced within
 * `leaseSeconds * 4/3`); only the holder reads IAM, and it publishes what it
 * read (the documents, not compiled objects) with their SHA-256. Every
 * replica, the reader included, loads the published snapshot, checks its
 * hash and shape, and compiles it itself; a snapshot that does not verify
 * fails the sync, so the replica keeps its last good set. `NOTIFY
 * rolegate_iam` tells every replica of a new snapshot at once; the
 * periodic sync is the fallback for a lost notification.
 *
 * IAM's request rate is limited per account: without this, every replica
 * read IAM on its own schedule and a fleet that scaled out throttled its
 * own role sync. Times come from the database's clock, so replicas with
 * skewed clocks still agree on who holds the lease and how old a snapshot is.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import { RolegateError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import type { AwsIamFleetConfig } from './config.js';
import {
  listenChannel,
  openPool,
  transaction,
  type ChannelListener,
} from '../postgres/connection.js';
import { parseIamFetch, type IamReader, type IamReadRequest } from './iam-reader.js';
import type { IamFetch } from './iam-source.js';

/** The notification channel: `snapshot <source> <hash>` or `lease <source>`. */
export const FLEET_CHANNEL = 'rolegate_iam';

/** Serialises the creation of the fleet's tables across replicas starting together. */
const FLEET_SCHEMA_LOCK = 7_313_002;

/** Options of {@link joinFleet}. */
export interface FleetOptions {
  /** The PostgreSQL URL. */
  readonly url: string;
  /** Lease length in seconds (`aws.iam.fleet.leaseSeconds`). */
  readonly leaseSeconds: number;
  /** This replica's name, as the lease and the snapshots record it. */
  readonly replica: string;
  /** How the reader reads IAM (directly, or through a cluster's primary). */
  readonly inner: IamReader;
  /** A new snapshot was published, or the LISTEN connection came back: sync now. */
  readonly onSnapshot: () => void;
  /** This replica gained (true) or lost (false) the lease. */
  readonly onLease: (held: boolean) => void;
}

/** The snapshot a replica last loaded or published. */
export interface FleetSnapshot {
  readonly hash: string;
  /** The replica that read it from IAM. */
  readonly reader: string;
  /** Epoch ms (database clock) when the reader last read IAM and found this. */
  readonly publishedAt: number;
}

/** What GET /config, /readyz and the metrics say about the fleet. */
export interface FleetStatus {
  readonly replica: string;
  /** True while this replica holds the lease (it is the one that reads IAM). */
  readonly reader: boolean;
  /** Who held the lease at the last look, when known. */
  readonly holder?: string;
  readonly snapshot?: FleetSnapshot;
  /** True while the LISTEN connection is up. */
  readonly listening: boolean;
}

/** A replica's membership: its IAM reader, and what it knows of the fleet. */
export interface FleetMember {
  /** Loads the fleet's snapshot; reads IAM and publishes first when this replica holds the lease and it is due. */
  readonly read: IamReader;
  status(): FleetStatus;
  /** Gives the lease up (another replica takes over at once) and closes the connections. */
  close(): Promise<void>;
}

/** The row of the published snapshot, as one replica loads it. */
interface SnapshotRow {
  readonly hash: string;
  readonly body: string;
  readonly reader: string;
  readonly publishedAt: number;
  readonly ageMs: number;
}

/** A stable name for what a request selects: replicas configured alike share one snapshot. */
export function snapshotSource(request: IamReadRequest): string {
  const { client, iam } = request;
  const selection = { client, pathPrefix: iam.pathPrefix, tags: iam.tags };
  return createHash('sha256').update(JSON.stringify(selection)).digest('hex').slice(0, 32);
}

/** The body a snapshot publishes and hashes: the documents, without the read's own time. */
export function snapshotBody(fetch: IamFetch): string {
  const { syncedAt: _, ...documents } = fetch;
  return JSON.stringify(documents);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function createTables(c: pg.PoolClient): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock($1)', [FLEET_SCHEMA_LOCK]);
  await c.query(`CREATE TABLE IF NOT EXISTS rolegate_iam_lease (
    source TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL)`);
  await c.query(`CREATE TABLE IF NOT EXISTS rolegate_iam_snapshot (
    source TEXT PRIMARY KEY, hash TEXT NOT NULL, body TEXT NOT NULL, reader TEXT NOT NULL,
    published_at TIMESTAMPTZ NOT NULL)`);
}

/** Takes or renews the lease; resolves the holder after the attempt. */
async function claimLease(
  pool: pg.Pool,
  source: string,
  replica: string,
  seconds: number,
): Promise<string | undefined> {
  const { rows } = await pool.query(
    `INSERT INTO rolegate_iam_lease (source, holder, expires_at)
       VALUES ($1, $2, now() + make_interval(secs => $3))
     ON CONFLICT (source) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
       WHERE rolegate_iam_lease.holder = EXCLUDED.holder OR rolegate_iam_lease.expires_at < now()
     RETURNING holder`,
    [source, replica, seconds],
  );
  if (rows.length > 0) return replica;
  const held = await pool.query('SELECT holder FROM rolegate_iam_lease WHERE source = $1', [
    source,
  ]);
  const holder: unknown = held.rows[0]?.['holder'];
  return typeof holder === 'string' ? holder : undefined;
}

async function loadSnapshot(pool: pg.Pool, source: string): Promise<SnapshotRow | undefined> {
  const { rows } = await pool.query(
    `SELECT hash, body, reader,
            (extract(epoch FROM published_at) * 1000)::float8 AS published_ms,
            (extract(epoch FROM now() - published_at) * 1000)::float8 AS age_ms
       FROM rolegate_iam_snapshot WHERE source = $1`,
    [source],
  );
  const r = rows[0] as Record<string, unknown> | undefined;
  if (r === undefined) return undefined;
  return {
    hash: String(r['hash']),
    body: String(r['body']),
    reader: String(r['reader']),
    publishedAt: Number(r['published_ms']),
    ageMs: Number(r['age_ms']),
  };
}

/**
 * Publishes `body` if this replica still holds the lease (one reader at a
 * time, even across a takeover mid-read); notifies when the hash changed.
 * Resolves the published time, or undefined when the lease was lost.
 */
async function publish(
  pool: pg.Pool,
  source: string,
  replica: string,
  body: string,
  previous: string | undefined,
): Promise<number | undefined> {
  const hash = sha256(body);
  const notify =
    hash === previous
      ? undefined
      : { channel: FLEET_CHANNEL, payload: `snapshot ${source} ${hash}` };
  return transaction(
    pool,
    async (c) => {
      const { rows } = await c.query(
        `INSERT INTO rolegate_iam_snapshot (source, hash, body, reader, published_at)
           SELECT $1, $2, $3, $4, now() WHERE EXISTS (
             SELECT 1 FROM rolegate_iam_lease
              WHERE source = $1 AND holder = $4 AND expires_at >= now())
         ON CONFLICT (source) DO UPDATE SET hash = EXCLUDED.hash, body = EXCLUDED.body,
           reader = EXCLUDED.reader, published_at = EXCLUDED.published_at
         RETURNING (extract(epoch FROM published_at) * 1000)::float8 AS published_ms`,
        [source, hash, body, replica],
      );
      const at = rows[0]?.['published_ms'];
      if (at === undefined) throw new LeaseLost();
      return Number(at);
    },
    notify,
  ).catch((err: unknown) => {
    if (err instanceof LeaseLost) return undefined;
    throw err;
  });
}

/** Another replica took the lease while this one read IAM: its read is not published. */
class LeaseLost extends Error {}

/** The published snapshot as an {@link IamFetch}, or ERR_IAM_SNAPSHOT_INVALID. */
export function verifiedSnapshot(
  row: Pick<SnapshotRow, 'hash' | 'body' | 'publishedAt'>,
): IamFetch {
  if (sha256(row.body) !== row.hash) {
    throw new RolegateError(
      'ERR_IAM_SNAPSHOT_INVALID',
      `the published IAM snapshot does not match its hash (expected ${row.hash.slice(0, 12)}, got ${sha256(row.body).slice(0, 12)})`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.body);
  } catch {
    throw new RolegateError('ERR_IAM_SNAPSHOT_INVALID', 'the published IAM snapshot is not JSON');
  }
  const fetch =
    typeof parsed === 'object' && parsed !== null
      ? parseIamFetch({ ...parsed, syncedAt: row.publishedAt })
      : undefined;
  if (fetch === undefined) {
    throw new RolegateError(
      'ERR_IAM_SNAPSHOT_INVALID',
      'the published IAM snapshot is not a read of IAM roles',
    );
  }
  return fetch;
}

/**
 * Joins the fleet at `url`: creates the tables if needed, starts listening
 * and renewing. Rejects when the database cannot be reached at all, so a
 * misconfigured replica does not start.
 */
export async function joinFleet(options: FleetOptions): Promise<FleetMember> {
  const { replica, leaseSeconds } = options;
  const pool = openPool(options.url, { max: 2 });
  try {
    await transaction(pool, createTables);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  let source: string | undefined;
  let holder: string | undefined;
  let snapshot: FleetSnapshot | undefined;
  let closed = false;

  const claim = async (s: string): Promise<boolean> => {
    const was = holder === replica;
    holder = await claimLease(pool, s, replica, leaseSeconds);
    const is = holder === replica;
    if (is !== was && !closed) options.onLease(is);
    return is;
  };
  const renew = () => {
    if (source !== undefined) claim(source).catch(() => undefined);
  };
  const timer = setInterval(renew, (leaseSeconds * 1000) / 3);
  timer.unref();

  const listener: ChannelListener = await listenChannel(options.url, FLEET_CHANNEL, {
    onNotification(payload) {
      const [kind, of, hash] = payload.split(' ');
      if (of !== source) return;
      // The reader gave the lease up: take it now rather than after it expires.
      if (kind === 'lease') renew();
      else if (kind === 'snapshot' && hash !== snapshot?.hash) options.onSnapshot();
    },
    onConnected: () => options.onSnapshot(),
  });

  const read: IamReader = async (request) => {
    const s = snapshotSource(request);
    source = s;
    const held = await claim(s);
    const latest = await loadSnapshot(pool, s);
    const due = latest === undefined || latest.ageMs >= (request.iam.refreshSeconds * 1000) / 2;
    if (held && due) {
      const fetch = await options.inner(request);
      const body = snapshotBody(fetch);
      const at = await publish(pool, s, replica, body, latest?.hash);
      if (at !== undefined) {
        snapshot = { hash: sha256(body), reader: replica, publishedAt: at };
        return { ...fetch, syncedAt: at };
      }
      return read(request);
    }
    if (latest === undefined) {
      throw new RolegateError(
        'ERR_IAM_SNAPSHOT_MISSING',
        `no IAM snapshot published yet (lease holder: ${holder ?? 'none'})`,
      );
    }
    const fetch = verifiedSnapshot(latest);
    snapshot = { hash: latest.hash, reader: latest.reader, publishedAt: latest.publishedAt };
    return fetch;
  };

  return {
    read,
    status: () => ({
      replica,
      reader: holder === replica,
      ...(holder === undefined ? {} : { holder }),
      ...(snapshot === undefined ? {} : { snapshot }),
      listening: listener.connected(),
    }),
    async close() {
      closed = true;
      clearInterval(timer);
      if (source !== undefined && holder === replica) {
        const s = source;
        await transaction(
          pool,
          (c) =>
            c.query('DELETE FROM rolegate_iam_lease WHERE source = $1 AND holder = $2', [
              s,
              replica,
            ]),
          { channel: FLEET_CHANNEL, payload: `lease ${s}` },
        ).catch(() => undefined);
      }
      await listener.close();
      await pool.end().catch(() => undefined);
    },
  };
}

/** The fleet's database URL for `fleet`, read from `env`, or ERR_IAM_FLEET naming the variable. */
export function fleetUrl(
  fleet: AwsIamFleetConfig,
  env: (name: string) => string | undefined,
): string {
  const url = env(fleet.urlEnv);
  if (!url) {
    throw new RolegateError(
      'ERR_IAM_FLEET',
      `aws.iam.fleet: ${fleet.urlEnv} is not set (it holds the fleet's PostgreSQL URL)`,
    );
  }
  return url;
}

/** What {@link joinConfiguredFleet} needs besides the `aws.iam.fleet` section. */
export interface ConfiguredFleetOptions {
  readonly env: (name: string) => string | undefined;
  readonly logger: Logger;
  /** How the reader reads IAM. */
  readonly inner: IamReader;
  /** Sync now: a new snapshot was published, or this replica became the reader. */
  readonly onChange: () => void;
  /** The lease was gained (true) or lost (false), after it is logged. */
  readonly onLease: (held: boolean) => void;
}

/**
 * Joins the fleet an `aws.iam.fleet` section describes (the replica named
 * `<hostname>/<pid>` unless the section names it), logging lease changes.
 * Rejects with ERR_IAM_FLEET when the URL variable is unset or the database
 * cannot be reached. Used by a single process and by a cluster's primary.
 */
export async function joinConfiguredFleet(
  fleet: AwsIamFleetConfig,
  options: ConfiguredFleetOptions,
): Promise<FleetMember> {
  const replica = fleet.replica ?? `${hostname()}/${process.pid}`;
  const url = fleetUrl(fleet, options.env);
  try {
    return await joinFleet({
      url,
      leaseSeconds: fleet.leaseSeconds,
      replica,
      inner: options.inner,
      onSnapshot: options.onChange,
      onLease(held) {
        options.logger.info(
          { replica },
          held ? 'this replica now reads IAM for the fleet' : 'another replica reads IAM now',
        );
        options.onLease(held);
        if (held) options.onChange();
      },
    });
  } catch (err) {
    throw new RolegateError(
      'ERR_IAM_FLEET',
      `aws.iam.fleet: the database cannot be reached (${err instanceof Error ? err.message : String(err)})`,
      { cause: err },
    );
  }
}
