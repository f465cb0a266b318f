/**
 * `rolegate simulate --config FILE --token TOKEN --method M --path P ...`:
 * one request on the command line, one JSON answer on standard output
 * ("can this token DELETE /orders/7?"). With `--token` the token is
 * verified with the configuration's issuers (keys fetched as `serve` does)
 * and the request is decided by the live pipeline; with `--claims JSON`
 * the claims are taken as verified (as in the JSON Lines mode). The token
 * is never printed, not even in an error.
 */
import type { LoadedConfig } from '../config/compile.js';
import type { ParsedArgs } from './args.js';
import { stringFlag } from './args.js';
import type { CliIo } from './io.js';
import { simulateClaims, simulateToken, type SimulateRequest } from './simulate-config.js';
import { UsageError } from './usage-error.js';

/** The flags that ask for one request instead of JSON Lines. */
export const ONE_REQUEST_FLAGS = [
  'token',
  'claims',
  'method',
  'path',
  'host',
  'header',
  'source-ip',
] as const;

/** True when any of {@link ONE_REQUEST_FLAGS} is given. */
export function wantsOneRequest(args: ParsedArgs): boolean {
  return ONE_REQUEST_FLAGS.some((flag) => args.values[flag] !== undefined);
}

/** An HTTP field name (RFC 9110 token). */
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** `--header 'Name: value'` (repeatable) -> headers; a repeated name joins its values with `,`. */
export function headersOf(values: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const text of values) {
    const colon = text.indexOf(':');
    const name = colon === -1 ? '' : text.slice(0, colon).trim().toLowerCase();
    if (!FIELD_NAME.test(name)) {
      throw new UsageError(`--header takes 'Name: value', not ${JSON.stringify(text)}`, 'simulate');
    }
    const value = text.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  return headers;
}

function claimsOf(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError('--claims must be a JSON object', 'simulate');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError('--claims must be a JSON object', 'simulate');
  }
  return parsed as Record<string, unknown>;
}

async function readToken(io: Pick<CliIo, 'stdin'>): Promise<string> {
  if (io.stdin.isTTY === true) {
    throw new UsageError(
      '--token - reads the token from standard input, but it is a terminal; pipe it in',
      'simulate',
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buf.length;
    // Far above any tokens.maxBytes; the verifier applies the configured bound.
    if (size > 1024 * 1024)
      throw new UsageError('--token -: standard input holds more than 1 MiB', 'simulate');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8').trim();
}

/**
 * Answers the one request the flags describe against `config` and writes
 * the answer as one JSON line. Resolves to exit status 0 (an answer, Allow
 * or Deny). Throws {@link UsageError} for a wrong combination of flags.
 */
export async function runOneRequestSimulate(
  args: ParsedArgs,
  config: () => LoadedConfig,
  io: CliIo,
  now: () => number = Date.now,
): Promise<number> {
  const tokenFlag = stringFlag(args, 'token', 'simulate');
  const claimsFlag = stringFlag(args, 'claims', 'simulate');
  if (tokenFlag !== undefined && claimsFlag !== undefined) {
    throw new UsageError('give either --token or --claims, not both', 'simulate');
  }
  if (tokenFlag === undefined && claimsFlag === undefined) {
    throw new UsageError(
      'a request on the command line needs --token TOKEN (verified) or --claims JSON (taken as verified)',
      'simulate',
    );
  }
  const path = stringFlag(args, 'path', 'simulate', true);
  const headerValues = args.values['header'];
  const sourceIp = stringFlag(args, 'source-ip', 'simulate');
  const input: SimulateRequest = {
    method: stringFlag(args, 'method', 'simulate') ?? 'GET',
    path,
    host: stringFlag(args, 'host', 'simulate') ?? 'localhost',
    headers: headersOf(
      Array.isArray(headerValues) ? headerValues.filter((v) => typeof v === 'string') : [],
    ),
    ...(sourceIp === undefined ? {} : { sourceIp }),
  };
  const claims = claimsFlag === undefined ? undefined : claimsOf(claimsFlag);
  const token = tokenFlag === '-' ? await readToken(io) : tokenFlag;
  const loaded = config();
  const answer =
    claims !== undefined
      ? simulateClaims(claims, input, loaded, now())
      : await simulateToken(token ?? '', input, loaded, now);
  io.stdout.write(`${JSON.stringify(answer)}\n`);
  return 0;
}
