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
import {
  apiStatusOf,
  ERROR_CATALOGUE,
  errorCodeOf,
  RolegateError,
  type ErrorCode,
} from '../../errors.js';
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
  admitCaller,
  checkQuery,
  jsonObject,
  parseStrict,
  readBody,
  requireContentType,
  requireNoBody,
} from './access-input.js';
import { renderApprovalsPage, pageAction, type PageDeps } from './access-page.js';
import type { ApiPrincipal, ApiRequest } from './access-input.js';
import { slackInteraction, SLACK_INTERACTIONS_PATH, type SlackDeps } from './slack-interactions.js';
import { signInRoute, signOutRoute, type SignInHandlers } from './signin-routes.js';

export type { ApiPrincipal, ApiRequest } from './access-input.js';

export { MAX_BODY_BYTES } from './access-input.js';

/** The API version prefix. */
export const API_PREFIX = '/v1/access';

/** `POST /v1/access/requests`: exactly these fields, typed (no coercion). */
export const createRequestBody = z
  .strictObject({
    role: z.string().min(1).optional(),
    /** Several roles in one request: approved role by role, ending together. */
    roles: z.array(z.string().min(1)).min(1).optional(),
    durationSeconds: z.number().int(),
    reason: z.string(),
    ticket: z.string().optional(),
    breakGlass: z.boolean().optional(),
    /** An IAM policy document narrowing the role(s) for the grant. */
    sessionPolicy: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((b) => (b.role === undefined) !== (b.roles === undefined), {
    error: 'exactly one of role and roles',
    path: ['role'],
  });

/** `GET /v1/access/review?windowSeconds=N`: at most a year back; default 30 days. */
const REVIEW_WINDOW = { default: 30 * 86_400, max: 366 * 86_400 };

/** `POST /v1/access/requests/{id}/approve|deny`: an optional comment, nothing else. */
export const decideBody = z.strictObject({ comment: z.string().optional() });

/** Where the verified credential of a call was found. */
export type CredentialSource = 'header' | 'cookie';

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
  /**
   * `GET /v1/access/reach?entity=REF`: the routes of a Backstage entity and
   * the roles that can reach them (authorized, audited and computed by the
   * composition root). Absent: no such endpoint.
   */
  readonly reach?: (request: R, principal: P, entity: string) => Promise<object>;
  /** The approvals page's CSRF tokens (keys shared through the store). */
  readonly csrf: CsrfTokens;
  /**
   * Where the call's credential is (a cookie is refused for state-changing
   * API calls). Default: always a header.
   */
  readonly credentialSource?: (request: R) => CredentialSource | undefined;
  /** `access.origins`, read per call. Default none. */
  readonly origins?: () => readonly string[];
  /** Sign-in routes (`/signin`, `/signin/callback`, `POST /logout`); absent: none. */
  readonly signIn?: SignInHandlers<R>;
  /** Slack's interactive callback (`POST /slack/interactions`); absent: no such endpoint. */
  readonly slack?: Pick<SlackDeps<R, P>, 'config' | 'secret' | 'claimNonce' | 'principalOf'>;
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
    ...(r.sessionPolicy === undefined
      ? {}
      : { sessionPolicy: JSON.parse(r.sessionPolicy) as unknown }),
    ...(r.bundleId === undefined ? {} : { bundleId: r.bundleId }),
    ...(r.approvedByPolicy === undefined ? {} : { approvedByPolicy: r.approvedByPolicy }),
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
    ...(g.sessionPolicy === undefined
      ? {}
      : { sessionPolicy: JSON.parse(g.sessionPolicy) as unknown }),
    ...(g.bundleId === undefined ? {} : { bundleId: g.bundleId }),
    uses: g.uses ?? 0,
    ...(g.lastUsedAt === undefined ? {} : { lastUsedAt: iso(g.lastUsedAt) }),
  };
}

/** What a route's handler is given: the verified caller and the call's checked input. */
interface Call {
  readonly service: AccessService;
  readonly caller: Caller;
  readonly authorize: ActionAuthorizer;
  readonly url: URL;
  /** The path's `{id}` segment ('' on a path without one). */
  readonly id: string;
  /** The JSON body ({} when the route takes none, or takes one optionally and got none). */
  readonly body: Record<string, unknown>;
  /** Epoch ms as the handler starts (a grant's `secondsLeft` counts from it). */
  readonly now: number;
  /** Temporary credentials for a role of the caller's, when AWS is configured. */
  readonly credentials: ((role: string) => Promise<object>) | undefined;
  /** The reach of a Backstage entity, when the composition root supplies it. */
  readonly reach: ((entity: string) => Promise<object>) | undefined;
}

/** A handler's answer: sent as JSON. */
interface Reply {
  readonly status: 200 | 201;
  readonly body: unknown;
}

/** One endpoint of the API. */
interface Route {
  readonly method: 'GET' | 'POST';
  /** The path after {@link API_PREFIX}; `{id}` is one non-empty segment. */
  readonly path: string;
  /**
   * The JSON body it reads: `none` (a body is refused), `optional` or
   * `required`. Every POST changes state, so it must declare JSON and is
   * never taken on a cookie alone.
   */
  readonly body: 'none' | 'optional' | 'required';
  /** The query parameters it reads, each at most once (any other is refused). */
  readonly query: readonly string[];
  /** The route exists only when the composition root supplies this. */
  readonly requires?: 'credentials' | 'reach';
  readonly handler: (call: Call) => Promise<Reply>;
}

const ok = (body: unknown): Reply => ({ status: 200, body });

/** `GET /requests[?status=...]`: the caller's own and those they may list. */
async function listRequests(c: Call): Promise<Reply> {
  const status = c.url.searchParams.get('status') ?? undefined;
  if (status !== undefined && !['pending', 'approved', 'denied'].includes(status)) {
    throw new AccessInputError('ERR_ACCESS_INVALID', {
      expected: 'status pending, approved or denied',
      actual: `status ${JSON.stringify(status.slice(0, 40))}`,
    });
  }
  const list = await c.service.list(c.caller, c.authorize, status as AccessRequest['status']);
  return ok({ requests: list.map(requestJson) });
}

/** `POST /requests`. */
async function createRequest(c: Call): Promise<Reply> {
  const input = parseStrict(createRequestBody, c.body);
  const common = {
    durationSeconds: input.durationSeconds,
    reason: input.reason,
    ...(input.ticket === undefined ? {} : { ticket: input.ticket }),
    breakGlass: input.breakGlass === true,
    ...(input.sessionPolicy === undefined ? {} : { sessionPolicy: input.sessionPolicy }),
  };
  if (input.roles !== undefined) {
    const made = await c.service.requestRoles(c.caller, c.authorize, {
      ...common,
      roles: input.roles,
    });
    return {
      status: 201,
      body: { bundleId: made[0]?.bundleId ?? null, requests: made.map(requestJson) },
    };
  }
  const created = await c.service.request(c.caller, c.authorize, {
    ...common,
    role: input.role ?? '',
  });
  return { status: 201, body: requestJson(created) };
}

/** `GET /review[?windowSeconds=N]`: grants held in the window with their use, unused first. */
async function reviewGrants(c: Call): Promise<Reply> {
  const raw = c.url.searchParams.get('windowSeconds');
  const window = raw === null ? REVIEW_WINDOW.default : Number(raw);
  if (!/^\d{1,9}$/.test(raw ?? '0') || window < 1 || window > REVIEW_WINDOW.max) {
    throw new AccessInputError('ERR_ACCESS_INVALID', {
      expected: `windowSeconds an integer from 1 to ${REVIEW_WINDOW.max}`,
      actual: `windowSeconds ${JSON.stringify((raw ?? '').slice(0, 40))}`,
    });
  }
  const reviewed = await c.service.review(c.caller, c.authorize, window);
  return ok({
    windowSeconds: window,
    grants: reviewed.map((r) => ({ ...grantJson(r.grant, c.now), active: r.active })),
  });
}

/** `GET /requests/{id}`. */
async function showRequest(c: Call): Promise<Reply> {
  return ok(requestJson(await c.service.show(c.caller, c.authorize, c.id)));
}

/** `POST /requests/{id}/approve`: the request, and its grant when this approval completed it. */
async function approveRequest(c: Call): Promise<Reply> {
  const comment = parseStrict(decideBody, c.body).comment ?? '';
  const result = await c.service.approve(c.caller, c.authorize, c.id, comment);
  return ok({
    request: requestJson(result.request),
    ...(result.grant ? { grant: grantJson(result.grant, c.now) } : {}),
  });
}

/** `POST /requests/{id}/deny`. */
async function denyRequest(c: Call): Promise<Reply> {
  const comment = parseStrict(decideBody, c.body).comment ?? '';
  return ok({ request: requestJson(await c.service.deny(c.caller, c.authorize, c.id, comment)) });
}

/** `GET /grants`: active grants the caller holds or may revoke. */
async function listGrants(c: Call): Promise<Reply> {
  const grants = await c.service.grants(c.caller, c.authorize);
  return ok({ grants: grants.map((g) => grantJson(g, c.now)) });
}

/** `POST /grants/{id}/revoke`. */
async function revokeGrant(c: Call): Promise<Reply> {
  return ok({ grant: grantJson(await c.service.revoke(c.caller, c.authorize, c.id), c.now) });
}

/** `GET /credentials?role=NAME`: temporary AWS credentials for the role. */
async function roleCredentials(c: Call): Promise<Reply> {
  const role = c.url.searchParams.get('role');
  if (!role) {
    throw new AccessInputError('ERR_ACCESS_INVALID', {
      expected: 'the query parameter role (a role name)',
      actual: role === null ? 'no role parameter' : 'an empty role',
    });
  }
  // Never undefined here: the route requires credentials.
  if (c.credentials === undefined) throw new RolegateError('ERR_INTERNAL');
  return ok(await c.credentials(role));
}

/** `GET /reach?entity=REF`: the entity's routes and the roles that reach them. */
async function entityReach(c: Call): Promise<Reply> {
  const entity = c.url.searchParams.get('entity');
  if (!entity) {
    throw new AccessInputError('ERR_ACCESS_INVALID', {
      expected: 'the query parameter entity (a Backstage entity ref)',
      actual: entity === null ? 'no entity parameter' : 'an empty entity',
    });
  }
  // Never undefined here: the route requires reach.
  if (c.reach === undefined) throw new RolegateError('ERR_INTERNAL');
  return ok(await c.reach(entity));
}

/** The API's endpoints (docs/access-api.openapi.json). */
const ROUTES: readonly Route[] = [
  { method: 'GET', path: '/requests', body: 'none', query: ['status'], handler: listRequests },
  { method: 'POST', path: '/requests', body: 'required', query: [], handler: createRequest },
  { method: 'GET', path: '/requests/{id}', body: 'none', query: [], handler: showRequest },
  {
    method: 'POST',
    path: '/requests/{id}/approve',
    body: 'optional',
    query: [],
    handler: approveRequest,
  },
  {
    method: 'POST',
    path: '/requests/{id}/deny',
    body: 'optional',
    query: [],
    handler: denyRequest,
  },
  { method: 'GET', path: '/grants', body: 'none', query: [], handler: listGrants },
  { method: 'GET', path: '/review', body: 'none', query: ['windowSeconds'], handler: reviewGrants },
  { method: 'POST', path: '/grants/{id}/revoke', body: 'none', query: [], handler: revokeGrant },
  {
    method: 'GET',
    path: '/credentials',
    body: 'none',
    query: ['role'],
    requires: 'credentials',
    handler: roleCredentials,
  },
  {
    method: 'GET',
    path: '/reach',
    body: 'none',
    query: ['entity'],
    requires: 'reach',
    handler: entityReach,
  },
];

/** The `{id}` of `parts` (path segments) under `pattern` ('' when it has none), or undefined. */
function matchPath(pattern: string, parts: readonly string[]): string | undefined {
  const want = pattern.split('/').filter(Boolean);
  if (want.length !== parts.length) return undefined;
  let id = '';
  for (const [i, segment] of want.entries()) {
    const part = parts[i] as string;
    if (segment === '{id}') id = part;
    else if (segment !== part) return undefined;
  }
  return id;
}

/** The route of `method` and `pathname`, with its `{id}`; undefined when there is none. */
function routeOf(
  method: string,
  pathname: string,
  supplied: ReadonlySet<NonNullable<Route['requires']>>,
): { route: Route; id: string } | undefined {
  const parts = pathname.slice(API_PREFIX.length).split('/').filter(Boolean);
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    if (route.requires !== undefined && !supplied.has(route.requires)) continue;
    const id = matchPath(route.path, parts);
    if (id !== undefined) return { route, id };
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

/** A path the listener does not serve. */
function sendNoEndpoint(res: ServerResponse) {
  sendJson(res, apiStatusOf('ERR_ACCESS_NOT_FOUND'), {
    error: 'ERR_ACCESS_NOT_FOUND',
    message: 'no such endpoint',
  });
}

/** The caller as the service sees it. */
export function callerOf(p: ApiPrincipal): Caller {
  return { issuer: p.issuer, subject: p.subject, groups: p.groups ?? [] };
}

/** Starts the access API listener. */
export async function startAccessApi<R extends ApiRequest, P extends ApiPrincipal>(
  options: AccessApiOptions<R, P>,
): Promise<AccessApiServer> {
  const pageDeps: PageDeps<R, P> = {
    service: options.service,
    authenticate: options.authenticate,
    authorizer: options.authorizer,
    now: options.now,
    events: options.events,
    csrf: options.csrf,
    origins: () => options.origins?.() ?? [],
    signIn: () => options.signIn !== undefined,
  };
  const slackDeps: SlackDeps<R, P> | undefined = options.slack && {
    ...options.slack,
    service: options.service,
    authorizer: options.authorizer,
    events: options.events,
    now: options.now,
  };
  const server: Server = createServer((req, res) => handle(options, pageDeps, slackDeps, req, res));
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

/** One request on the listener: the approvals page, the API, sign-in, Slack's callback, or 404. */
function handle<R extends ApiRequest, P extends ApiPrincipal>(
  options: AccessApiOptions<R, P>,
  pageDeps: PageDeps<R, P>,
  slackDeps: SlackDeps<R, P> | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const url = new URL(req.url ?? '/', 'http://rolegate.invalid');
  const authz = options.requestOf(req, url);
  let work: Promise<void>;
  if (url.pathname === '/approvals' || url.pathname.startsWith('/approvals/')) {
    work =
      req.method === 'POST'
        ? pageAction(req, res, url, authz, pageDeps)
        : renderApprovalsPage(res, url, authz, pageDeps);
  } else if (url.pathname === API_PREFIX || url.pathname.startsWith(`${API_PREFIX}/`)) {
    work = apiCall(options, req, res, url, authz);
  } else if (options.signIn && req.method === 'GET' && url.pathname.startsWith('/signin')) {
    work = ['/signin', '/signin/callback'].includes(url.pathname)
      ? signInRoute(res, url, authz, pageDeps, options.signIn)
      : Promise.resolve(sendNoEndpoint(res));
  } else if (options.signIn && req.method === 'POST' && url.pathname === '/logout') {
    work = signOutRoute(req, res, authz, pageDeps, options.signIn);
  } else if (url.pathname === SLACK_INTERACTIONS_PATH && req.method === 'POST' && slackDeps) {
    work = slackInteraction(req, res, authz, slackDeps);
  } else {
    sendNoEndpoint(res);
    return;
  }
  work.catch((err: unknown) => {
    if (res.headersSent) {
      res.end();
      return;
    }
    sendError(res, errorCodeOf(err), err instanceof AccessInputError ? err.fields : undefined);
  });
}

/**
 * One API call: the caller admitted (from here, signed in), its route
 * found, its input checked ({@link admitInput}), and the handler's answer
 * sent. A refusal the service did not audit is audited here.
 */
async function apiCall<R extends ApiRequest, P extends ApiPrincipal>(
  options: AccessApiOptions<R, P>,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  authz: R,
): Promise<void> {
  const action = `${authz.method} ${url.pathname}`;
  const admission = await admitCaller(authz, options.authenticate, options.origins?.() ?? []);
  if (!admission.ok) {
    const { principal, refusal } = admission;
    options.events.refused({
      at: options.now(),
      action,
      actor: principal?.subject ?? '',
      issuer: principal?.issuer ?? '',
      ...refusal,
    });
    sendError(res, refusal.code);
    return;
  }
  const { principal } = admission;
  const caller = callerOf(principal);
  const credentials = options.credentials;
  const reach = options.reach;
  const supplied = new Set<NonNullable<Route['requires']>>();
  if (credentials !== undefined) supplied.add('credentials');
  if (reach !== undefined) supplied.add('reach');
  try {
    const found = routeOf(authz.method, url.pathname, supplied);
    if (found === undefined) {
      sendNoEndpoint(res);
      return;
    }
    const body = await admitInput(options, req, url, authz, found.route);
    const reply = await found.route.handler({
      service: options.service,
      caller,
      authorize: options.authorizer(authz, principal),
      url,
      id: found.id,
      body,
      now: options.now(),
      credentials: credentials && ((role) => credentials(authz, principal, role)),
      reach: reach && ((entity) => reach(authz, principal, entity)),
    });
    sendJson(res, reply.status, reply.body);
  } catch (err) {
    // Refusals the service did not see (a malformed body, an unknown query) are audited here.
    if (err instanceof RolegateError && !isAudited(err)) {
      options.events.refused({
        at: options.now(),
        action,
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
}

/** The checks every call passes before its handler runs; resolves to its JSON body ({} for none). */
async function admitInput<R extends ApiRequest, P extends ApiPrincipal>(
  options: AccessApiOptions<R, P>,
  req: IncomingMessage,
  url: URL,
  authz: R,
  route: Route,
): Promise<Record<string, unknown>> {
  const changes = route.method === 'POST';
  if (changes && options.credentialSource?.(authz) === 'cookie') {
    throw new AccessInputError('ERR_ACCESS_AMBIENT_CREDENTIAL', {
      expected: "a token in the Authorization header (or the issuer's token header)",
      actual: 'a token in a cookie only, on a call that changes state',
    });
  }
  // Every state-changing call declares JSON, with or without a body: a browser sends
  // that header cross-origin only after a CORS preflight, which this listener never grants.
  requireContentType(req, 'application/json', !changes);
  checkQuery(url, route.query);
  const raw = await readBody(req);
  if (route.body === 'none') {
    requireNoBody(raw);
    return {};
  }
  if (raw.length === 0 && route.body === 'optional') return {};
  return jsonObject(raw);
}
