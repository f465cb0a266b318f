/**
 * Who reads IAM for a sync. A single process reads it itself. A cluster's
 * workers ask their primary, which reads once for all of them: each worker
 * reading on its own multiplied the IAM API calls by the number of workers
 * (IAM's request rate is limited per account, and a throttled sync leaves
 * every replica on stale roles). Workers still compile what they get.
 */
import type { IAMClient } from '@aws-sdk/client-iam';
import type { AwsIamConfig } from './config.js';
import { fetchIamRolesByDetails } from './iam-details.js';
import { fetchIamRoles, type IamFetch, type IamSourceOptions } from './iam-source.js';
import { iamSdk } from './sdk.js';

/** What one read of IAM needs: where to call, and which roles to read. Plain JSON. */
export interface IamReadRequest {
  /** Region and endpoint of the IAM client (the `aws` section's); none = the SDK's defaults. */
  readonly client: { readonly region?: string; readonly endpoint?: string };
  readonly iam: AwsIamConfig;
}

/** Reads the roles `request` selects; rejects as the AWS SDK does (throttling, 5xx, network). */
export type IamReader = (request: IamReadRequest) => Promise<IamFetch>;

/** Clients (and their policy version caches) kept for this many distinct requests. */
const CLIENTS_KEPT = 4;

/** One IAM client and what it learnt: managed policy versions, and whether the details call is allowed. */
interface ClientEntry {
  /** Made once the SDK is loaded (see sdk.ts). */
  readonly client: Promise<IAMClient>;
  readonly versions: Map<string, unknown>;
  perRole: boolean;
}

/** IAM refused the call itself (the role lacks `iam:GetAccountAuthorizationDetails`). */
function isAccessDenied(err: unknown): boolean {
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  return (
    (typeof e?.name === 'string' && /^(AccessDenied|UnauthorizedOperation)/.test(e.name)) ||
    e?.$metadata?.httpStatusCode === 403
  );
}

/**
 * One read with the fewest calls: `GetAccountAuthorizationDetails`; when
 * IAM denies it, the per-role read from then on for this client (its
 * permissions will not change between two syncs often enough to ask twice).
 */
async function readWithFewestCalls(
  entry: ClientEntry,
  options: IamSourceOptions,
): Promise<IamFetch> {
  if (!entry.perRole) {
    try {
      return {
        ...(await fetchIamRolesByDetails(await entry.client, options)),
        readWith: 'details',
      };
    } catch (err) {
      if (!isAccessDenied(err)) throw err;
      entry.perRole = true;
    }
  }
  return { ...(await fetchIamRoles(await entry.client, options)), readWith: 'per-role' };
}

/**
 * Reads IAM directly, with `GetAccountAuthorizationDetails` where the
 * role may call it, else role by role. One client (with `requestTimeoutMs`
 * on every request) and one cache of managed policy versions per distinct
 * request, so a sync reuses versions it read before.
 */
export function directIamReader(now: () => number = Date.now): IamReader {
  const clients = new Map<string, ClientEntry>();
  return (request) => {
    const key = JSON.stringify(request);
    let entry = clients.get(key);
    if (entry === undefined) {
      const { iam } = request;
      entry = {
        // IAM is global: in the aws partition it answers in us-east-1.
        // Without a timeout a hanging IAM endpoint would hold the sync forever, unreported.
        client: iamSdk().then(
          ({ IAMClient }) =>
            new IAMClient({
              region: 'us-east-1',
              ...request.client,
              requestHandler: {
                connectionTimeout: iam.requestTimeoutMs,
                requestTimeout: iam.requestTimeoutMs,
                throwOnRequestTimeout: true,
              },
            }),
        ),
        versions: new Map(),
        perRole: false,
      };
      clients.set(key, entry);
      for (const old of clients.keys()) {
        if (clients.size <= CLIENTS_KEPT) break;
        void clients
          .get(old)
          ?.client.then((c) => c.destroy())
          .catch(() => undefined);
        clients.delete(old);
      }
    }
    return readWithFewestCalls(entry, {
      pathPrefix: request.iam.pathPrefix,
      tags: request.iam.tags,
      versionCache: entry.versions,
      now,
    });
  };
}

/**
 * One read for many callers (a cluster's workers): a request equal to one in
 * flight joins it, and a result younger than half the request's refresh
 * interval is handed out again. Failures are not kept: the next ask reads
 * again. `monotonic` (ms) defaults to `performance.now`.
 */
export function sharedIamReader(
  inner: IamReader,
  monotonic: () => number = () => performance.now(),
): IamReader {
  const inFlight = new Map<string, Promise<IamFetch>>();
  let last: { key: string; at: number; fetch: IamFetch } | undefined;
  return (request) => {
    const key = JSON.stringify(request);
    const fresh = (request.iam.refreshSeconds * 1000) / 2;
    if (last?.key === key && monotonic() - last.at < fresh) return Promise.resolve(last.fetch);
    let pending = inFlight.get(key);
    if (pending === undefined) {
      pending = inner(request).then(
        (fetch) => {
          inFlight.delete(key);
          last = { key, at: monotonic(), fetch };
          return fetch;
        },
        (err: unknown) => {
          inFlight.delete(key);
          throw err;
        },
      );
      inFlight.set(key, pending);
    }
    return pending;
  };
}

/** `inner`, telling `counted` whether each read succeeded (metrics). */
export function countedIamReader(inner: IamReader, counted: (ok: boolean) => void): IamReader {
  return (request) =>
    inner(request).then(
      (fetch) => {
        counted(true);
        return fetch;
      },
      (err: unknown) => {
        counted(false);
        throw err;
      },
    );
}

/** An AWS SDK error as it crosses a process boundary: what sync retry decisions and logs read. */
export interface IamReadError {
  readonly name: string;
  readonly message: string;
  /** The SDK's `$metadata`, present when the request got an HTTP answer. */
  readonly metadata?: { readonly httpStatusCode?: number };
  readonly retryable?: boolean;
  readonly fault?: string;
}

/** The parts of `err` that {@link isRetryableAwsError} and the sync's log read. */
export function iamReadError(err: unknown): IamReadError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    $retryable?: unknown;
    $fault?: unknown;
  };
  const status = e.$metadata?.httpStatusCode;
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : String(err),
    ...(e.$metadata === undefined
      ? {}
      : { metadata: typeof status === 'number' ? { httpStatusCode: status } : {} }),
    ...(e.$retryable === undefined ? {} : { retryable: true }),
    ...(typeof e.$fault === 'string' ? { fault: e.$fault } : {}),
  };
}

/** The error a worker's sync sees for a read that failed in the primary. */
export function errorFromIamRead(e: IamReadError): Error {
  const err = new Error(e.message) as Error & Record<string, unknown>;
  err.name = e.name;
  if (e.metadata !== undefined) err['$metadata'] = { ...e.metadata };
  if (e.retryable === true) err['$retryable'] = {};
  if (e.fault !== undefined) err['$fault'] = e.fault;
  return err;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A read request from another process, or undefined when it is not one. */
export function parseIamReadRequest(v: unknown): IamReadRequest | undefined {
  if (!isObject(v) || !isObject(v['client']) || !isObject(v['iam'])) return undefined;
  const iam = v['iam'];
  if (typeof iam['pathPrefix'] !== 'string' || typeof iam['refreshSeconds'] !== 'number') {
    return undefined;
  }
  return v as unknown as IamReadRequest;
}

/**
 * A read's answer from the primary, or undefined when it is not one. The
 * documents inside are checked where they are compiled, like IAM's own.
 */
export function parseIamFetch(v: unknown): IamFetch | undefined {
  if (!isObject(v)) return undefined;
  const { roles, problems, listed, syncedAt } = v;
  const ok =
    Array.isArray(roles) &&
    roles.every(
      (r) =>
        isObject(r) &&
        typeof r['roleName'] === 'string' &&
        typeof r['arn'] === 'string' &&
        isObject(r['tags']) &&
        Array.isArray(r['inline']) &&
        Array.isArray(r['attached']),
    ) &&
    Array.isArray(problems) &&
    Array.isArray(listed) &&
    typeof syncedAt === 'number';
  return ok ? (v as unknown as IamFetch) : undefined;
}

/** A read's error from the primary, or undefined when it is not one. */
export function parseIamReadError(v: unknown): IamReadError | undefined {
  return isObject(v) && typeof v['name'] === 'string' && typeof v['message'] === 'string'
    ? (v as unknown as IamReadError)
    : undefined;
}
