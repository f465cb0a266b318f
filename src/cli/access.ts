/**
 * `rolegate access request|approve|deny|revoke|list|show` and
 * `rolegate credentials`: clients of the access API (docs/access.md), with a
 * token from `--token` or `ROLEGATE_TOKEN` (never echoed), the API from
 * `--url` or `ROLEGATE_ACCESS_URL` (default `http://127.0.0.1:9004`). Output:
 * a table by default, `--format json` for scripts; an API error is one line
 * on stderr with its catalogue code, exit status 1.
 */
import { processEnvironment, type Environment } from '../config/environment.js';
import { isErrorCode, RolegateError } from '../errors.js';
import { stringFlag, type ParsedArgs } from './args.js';
import type { CliIo } from './io.js';
import { UsageError } from './usage-error.js';

/** The API base when neither `--url` nor `ROLEGATE_ACCESS_URL` says otherwise. */
export const DEFAULT_ACCESS_URL = 'http://127.0.0.1:9004';

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
  const base = (
    stringFlag(args, 'url', command) ??
    env['ROLEGATE_ACCESS_URL'] ??
    DEFAULT_ACCESS_URL
  ).replace(/\/+$/, '');
  const token = stringFlag(args, 'token', command) ?? env['ROLEGATE_TOKEN'];
  if (token === undefined || token === '') {
    throw new UsageError('missing --token (or ROLEGATE_TOKEN)', command);
  }
  return {
    async call(method, path, body) {
      let res: Response;
      try {
        res = await fetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch {
        throw new RolegateError('ERR_ACCESS_STORE', `cannot reach the access API at ${base}`);
      }
      const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      if (!res.ok) {
        const code = json['error'];
        throw new RolegateError(
          isErrorCode(code) ? code : 'ERR_INTERNAL',
          `${res.status}: ${typeof json['message'] === 'string' ? json['message'] : 'request failed'}`,
        );
      }
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
      const role = stringFlag(args, 'role', 'access', true);
      const durationText = stringFlag(args, 'duration', 'access') ?? '1h';
      const durationSeconds = parseDuration(durationText);
      if (durationSeconds === undefined)
        throw new UsageError(
          `--duration ${JSON.stringify(durationText)} is not a duration (e.g. 30m, 1h)`,
          'access',
        );
      const reason = stringFlag(args, 'reason', 'access', true);
      const ticket = stringFlag(args, 'ticket', 'access');
      const created = await api.call('POST', '/v1/access/requests', {
        role,
        durationSeconds,
        reason,
        ...(ticket === undefined ? {} : { ticket }),
        ...(args.values['break-glass'] === true ? { breakGlass: true } : {}),
      });
      print(created, [created], REQUEST_COLUMNS);
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
          ? 'missing verb: request, approve, deny, revoke, list or show'
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
