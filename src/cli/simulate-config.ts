/**
 * `rolegate simulate --config FILE`: JSON Lines in, one JSON line out per
 * input line, answering as the running service would for a principal's
 * claims plus a method, host and path (no token needed).
 */
import { createInterface } from 'node:readline';
import { authorize, toOutcome, type Progress } from '../check/check.js';
import type { RuntimeConfig } from '../config/compile.js';
import { isErrorCode, RolegateError } from '../errors.js';
import { issuerKeyPrefix, type Principal } from '../identity/principal.js';
import { isRecord } from '../options/fields.js';
import { canonicalRequest } from '../request/normalize.js';
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

/** Answers one parsed input line. */
export function simulateLine(line: unknown, config: RuntimeConfig, defaultNowMs: number): object {
  if (!isRecord(line)) throw new RolegateError('ERR_INPUT_SHAPE', 'a line must be a JSON object');
  const claims = line['claims'];
  if (!isRecord(claims)) throw new RolegateError('ERR_INPUT_SHAPE', 'claims must be an object');
  const iss = str(claims['iss'], 'claims.iss');
  const issuer = config.config.issuers.find((i) => i.issuer === iss);
  if (!issuer)
    throw new RolegateError('ERR_TOKEN_ISSUER_UNKNOWN', `issuer ${iss} is not configured`);
  const principal: Principal = {
    kind: 'jwt',
    issuer: iss,
    subject: str(claims['sub'], 'claims.sub'),
    claims,
    federated: [...new Set([iss, issuerKeyPrefix(iss), ...issuer.federatedPrincipals])],
  };
  const headers = Object.fromEntries(
    Object.entries(stringMap(line['headers'], 'headers')).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const time = line['time'];
  const nowMs = time === undefined ? defaultNowMs : Date.parse(str(time, 'time'));
  if (Number.isNaN(nowMs)) throw new RolegateError('ERR_INPUT_SHAPE', 'time must be ISO 8601');
  const sourceIp = line['sourceIp'];
  // The same edge as the live server: canonical path, method, host and address.
  const request = canonicalRequest({
    method: str(line['method'], 'method', 'GET'),
    target: str(line['path'], 'path'),
    host: str(line['host'], 'host', 'localhost'),
    headers,
    ...(typeof sourceIp === 'string' ? { sourceIp } : {}),
    secure: line['secure'] === true,
    contextExtensions: stringMap(line['contextExtensions'], 'contextExtensions'),
  });
  const p: Progress = { principal, rolesConsidered: [], determining: [] };
  const reason = request.refused ?? authorize(request, principal, config, nowMs, p);
  const outcome = toOutcome('simulated', reason, p, config.config.headers.claims);
  const base = resolvingContext(requestContextResolver(request, principal, p.route, nowMs));
  const trusted = assumableRoles(config.roles, principal, base).assumable.map((r) => r.name);
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
  };
}

/** Runs the JSON Lines loop; exit status 1 when any line failed. */
export async function runConfigSimulate(
  config: RuntimeConfig,
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
