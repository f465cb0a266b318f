/**
 * The access HTTP API (`/v1/access/...`, JSON) and the approvals page
 * (`/approvals`), on their own listener (`access.listen`). Every call is
 * authenticated with the same identities as Check (a bearer token, or the
 * page's session cookie) and every action authorized by rolegate's own
 * policies (see `src/check/access-actions.ts`); the contract is
 * `docs/access-api.openapi.json`, which a test validates this server against.
 *
 * The transport knows the request and the identity only as the types the
 * composition root hands in (`R`, `P`), so it imports neither phase.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorCodeOf, ERROR_CATALOGUE, RolegateError, type ErrorCode } from '../../errors.js';
import type { Grant, AccessRequest } from '../../access/model.js';
import {
  isAudited,
  type AccessEvents,
  type AccessService,
  type ActionAuthorizer,
  type Caller,
} from '../../access/service.js';
import { renderApprovalsPage, pageAction, type PageDeps } from './access-page.js';

/** The API version prefix. */
export const API_PREFIX = '/v1/access';

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 65_536;

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
}

export interface AccessApiServer {
  readonly port: number;
  close(): Promise<void>;
}

/** HTTP status of an access API failure. */
export function apiStatusOf(code: ErrorCode): number {
  switch (code) {
    case 'ERR_ACCESS_INVALID':
    case 'ERR_INPUT_SYNTAX':
    case 'ERR_INPUT_SHAPE':
      return 400;
    case 'ERR_ACCESS_FORBIDDEN':
    case 'ERR_ACCESS_SELF_APPROVAL':
    case 'ERR_STS_FAILED':
    case 'ERR_NO_ROLE':
    case 'ERR_ROLE_NOT_ASSUMABLE':
      return 403;
    case 'ERR_ACCESS_NOT_FOUND':
      return 404;
    case 'ERR_ACCESS_STATE':
      return 409;
    case 'ERR_ACCESS_STORE':
      return 503;
    default:
      return code.startsWith('ERR_TOKEN_') ||
        code === 'ERR_CREDENTIAL_MISSING' ||
        code === 'ERR_JWKS_UNAVAILABLE'
        ? 401
        : 500;
  }
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

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES) throw new RolegateError('ERR_ACCESS_INVALID', 'body too large');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RolegateError('ERR_INPUT_SYNTAX');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RolegateError('ERR_INPUT_SHAPE');
  }
  return value as Record<string, unknown>;
}

const str = (v: unknown, field: string, optional = false): string | undefined => {
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string')
    throw new RolegateError('ERR_ACCESS_INVALID', `${field} must be a string`);
  return v;
};

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

function sendError(res: ServerResponse, code: ErrorCode) {
  const status = apiStatusOf(code);
  sendJson(
    res,
    status,
    { error: code, message: ERROR_CATALOGUE[code] },
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
    let principal: P;
    try {
      principal = await options.authenticate(authz);
    } catch (err) {
      const code = errorCodeOf(err);
      options.events.refused({
        at: options.now(),
        action: `${authz.method} ${url.pathname}`,
        code: code === 'ERR_INTERNAL' ? 'ERR_CREDENTIAL_MISSING' : code,
        actor: '',
        issuer: '',
      });
      sendError(res, code === 'ERR_INTERNAL' ? 'ERR_CREDENTIAL_MISSING' : code);
      return;
    }
    const caller = callerOf(principal);
    try {
      await route(req, res, url, authz, principal, caller);
    } catch (err) {
      // Refusals the service did not see (a malformed body, an unknown query) are audited here.
      if (err instanceof RolegateError && !isAudited(err)) {
        options.events.refused({
          at: options.now(),
          action: `${authz.method} ${url.pathname}`,
          code: err.code,
          actor: caller.subject,
          issuer: caller.issuer,
        });
      }
      throw err;
    }
  };

  const route = async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    authz: R,
    principal: P,
    caller: Caller,
  ): Promise<void> => {
    const authorize = options.authorizer(authz, principal);
    const parts = url.pathname.slice(API_PREFIX.length).split('/').filter(Boolean);
    const method = authz.method;
    const now = options.now();

    if (method === 'GET' && parts.length === 1 && parts[0] === 'requests') {
      const status = url.searchParams.get('status') ?? undefined;
      if (status !== undefined && !['pending', 'approved', 'denied'].includes(status)) {
        throw new RolegateError('ERR_ACCESS_INVALID');
      }
      const list = await service.list(caller, authorize, status as AccessRequest['status']);
      return sendJson(res, 200, { requests: list.map(requestJson) });
    }
    if (method === 'POST' && parts.length === 1 && parts[0] === 'requests') {
      const body = await readJson(req);
      const duration = body['durationSeconds'];
      if (typeof duration !== 'number') throw new RolegateError('ERR_ACCESS_INVALID');
      const ticket = str(body['ticket'], 'ticket', true);
      const created = await service.request(caller, authorize, {
        role: str(body['role'], 'role') as string,
        durationSeconds: duration,
        reason: str(body['reason'], 'reason') as string,
        ...(ticket === undefined ? {} : { ticket }),
        breakGlass: body['breakGlass'] === true,
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
      const body = await readJson(req);
      const comment = str(body['comment'], 'comment', true) ?? '';
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
      if (!role) throw new RolegateError('ERR_ACCESS_INVALID');
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
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://rolegate.invalid');
    const authz = options.requestOf(req, url);
    let work: Promise<void>;
    if (url.pathname === '/approvals' || url.pathname.startsWith('/approvals/')) {
      work =
        req.method === 'POST'
          ? pageAction(req, res, url, authz, pageDeps, readBody)
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
      else sendError(res, code);
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
