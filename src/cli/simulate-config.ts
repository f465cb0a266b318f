/**
 * `rolegate simulate --config FILE`: JSON Lines in, one JSON line out per
 * input line, answering as the running service would for a principal's
 * claims plus a method, host and path (no token needed); or one request
 * with a real token (`--token`), verified and decided by the live pipeline.
 */
import { createInterface } from 'node:readline';
import { decodeJwt } from 'jose';
import { authorize, check, toOutcome, type Progress } from '../check/check.js';
import type { CheckOutcome } from '../decision/outcome.js';
import { explanationEntries } from '../decision/explanation.js';
import { unknownIssuer } from '../identity/explain.js';
import { identityExplanationOf } from '../identity/refusal.js';
import type { LoadedConfig } from '../config/compile.js';
import type { TokenLocation } from '../request/options.js';
import { errorCodeOf, isErrorCode, RolegateError, type ErrorCode } from '../errors.js';
import { createJwtVerifier, principalFromClaims } from '../identity/jwt.js';
import { isRecord } from '../options/fields.js';
import { canonicalRequest } from '../request/normalize.js';
import type { AuthzRequest } from '../request/types.js';
import { assumableRoles } from '../roles/trust.js';
import { requestContextResolver } from '../check/context.js';
import { resolvingContext } from '../policy/index.js';

function stringMap(value: unknown, field: string): Record<string, string> {
  if (value === undefined) return {};
  if (!isRecord(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new RolegateError('ERR_INPUT_SHAPE', `${field} must map names to strings`);
  }
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

function str(value: unknown, field: string, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || value === '') {
    throw new RolegateError('ERR_INPUT_SHAPE', `${field} must be a non-empty string`);
  }
  return value;
}

/** One request as `simulate` takes it (a JSON line, or the one-line flags). */
export interface SimulateRequest {
  /** HTTP method as the client sent it (canonicalised at the edge). */
  readonly method: string;
  /** Path with an optional query string, as the client sent it. */
  readonly path: string;
  /** The authority (Host header). */
  readonly host: string;
  /** Header names in any case. */
  readonly headers: Readonly<Record<string, string>>;
  /** The downstream address Envoy would report (IPv4, IPv6 or `::ffff:` mapped). Default none. */
  readonly sourceIp?: string;
  /** Whether the downstream connection used TLS (`aws:SecureTransport`). Default false. */
  readonly secure?: boolean;
  /** Envoy per-route `context_extensions`. Default none. */
  readonly contextExtensions?: Readonly<Record<string, string>>;
}

/** The same edge as the live server: canonical path, method, host, headers and address. */
function edge(input: SimulateRequest): AuthzRequest {
  const headers = Object.fromEntries(
    Object.entries(input.headers).map(([k, v]) => [k.toLowerCase(), v]),
  );
  return canonicalRequest({
    method: input.method,
    target: input.path,
    host: input.host,
    headers,
    ...(input.sourceIp === undefined ? {} : { sourceIp: input.sourceIp }),
    secure: input.secure === true,
    contextExtensions: { ...(input.contextExtensions ?? {}) },
  });
}

/** The answer object both modes print, from what the pipeline found. */
function answerOf(
  request: AuthzRequest,
  outcome: CheckOutcome,
  config: LoadedConfig,
  nowMs: number,
): object {
  let trusted: string[] = [];
  if (outcome.principal !== undefined && request.refused === undefined) {
    const base = resolvingContext(
      requestContextResolver(request, outcome.principal, outcome.route, nowMs),
    );
    trusted = assumableRoles(config.roles, outcome.principal, base).assumable.map((r) => r.name);
  }
  return {
    decision: outcome.allowed ? 'Allow' : 'Deny',
    status: outcome.status,
    reason: outcome.reason,
    ...(outcome.route
      ? {
          action: outcome.route.action,
          resource: outcome.route.resource,
          route: outcome.route.source,
        }
      : {}),
    assumableRoles: trusted,
    rolesConsidered: outcome.rolesConsidered,
    ...(outcome.role ? { role: outcome.role.name } : {}),
    determining: outcome.determining,
    // An identity refusal is the entry {identity: ...}: actual against expected, no claim values.
    ...(outcome.explanation
      ? { explanation: explanationEntries(outcome.explanation, (role) => role) }
      : {}),
  };
}

/**
 * Decides `input` for the caller whose verified `claims` are given, exactly
 * as the live server decides once a token is verified: the request is
 * canonicalised first (an unreadable one is refused before identity), then
 * the claims become a principal through the same {@link principalFromClaims}
 * the verifier uses (issuer, `sub`, `requiredClaims`, `groupsClaim`,
 * `tagClaims`), then {@link authorize}. Identity failures (unknown issuer,
 * a missing `sub`, a required claim) are denies with their 401 code and
 * their identity explanation (the issuer it most likely meant, the claim
 * that failed).
 * Signature, audience and token times are not checked: the claims are taken
 * as verified.
 */
export function simulateClaims(
  claims: Readonly<Record<string, unknown>>,
  input: SimulateRequest,
  config: LoadedConfig,
  nowMs: number,
): object {
  const { request, outcome } = decideClaims(claims, input, config, nowMs);
  return answerOf(request, outcome, config, nowMs);
}

/**
 * The decision behind {@link simulateClaims}, typed: the canonical request
 * and the outcome (decision id `simulated`). `rolegate test` reads it.
 */
export function decideClaims(
  claims: Readonly<Record<string, unknown>>,
  input: SimulateRequest,
  config: LoadedConfig,
  nowMs: number,
): { request: AuthzRequest; outcome: CheckOutcome } {
  const request = edge(input);
  const p: Progress = { rolesConsidered: [], determining: [] };
  let reason: ErrorCode | 'OK';
  if (request.refused !== undefined) reason = request.refused;
  else {
    try {
      const iss = claims['iss'];
      const issuer = config.issuers.find((i) => i.issuer === iss);
      if (!issuer) {
        throw unknownIssuer(
          iss,
          config.issuers.map((i) => i.issuer),
        );
      }
      p.principal = principalFromClaims(claims, issuer);
      reason = authorize(request, p.principal, config, nowMs, p);
    } catch (err) {
      reason = errorCodeOf(err);
      const identity = identityExplanationOf(err);
      if (identity !== undefined) p.explanation = { identity, roles: [] };
    }
  }
  const outcome = toOutcome('simulated', reason, p, config.settings.headers.claims);
  return { request, outcome };
}

/**
 * Decides `input` carrying `token` through the live pipeline itself
 * ({@link check} with a verifier built like `serve`'s, keys fetched from the
 * issuers): the token is put where its issuer sends tokens (the
 * `Authorization` header, its header or its cookie), then verified and
 * decided. The token never appears in the answer.
 */
export async function simulateToken(
  token: string,
  input: SimulateRequest,
  config: LoadedConfig,
  now: () => number = Date.now,
): Promise<object> {
  const verifier = createJwtVerifier({
    // A command line has no Envoy timeout to stay under: wait for keys a little longer.
    issuers: config.issuers.map((i) => ({
      ...i,
      keys: { ...i.keys, maxWaitMs: Math.max(i.keys.maxWaitMs, CLI_KEY_WAIT_MS) },
    })),
    maxTokenBytes: config.settings.tokens.maxBytes,
    cacheEntries: 0,
    now,
  });
  const headers: Record<string, string> = Object.fromEntries(
    Object.entries(input.headers).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const location = tokenLocationFor(token, config);
  if (location.kind === 'bearer') headers['authorization'] = `Bearer ${token}`;
  else if (location.kind === 'header') headers[location.name] = token;
  else {
    const cookie = `${location.name}=${token}`;
    headers['cookie'] = headers['cookie'] ? `${headers['cookie']}; ${cookie}` : cookie;
  }
  const request = edge({ ...input, headers });
  const nowMs = now();
  const outcome = await check(request, {
    generation: () => ({ compiled: config, verifier }),
    now: () => nowMs,
    newId: () => 'simulated',
  });
  return answerOf(request, outcome, config, nowMs);
}

/** How long `simulate --token` waits for an issuer's keys (ms), at least. */
export const CLI_KEY_WAIT_MS = 5000;

/** Where the token's issuer sends tokens; Authorization: Bearer when the token names none we know. */
function tokenLocationFor(token: string, config: LoadedConfig): TokenLocation {
  let iss: unknown;
  try {
    iss = decodeJwt(token).iss;
  } catch {
    return { kind: 'bearer' };
  }
  return config.issuers.find((i) => i.issuer === iss)?.token ?? { kind: 'bearer' };
}

/** Answers one parsed input line. */
export function simulateLine(line: unknown, config: LoadedConfig, defaultNowMs: number): object {
  if (!isRecord(line)) throw new RolegateError('ERR_INPUT_SHAPE', 'a line must be a JSON object');
  const claims = line['claims'];
  if (!isRecord(claims)) throw new RolegateError('ERR_INPUT_SHAPE', 'claims must be an object');
  const time = line['time'];
  const nowMs = time === undefined ? defaultNowMs : Date.parse(str(time, 'time'));
  if (Number.isNaN(nowMs)) throw new RolegateError('ERR_INPUT_SHAPE', 'time must be ISO 8601');
  const sourceIp = line['sourceIp'];
  if (sourceIp !== undefined && typeof sourceIp !== 'string') {
    throw new RolegateError('ERR_INPUT_SHAPE', 'sourceIp must be a string');
  }
  return simulateClaims(
    claims,
    {
      method: str(line['method'], 'method', 'GET'),
      path: str(line['path'], 'path'),
      host: str(line['host'], 'host', 'localhost'),
      headers: stringMap(line['headers'], 'headers'),
      ...(sourceIp === undefined ? {} : { sourceIp }),
      secure: line['secure'] === true,
      contextExtensions: stringMap(line['contextExtensions'], 'contextExtensions'),
    },
    config,
    nowMs,
  );
}

/** Runs the JSON Lines loop; exit status 1 when any line failed. */
export async function runConfigSimulate(
  config: LoadedConfig,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  now: () => number = Date.now,
): Promise<number> {
  let failed = false;
  const rl = createInterface({ input, crlfDelay: Infinity });
  for await (const text of rl) {
    if (text.trim() === '') continue;
    let answer: object;
    try {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new RolegateError('ERR_INPUT_SYNTAX');
      }
      answer = simulateLine(parsed, config, now());
    } catch (err) {
      failed = true;
      const code =
        err instanceof RolegateError && isErrorCode(err.code) ? err.code : 'ERR_INTERNAL';
      answer = { error: { code, message: err instanceof Error ? err.message : String(err) } };
    }
    if (!output.write(`${JSON.stringify(answer)}\n`)) {
      await new Promise((resolve) => output.once('drain', resolve));
    }
  }
  return failed ? 1 : 0;
}
