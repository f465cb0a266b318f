/**
 * The access HTTP API (`/v1/access/...`, JSON) and the approvals page
 * (`/approvals`), on their own listener (`access.listen`). Every call is
 * authenticated with the same identities as Check (a bearer token, or the
 * page's session cookie) and every action authorized by rolegate's own
 * policies (see `src/check/access-actions.ts`); the contract is
 * `docs/access-api.openapi.json`, which a test validates this server against.
 *
 * The API reads strictly (`access-input.ts`): JSON bodies declared as
 * `application/json` with exactly the fields the call takes, no body where
 * none is taken, only known query parameters; no browser call from another
 * site or origin; and no state-changing call authenticated by a cookie
 * alone (a browser attaches cookies to cross-site requests by itself; it
 * never adds an `Authorization` header or sets `Content-Type:
 * application/json` cross-origin without a CORS preflight, which this
 * listener never grants).
 *
 * The transport knows the request and the identity only as the types the
 * composition root hands in (`R`, `P`), so it imports neither phase.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { ERROR_CATALOGUE, RolegateError, type ErrorCode } from '../../errors.js';
import type { CsrfTokens } from '../../access/csrf.js';
import type { Grant, AccessRequest } from '../../access/model.js';
import {
  isAudited,
  type AccessEvents,
  type AccessService,
  type ActionAuthorizer,
  type Caller,
} from '../../access/service.js';
import {
  AccessInputError,
  apiStatusOf,
  checkQuery,
  crossSite,
  jsonObject,
  parseStrict,
  readBody,
  requireContentType,
  requireNoBody,
  signInRefusal,
} from './access-input.js';
import { renderApprovalsPage, pageAction, type PageDeps } from './access-page.js';

export { apiStatusOf, MAX_BODY_BYTES } from './access-input.js';

/** The API version prefix. */
export const API_PREFIX = '/v1/access';

/** `POST /v1/access/requests`: exactly these fields, typed (no coercion). */
export const createRequestBody = z.strictObject({
  role: z.string().min(1),
  durationSeconds: z.number().int(),
  reason: z.string(),
  ticket: z.string().optional(),
  breakGlass: z.boolean().optional(),
});

/** `POST /v1/access/requests/{id}/approve|deny`: an optional comment, nothing else. */
export const decideBody = z.strictObject({ comment: z.string().optional() });

/** Where the verified credential of a call was found. */
export type CredentialSource = 'header' | 'cookie';

/** What the API reads of a verified identity. */
export interface ApiPrincipal {
  readonly issuer: string;
  readonly subject: string;
  readonly groups?: readonly string[];
}

/** The parts of an HTTP request the API reads itself. */
export interface ApiRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface AccessApiOptions<R extends ApiRequest, P extends ApiPrincipal> {
  /** The request as the identity and policy phases read it. */
  readonly requestOf: (req: IncomingMessage, url: URL) => R;
  readonly host: string;
  readonly port: number;
  readonly service: AccessService;
  /** Verifies the request's credential (as Check does); rejects with a token error code. */
  readonly authenticate: (request: R) => Promise<P>;
  /** rolegate's own policies for this caller and request. */
  readonly authorizer: (request: R, principal: P) => ActionAuthorizer;
  /** Refusals before the service is reached (authentication) are reported here. */
  readonly events: AccessEvents;
  readonly now: () => number;
  /** Epoch ms of the grant cache's last refresh, for `/v1/access/status`. */
  readonly cacheRefreshedAt?: () => number;
  /** Temporary credentials for `GET /v1/access/credentials?role=NAME`, when AWS is configured. */
  readonly credentials?: (request: R, principal: P, role: string) => Promise<object>;
  /** The approvals page's CSRF tokens (keys shared through the store). */
  readonly csrf: CsrfTokens;
  /**
   * Where the call's credential is (a cookie is refused for state-changing
   * API calls). Default: always a header.
   */
  readonly credentialSource?: (request: R) => CredentialSource | undefined;
  /** `access.origins`, read per call. Default none. */
  readonly origins?: () => readonly string[];
}

export interface AccessApiServer {
  readonly port: number;
  close(): Promise<void>;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** The JSON form of a request (times ISO 8601). */
export function requestJson(r: AccessRequest): Record<string, unknown> {
  return {
    id: r.id,
    role: r.role,
    roleArn: r.roleArn,
    requester: r.requester,
    issuer: r.issuer,
    durationSeconds: r.durationSeconds,
    reason: r.reason,
    ...(r.ticket === undefined ? {} : { ticket: r.ticket }),
    breakGlass: r.breakGlass,
    status: r.status,
    createdAt: iso(r.createdAt),
    ...(r.decidedAt === undefined ? {} : { decidedAt: iso(r.decidedAt) }),
    approvals: r.approvals.map((a) => ({
      approver: a.approver,
      comment: a.comment,
      at: iso(a.at),
    })),
    ...(r.deniedBy === undefined ? {} : { deniedBy: r.deniedBy, denyComment: r.denyComment ?? '' }),
    ...(r.grantId === undefined ? {} : { grantId: r.grantId }),
  };
}

/** The JSON form of a grant. */
export function grantJson(g: Grant, nowMs: number): Record<string, unknown> {
  return {
    id: g.id,
    requestId: g.requestId,
    role: g.role,
    roleArn: g.roleArn,
    subject: g.subject,
    issuer: g.issuer,
    startsAt: iso(g.startsAt),
    expiresAt: iso(g.expiresAt),
    secondsLeft:
      g.revokedAt === undefined ? Math.max(0, Math.floor((g.expiresAt - nowMs) / 1000)) : 0,
    breakGlass: g.breakGlass,
    ...(g.revokedAt === undefined ? {} : { revokedAt: iso(g.revokedAt), revokedBy: g.revokedBy }),
  };
}

/** What an endpoint reads: its body (none, optional or required JSON) and query parameters. */
interface Endpoint {
  readonly body: 'none' | 'optional' | 'required';
  readonly query: readonly string[];
  /** POST: changes state, so never on a cookie alone. */
  readonly changes: boolean;
}

/** The endpoint `method` and path `parts` (after the prefix) name, or undefined. */
function endpointOf(
  method: string,
  parts: readonly string[],
  credentials: boolean,
): Endpoint | undefined {
  const [kind, id, verb] = parts;
  const n = parts.length;
  const get = (query: readonly string[] = []): Endpoint => ({
    body: 'none',
    query,
    changes: false,
  });
  if (method === 'GET') {
    if (n === 1 && kind === 'requests') return get(['status']);
    if (n === 2 && kind === 'requests') return get();
    if (n === 1 && kind === 'grants') return get();
    if (n === 1 && kind === 'credentials' && credentials) return get(['role']);
  }
  if (method === 'POST') {
    if (n === 1 && kind === 'requests') return { body: 'required', query: [], changes: true };
    if (n === 3 && kind === 'requests' && id && (verb === 'approve' || verb === 'deny')) {
      return { body: 'optional', query: [], changes: true };
    }
    if (n === 3 && kind === 'grants' && id && verb === 'revoke') {
      return { body: 'none', query: [], changes: true };
    }
  }
  return undefined;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
) {
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...extra,
    })
    .end(`${JSON.stringify(body)}\n`);
}

/** The client's answer: the code, the catalogue's generic message and, for unknown fields, their names. */
function sendError(res: ServerResponse, code: ErrorCode, fields?: readonly string[]) {
  const status = apiStatusOf(code);
  sendJson(
    res,
    status,
    { error: code, message: ERROR_CATALOGUE[code], ...(fields ? { fields } : {}) },
    status === 401 ? { 'www-authenticate': 'Bearer' } : {},
  );
}

/** The caller as the service sees it. */
export function callerOf(p: ApiPrincipal): Caller {
  return { issuer: p.issuer, subject: p.subject, groups: p.groups ?? [] };
}

/** Starts the access API listener. */
export async function startAccessApi<R extends ApiRequest, P extends ApiPrincipal>(
  options: AccessApiOptions<R, P>,
): Promise<AccessApiServer> {
  const { service } = options;

  const api = async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    authz: R,
  ): Promise<void> => {
    // A browser call from elsewhere is refused whatever its credentials; they are
    // verified anyway, so the audit record names whose browser was used.
    const elsewhere = crossSite(authz.headers, options.origins?.() ?? []);
    let principal: P | undefined;
    let failed: ReturnType<typeof signInRefusal> | undefined;
    try {
      principal = await options.authenticate(authz);
    } catch (err) {
      failed = signInRefusal(err);
    }
    if (elsewhere !== undefined || principal === undefined) {
      const why = elsewhere
        ? { code: 'ERR_ACCESS_CROSS_SITE' as const, ...elsewhere }
        : (failed as ReturnType<typeof signInRefusal>);
      options.events.refused({
        at: options.now(),
        action: `${authz.method} ${url.pathname}`,
        actor: principal?.subject ?? '',
        issuer: principal?.issuer ?? '',
        ...why,
      });
      sendError(res, why.code);
      return;
    }
    const caller = callerOf(principal);
    try {
      const parts = url.pathname.slice(API_PREFIX.length).split('/').filter(Boolean);
      const endpoint = endpointOf(authz.method, parts, options.credentials !== undefined);
      if (endpoint === undefined) {
        sendJson(res, 404, { error: 'ERR_ACCESS_NOT_FOUND', message: 'no such endpoint' });
        return;
      }
      const body = await admit(req, url, authz, endpoint);
      await route(res, url, authz, principal, caller, parts, body);
    } catch (err) {
      // Refusals the service did not see (a malformed body, an unknown query) are audited here.
      if (err instanceof RolegateError && !isAudited(err)) {
        options.events.refused({
          at: options.now(),
          action: `${authz.method} ${url.pathname}`,
          code: err.code,
          actor: caller.subject,
          issuer: caller.issuer,
          ...(err instanceof AccessInputError
            ? { expected: err.expected, actual: err.actual }
            : { actual: err.message }),
        });
      }
      throw err;
    }
  };

  /** The checks every call passes before its handler runs; resolves to its JSON body, if any. */
  const admit = async (
    req: IncomingMessage,
    url: URL,
    authz: R,
    endpoint: Endpoint,
  ): Promise<Record<string, unknown> | undefined> => {
    if (endpoint.changes && options.credentialSource?.(authz) === 'cookie') {
      throw new AccessInputError('ERR_ACCESS_AMBIENT_CREDENTIAL', {
        expected: "a token in the Authorization header (or the issuer's token header)",
        actual: 'a token in a cookie only, on a call that changes state',
      });
    }
    // Every state-changing call declares JSON, with or without a body: a browser sends
    // that header cross-origin only after a CORS preflight, which this listener never grants.
    requireContentType(req, 'application/json', !endpoint.changes);
    checkQuery(url, endpoint.query);
    const raw = await readBody(req);
    if (endpoint.body === 'none') {
      requireNoBody(raw);
      return undefined;
    }
    if (raw.length === 0 && endpoint.body === 'optional') return {};
    return jsonObject(raw);
  };

  const route = async (
    res: ServerResponse,
    url: URL,
    authz: R,
    principal: P,
    caller: Caller,
    parts: readonly string[],
    body: Record<string, unknown> | undefined,
  ): Promise<void> => {
    const authorize = options.authorizer(authz, principal);
    const method = authz.method;
    const now = options.now();

    if (method === 'GET' && parts.length === 1 && parts[0] === 'requests') {
      const status = url.searchParams.get('status') ?? undefined;
      if (status !== undefined && !['pending', 'approved', 'denied'].includes(status)) {
        throw new AccessInputError('ERR_ACCESS_INVALID', {
          expected: 'status pending, approved or denied',
          actual: `status ${JSON.stringify(status.slice(0, 40))}`,
        });
      }
      const list = await service.list(caller, authorize, status as AccessRequest['status']);
      return sendJson(res, 200, { requests: list.map(requestJson) });
    }
    if (method === 'POST' && parts.length === 1 && parts[0] === 'requests') {
      const input = parseStrict(createRequestBody, body ?? {});
      const created = await service.request(caller, authorize, {
        role: input.role,
        durationSeconds: input.durationSeconds,
        reason: input.reason,
        ...(input.ticket === undefined ? {} : { ticket: input.ticket }),
        breakGlass: input.breakGlass === true,
      });
      return sendJson(res, 201, requestJson(created));
    }
    if (parts[0] === 'requests' && parts.length === 2 && method === 'GET') {
      return sendJson(
        res,
        200,
        requestJson(await service.show(caller, authorize, parts[1] as string)),
      );
    }
    if (parts[0] === 'requests' && parts.length === 3 && method === 'POST') {
      const id = parts[1] as string;
      const comment = parseStrict(decideBody, body ?? {}).comment ?? '';
      if (parts[2] === 'approve') {
        const result = await service.approve(caller, authorize, id, comment);
        return sendJson(res, 200, {
          request: requestJson(result.request),
          ...(result.grant ? { grant: grantJson(result.grant, now) } : {}),
        });
      }
      if (parts[2] === 'deny') {
        return sendJson(res, 200, {
          request: requestJson(await service.deny(caller, authorize, id, comment)),
        });
      }
    }
    if (method === 'GET' && parts.length === 1 && parts[0] === 'grants') {
      const grants = await service.grants(caller, authorize);
      return sendJson(res, 200, { grants: grants.map((g) => grantJson(g, now)) });
    }
    if (method === 'POST' && parts.length === 3 && parts[0] === 'grants' && parts[2] === 'revoke') {
      const g = await service.revoke(caller, authorize, parts[1] as string);
      return sendJson(res, 200, { grant: grantJson(g, now) });
    }
    if (
      method === 'GET' &&
      parts.length === 1 &&
      parts[0] === 'credentials' &&
      options.credentials
    ) {
      const role = url.searchParams.get('role');
      if (!role) {
        throw new AccessInputError('ERR_ACCESS_INVALID', {
          expected: 'the query parameter role (a role name)',
          actual: role === null ? 'no role parameter' : 'an empty role',
        });
      }
      return sendJson(res, 200, await options.credentials(authz, principal, role));
    }
    sendJson(res, 404, { error: 'ERR_ACCESS_NOT_FOUND', message: 'no such endpoint' });
  };

  const pageDeps: PageDeps<R, P> = {
    service,
    authenticate: options.authenticate,
    authorizer: options.authorizer,
    now: options.now,
    events: options.events,
    csrf: options.csrf,
    origins: () => options.origins?.() ?? [],
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://rolegate.invalid');
    const authz = options.requestOf(req, url);
    let work: Promise<void>;
    if (url.pathname === '/approvals' || url.pathname.startsWith('/approvals/')) {
      work =
        req.method === 'POST'
          ? pageAction(req, res, url, authz, pageDeps)
          : renderApprovalsPage(res, url, authz, pageDeps);
    } else if (url.pathname === API_PREFIX || url.pathname.startsWith(`${API_PREFIX}/`)) {
      work = api(req, res, url, authz);
    } else {
      sendJson(res, 404, { error: 'ERR_ACCESS_NOT_FOUND', message: 'no such endpoint' });
      return;
    }
    work.catch((err: unknown) => {
      if (res.headersSent) {
        res.end();
        return;
      }
      const code = err instanceof RolegateError ? err.code : 'ERR_INTERNAL';
      if (code === 'ERR_INTERNAL')
        sendJson(res, 500, { error: code, message: ERROR_CATALOGUE[code] });
      else sendError(res, code, err instanceof AccessInputError ? err.fields : undefined);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
