/**
 * The page reader for Backstage's catalog REST API:
 * `GET {baseUrl}/api/catalog/entities/by-query?limit&cursor&fields` with the
 * static token Backstage accepts for external callers
 * (`backend.auth.externalAccess`). Each page is bounded in time and bytes;
 * any failure is `ERR_CATALOG_READ` with the status or cause (never the
 * token, which goes only into the Authorization header).
 */
import { RolegateError } from '../errors.js';
import { CATALOG_FIELDS, type CatalogPage, type PageReader } from './read.js';
import type { CatalogItem } from './snapshot.js';

/** What {@link backstagePageReader} needs. */
export interface BackstageApiOptions {
  /** The backend's base URL (the catalog is under `/api/catalog`). */
  readonly baseUrl: string;
  /** The static token; undefined reads fail with the variable's name. */
  readonly token: string | undefined;
  /** Names the variable the token comes from, for the error when it is unset. */
  readonly tokenEnv: string;
  /** Per-page timeout. Default 10 s. */
  readonly timeoutMs?: number;
  /** Largest page body accepted. Default 16 MiB. */
  readonly maxBytes?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

/**
 * What a bearer token may hold: visible ASCII. Anything else makes fetch
 * refuse the header with a message that quotes it whole, token included.
 */
const TOKEN_CHARACTERS = /^[\x21-\x7e]+$/;

const readError = (message: string, cause?: unknown) =>
  new RolegateError('ERR_CATALOG_READ', message, cause === undefined ? undefined : { cause });

/** The body of `res`, refusing it past `maxBytes` without reading the rest. */
async function boundedText(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw readError(`catalog page of ${declared} bytes exceeds the bound of ${maxBytes}`);
  }
  const reader = res.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw readError(`catalog page exceeds the bound of ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The page in `body`, or `ERR_CATALOG_READ` when it is not the catalog's shape. */
export function parseCatalogPage(body: string): CatalogPage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw readError('catalog page is not JSON');
  }
  const page = value as { items?: unknown; totalItems?: unknown; pageInfo?: unknown };
  if (typeof value !== 'object' || value === null || !Array.isArray(page.items)) {
    throw readError('catalog page has no items list');
  }
  const info = (page.pageInfo ?? {}) as { nextCursor?: unknown };
  return {
    items: page.items.filter(
      (i): i is CatalogItem => typeof i === 'object' && i !== null && !Array.isArray(i),
    ),
    ...(typeof info.nextCursor === 'string' && info.nextCursor !== ''
      ? { nextCursor: info.nextCursor }
      : {}),
    ...(typeof page.totalItems === 'number' ? { totalItems: page.totalItems } : {}),
  };
}

/** The catalog API as a {@link PageReader}. */
export function backstagePageReader(options: BackstageApiOptions): PageReader {
  const base = options.baseUrl.replace(/\/+$/, '');
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  // fetch drops whitespace around a header value; so does rolegate, before checking the rest.
  const token = options.token?.trim();
  return async (cursor, limit) => {
    if (token === undefined || token === '') {
      throw readError(`${options.tokenEnv} is not set: no token to read the catalog with`);
    }
    if (!TOKEN_CHARACTERS.test(token)) {
      throw readError(
        `${options.tokenEnv} holds characters a bearer token cannot carry (visible ASCII only)`,
      );
    }
    const url = new URL(`${base}/api/catalog/entities/by-query`);
    url.searchParams.set('limit', String(limit));
    url.searchParams.set('fields', CATALOG_FIELDS);
    if (cursor !== undefined) url.searchParams.set('cursor', cursor);
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
        redirect: 'error',
      });
    } catch (err) {
      const cause = err instanceof Error ? (err.cause as Error | undefined) : undefined;
      throw readError(
        `catalog unreachable at ${url.origin}: ${cause?.message ?? (err instanceof Error ? err.message : String(err))}`,
        err,
      );
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw readError(
        `catalog answered ${res.status}${res.status === 401 ? ' (the static token is not accepted: backend.auth.externalAccess)' : ''}`,
      );
    }
    return parseCatalogPage(await boundedText(res, maxBytes));
  };
}
