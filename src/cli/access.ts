/**
 * `rolegate access request|approve|deny|revoke|list|show` and
 * `rolegate credentials`: clients of the access API (docs/access.md), with a
 * token from `--token`, `ROLEGATE_TOKEN` or the file `rolegate login` wrote
 * (never echoed), the API from
 * `--url` or `ROLEGATE_ACCESS_URL` (default `http://127.0.0.1:9004`). Output:
 * a table by default, `--format json` for scripts; an API error is one line
 * on stderr with its catalogue code, exit status 1. A call that never
 * reached the API (connection refused, timeout, DNS) is
 * `ERR_ACCESS_UNREACHABLE` with the URL, never a store error: the store is
 * behind the API, and nothing was asked of it.
 */
import { readFileSync } from 'node:fs';
import { processEnvironment, type Environment } from '../config/environment.js';
import { ERROR_CATALOGUE, errorDocAnchor, isErrorCode, RolegateError } from '../errors.js';
import { stringFlag, type ParsedArgs } from './args.js';
import type { CliIo } from './io.js';
import { readStoredToken, tokenFilePath } from './login.js';
import { UsageError } from './usage-error.js';

/** The API base when neither `--url` nor `ROLEGATE_ACCESS_URL` says otherwise. */
export const DEFAULT_ACCESS_URL = 'http://127.0.0.1:9004';

/** How long one call waits for the access API's answer: 30 s (a store outage answers 503 well before). */
export const ACCESS_CALL_TIMEOUT_MS = 30_000;

/** The system codes of a failed connection, in words. */
const NETWORK_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused: nothing listens there',
  ECONNRESET: 'the connection was reset',
  ENOTFOUND: 'the host name does not resolve (DNS)',
  EAI_AGAIN: 'the DNS lookup failed for now',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  UND_ERR_SOCKET: 'the connection closed before an answer',
};

/**
 * What a failed `fetch` met, in words, with the system code when there is
 * one: `connection refused: nothing listens there (ECONNREFUSED)`.
 */
export function networkFailure(err: unknown, timeoutMs: number): string {
  // Read by shape, not `instanceof Error`: fetch's errors may come from another realm.
  const field = (e: unknown, key: 'name' | 'code' | 'message' | 'cause'): unknown =>
    typeof e === 'object' && e !== null ? (e as Record<string, unknown>)[key] : undefined;
  const name = field(err, 'name');
  if (name === 'TimeoutError' || name === 'AbortError') {
    return `no answer within ${timeoutMs / 1000} s (timeout)`;
  }
  // fetch (undici) rejects with TypeError('fetch failed'); the system error is its cause.
  const cause = field(err, 'cause');
  const code = [field(cause, 'code'), field(err, 'code')].find(
    (c): c is string => typeof c === 'string',
  );
  if (code !== undefined) return `${NETWORK_CODES[code] ?? 'the connection failed'} (${code})`;
  const message = [field(cause, 'message'), field(err, 'message')].find(
    (m): m is string => typeof m === 'string',
  );
  return message ?? String(err);
}

/** `text` as the API base URL (http or https, without credentials or a trailing slash), or a usage error. */
function baseUrl(text: string, command: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url ${JSON.stringify(text)} is not a URL`, command);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
    throw new UsageError(
      `--url ${JSON.stringify(`${url.protocol}//${url.host}`)} must be an http or https URL without credentials`,
      command,
    );
  }
  return url.href.replace(/\/+$/, '');
}

/** The error of an answer that is not a 2xx: the API's code, or unreachable when it was not the API that answered. */
function apiError(url: string, res: Response, json: Record<string, unknown>): RolegateError {
  const code = json['error'];
  if (!isErrorCode(code)) {
    return new RolegateError(
      'ERR_ACCESS_UNREACHABLE',
      `${url} answered ${res.status} without an access API error: not the access API, or a proxy in front of it failed (${errorDocAnchor('ERR_ACCESS_UNREACHABLE')})`,
    );
  }
  // The API sends the catalogue's generic text; the operator's audit record has the detail.
  const message = typeof json['message'] === 'string' ? json['message'] : ERROR_CATALOGUE[code];
  return new RolegateError(code, `${res.status}: ${message} (${errorDocAnchor(code)})`);
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `3600`, `90s`, `30m`, `1h`, `1h30m` -> seconds; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+)([smhd])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * (UNITS[p[2] as string] as number), 0);
}

interface Client {
  call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>>;
}

function client(args: ParsedArgs, command: string, env: Environment): Client {
  const base = baseUrl(
    stringFlag(args, 'url', command) ?? env['ROLEGATE_ACCESS_URL'] ?? DEFAULT_ACCESS_URL,
    command,
  );
  const token =
    stringFlag(args, 'token', command) ??
    env['ROLEGATE_TOKEN'] ??
    readStoredToken(tokenFilePath(env));
  if (token === undefined || token === '') {
    throw new UsageError('missing --token (or ROLEGATE_TOKEN, or run rolegate login)', command);
  }
  return {
    async call(method, path, body) {
      const url = `${base}${path}`;
      let res: Response;
      let json: Record<string, unknown>;
      try {
        res = await fetch(url, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(ACCESS_CALL_TIMEOUT_MS),
        });
        json = (await res.json().catch((err: unknown) => {
          // A body cut by the timeout is a network failure; one that is not JSON is judged below.
          if ((err as { name?: unknown } | null)?.name === 'TimeoutError') throw err;
          return {};
        })) as Record<string, unknown>;
      } catch (err) {
        throw new RolegateError(
          'ERR_ACCESS_UNREACHABLE',
          `cannot reach the access API at ${url}: ${networkFailure(err, ACCESS_CALL_TIMEOUT_MS)} (${errorDocAnchor('ERR_ACCESS_UNREACHABLE')})`,
        );
      }
      if (!res.ok) throw apiError(url, res, json);
      return json;
    },
  };
}

type Row = Record<string, unknown>;

/** A plain text table of `rows` with `columns` (header upper-cased). */
export function table(rows: readonly Row[], columns: readonly string[]): string {
  const cell = (v: unknown) =>
    v === undefined || v === null ? '-' : Array.isArray(v) ? String(v.length) : String(v);
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) =>
    Math.max(c.length, ...cells.map((r) => (r[i] as string).length)),
  );
  const line = (vals: readonly string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n') + '\n';
}

const REQUEST_COLUMNS = [
  'id',
  'role',
  'requester',
  'durationSeconds',
  'status',
  'approvals',
  'reason',
];
const GRANT_COLUMNS = ['id', 'role', 'subject', 'expiresAt', 'secondsLeft'];
const REVIEW_COLUMNS = ['id', 'role', 'subject', 'startsAt', 'active', 'uses', 'lastUsedAt'];

/** The `--role` flags (at least one). */
function roleFlags(args: ParsedArgs): string[] {
  const raw = args.values['role'];
  const roles = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter(
    (r): r is string => typeof r === 'string',
  );
  if (roles.length === 0) throw new UsageError('access request needs --role NAME', 'access');
  return roles;
}

/** The JSON document `--session-policy FILE` names, if given; a usage error when unreadable. */
function sessionPolicyFlag(args: ParsedArgs): unknown {
  const file = stringFlag(args, 'session-policy', 'access');
  if (file === undefined) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    throw new UsageError(
      `--session-policy ${file}: ${err instanceof Error ? err.message : String(err)}`,
      'access',
    );
  }
}

function formatOf(args: ParsedArgs, command: string): 'table' | 'json' {
  const f = stringFlag(args, 'format', command) ?? 'table';
  if (f !== 'table' && f !== 'json')
    throw new UsageError(`--format must be table or json, not ${JSON.stringify(f)}`, command);
  return f;
}

function idArg(args: ParsedArgs, verb: string): string {
  const id = args.positionals[1];
  if (id === undefined || args.positionals.length > 2) {
    throw new UsageError(`access ${verb} takes one id`, 'access');
  }
  return encodeURIComponent(id);
}

/** Runs `rolegate access VERB ...`. */
export async function runAccess(
  args: ParsedArgs,
  io: CliIo,
  env: Environment = processEnvironment(),
): Promise<number> {
  const verb = args.positionals[0];
  const format = formatOf(args, 'access');
  const api = client(args, 'access', env);
  const print = (json: unknown, rows: readonly Row[], columns: readonly string[]) => {
    io.stdout.write(
      format === 'json' ? `${JSON.stringify(json, null, 2)}\n` : table(rows, columns),
    );
  };
  switch (verb) {
    case 'request': {
      const roles = roleFlags(args);
      const durationText = stringFlag(args, 'duration', 'access') ?? '1h';
      const durationSeconds = parseDuration(durationText);
      if (durationSeconds === undefined)
        throw new UsageError(
          `--duration ${JSON.stringify(durationText)} is not a duration (e.g. 30m, 1h)`,
          'access',
        );
      const reason = stringFlag(args, 'reason', 'access', true);
      const ticket = stringFlag(args, 'ticket', 'access');
      const sessionPolicy = sessionPolicyFlag(args);
      const created = await api.call('POST', '/v1/access/requests', {
        ...(roles.length === 1 ? { role: roles[0] } : { roles }),
        durationSeconds,
        reason,
        ...(ticket === undefined ? {} : { ticket }),
        ...(args.values['break-glass'] === true ? { breakGlass: true } : {}),
        ...(sessionPolicy === undefined ? {} : { sessionPolicy }),
      });
      const made = Array.isArray(created['requests']) ? (created['requests'] as Row[]) : [created];
      print(created, made, REQUEST_COLUMNS);
      return 0;
    }
    case 'review': {
      const windowText = stringFlag(args, 'window', 'access') ?? '30d';
      const windowSeconds = parseDuration(windowText);
      if (windowSeconds === undefined) {
        throw new UsageError(
          `--window ${JSON.stringify(windowText)} is not a duration (e.g. 12h, 7d)`,
          'access',
        );
      }
      const out = await api.call('GET', `/v1/access/review?windowSeconds=${windowSeconds}`);
      print(out, out['grants'] as Row[], REVIEW_COLUMNS);
      return 0;
    }
    case 'approve':
    case 'deny': {
      const id = idArg(args, verb);
      const comment = stringFlag(args, 'comment', 'access') ?? '';
      const out = await api.call('POST', `/v1/access/requests/${id}/${verb}`, { comment });
      const rows = [out['request'] as Row];
      print(
        out,
        out['grant'] ? [out['grant'] as Row] : rows,
        out['grant'] ? GRANT_COLUMNS : REQUEST_COLUMNS,
      );
      return 0;
    }
    case 'revoke': {
      const out = await api.call('POST', `/v1/access/grants/${idArg(args, verb)}/revoke`);
      print(out, [out['grant'] as Row], [...GRANT_COLUMNS, 'revokedAt']);
      return 0;
    }
    case 'show': {
      const out = await api.call('GET', `/v1/access/requests/${idArg(args, verb)}`);
      print(out, [out], [...REQUEST_COLUMNS, 'grantId']);
      return 0;
    }
    case 'list': {
      if (args.values['grants'] === true) {
        const out = await api.call('GET', '/v1/access/grants');
        print(out, out['grants'] as Row[], GRANT_COLUMNS);
        return 0;
      }
      const status = stringFlag(args, 'status', 'access');
      const out = await api.call(
        'GET',
        `/v1/access/requests${status ? `?status=${encodeURIComponent(status)}` : ''}`,
      );
      print(out, out['requests'] as Row[], REQUEST_COLUMNS);
      return 0;
    }
    default:
      throw new UsageError(
        verb === undefined
          ? 'missing verb: request, approve, deny, revoke, list, show or review'
          : `unknown verb ${JSON.stringify(verb)}`,
        'access',
      );
  }
}

/** Runs `rolegate credentials --role NAME`: AWS credential_process JSON on stdout. */
export async function runCredentials(
  args: ParsedArgs,
  io: CliIo,
  env: Environment = processEnvironment(),
): Promise<number> {
  const role = stringFlag(args, 'role', 'credentials', true);
  const out = await client(args, 'credentials', env).call(
    'GET',
    `/v1/access/credentials?role=${encodeURIComponent(role)}`,
  );
  io.stdout.write(`${JSON.stringify(out)}\n`);
  return 0;
}
