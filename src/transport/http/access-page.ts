/**
 * The approvals page: pending requests (approve or deny with a comment),
 * active grants with time left (revoke). Server-rendered HTML, no script,
 * no build step. It is authenticated like the API (a bearer token, which a
 * browser gets from the proxy in front, e.g. Envoy with an OAuth2 filter or
 * oauth2-proxy, or the issuer's cookie). Every form carries a CSRF token
 * bound to the caller (`src/access/csrf.ts`: keys in the store, shared by
 * every worker and replica, rotated every `access.csrfRotateSeconds`) that
 * a POST must echo; a POST must also be a form post
 * (`application/x-www-form-urlencoded`) with only the form's fields, and is
 * refused when `Sec-Fetch-Site` or `Origin` say it came from elsewhere.
 * Every value is HTML-escaped.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiStatusOf, errorCodeOf, RolegateError, type ErrorCode } from '../../errors.js';
import type { CsrfTokens } from '../../access/csrf.js';
import type { AccessRequest } from '../../access/model.js';
import {
  isAudited,
  type AccessEvents,
  type AccessService,
  type ActionAuthorizer,
} from '../../access/service.js';
import type { ApiPrincipal, ApiRequest } from './access-input.js';
import {
  AccessInputError,
  admitCaller,
  parseForm,
  readBody,
  requireContentType,
  signInRefusal,
} from './access-input.js';

export interface PageDeps<R extends ApiRequest, P extends ApiPrincipal> {
  readonly service: AccessService;
  readonly authenticate: (request: R) => Promise<P>;
  readonly authorizer: (request: R, principal: P) => ActionAuthorizer;
  readonly now: () => number;
  /** Where refusals the service never sees (sign-in, CSRF) are audited. */
  readonly events: AccessEvents;
  readonly csrf: CsrfTokens;
  /** `access.origins`. */
  readonly origins: () => readonly string[];
  /** Whether rolegate signs people in itself (`access.signIn`): sign-in link, sign-out form. Default false. */
  readonly signIn?: () => boolean;
}

/** The fields the page's forms send. */
const FORM_FIELDS = ['csrf', 'comment', 'do'] as const;

/** HTML-escapes text for element content and quoted attributes. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function left(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h > 0 ? `${h}h ${m}m` : `${m}m ${seconds % 60}s`;
}

const HEAD = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>rolegate approvals</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-bottom:2em}
td,th{border:1px solid #ccc;padding:.4em .6em;text-align:left}.bg{color:#b00;font-weight:bold}
form{display:inline}input[type=text]{width:12em}</style></head><body>`;

/** Sends an HTML page of the listener with its security headers. */
export function page(res: ServerResponse, status: number, body: string) {
  res
    .writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy':
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
      'x-frame-options': 'DENY',
      // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on the
      // page's own form posts, which the cross-origin check refuses.
      'referrer-policy': 'same-origin',
    })
    .end(`${HEAD}${body}</body></html>`);
}

/** The page of a refused action: the code, nothing else (the audit record says why). */
export function refusedPage(res: ServerResponse, code: ErrorCode) {
  page(
    res,
    apiStatusOf(code),
    `<h1>Refused</h1><p id="error">${esc(code)}</p><p><a href="/approvals">Back</a></p>`,
  );
}

/** The page of a caller whose credential did not verify (`code`: why), with a sign-in link when rolegate signs people in. */
function signInPage(res: ServerResponse, code: ErrorCode, signIn = false) {
  const link = signIn ? '<p><a id="signin" href="/signin">Sign in</a></p>' : '';
  page(res, apiStatusOf(code), `<h1>Sign in required</h1>${link}`);
}

/**
 * What an approver must see besides the role: the session policy that
 * narrows it (shown as the document, escaped) and the other roles of the
 * same request.
 */
function requestScope(r: AccessRequest): string {
  const bundle =
    r.bundleId === undefined
      ? ''
      : ` <span class="bundle">one of several roles, request ${esc(r.bundleId)}</span>`;
  const session =
    r.sessionPolicy === undefined
      ? ''
      : `<details class="session"><summary>narrowed by a session policy</summary><pre>${esc(JSON.stringify(JSON.parse(r.sessionPolicy), null, 2))}</pre></details>`;
  return bundle + session;
}

/** `GET /approvals`: the page for the authenticated caller. */
export async function renderApprovalsPage<R extends ApiRequest, P extends ApiPrincipal>(
  res: ServerResponse,
  url: URL,
  authz: R,
  deps: PageDeps<R, P>,
): Promise<void> {
  let principal: P;
  try {
    principal = await deps.authenticate(authz);
  } catch (err) {
    const refusal = signInRefusal(err);
    deps.events.refused({
      at: deps.now(),
      action: `GET ${url.pathname}`,
      actor: '',
      issuer: '',
      ...refusal,
    });
    signInPage(res, refusal.code, deps.signIn?.() === true);
    return;
  }
  const authorize = deps.authorizer(authz, principal);
  const csrf = esc(await deps.csrf.mint(principal));
  const pending = await deps.service.list(
    { issuer: principal.issuer, subject: principal.subject, groups: principal.groups ?? [] },
    authorize,
    'pending',
  );
  const grants = await deps.service.grants(
    { issuer: principal.issuer, subject: principal.subject, groups: principal.groups ?? [] },
    authorize,
  );
  const now = deps.now();
  const notice = url.searchParams.get('done');
  const rows = pending
    .map(
      (r) => `<tr data-request="${esc(r.id)}"><td>${esc(r.requester)}</td><td>${esc(r.role)}</td>
<td>${Math.round(r.durationSeconds / 60)} min</td><td>${esc(r.reason)}${r.ticket ? ` (${esc(r.ticket)})` : ''}
${r.breakGlass ? ' <span class="bg">BREAK-GLASS</span>' : ''}${requestScope(r)}</td><td>${r.approvals.length}</td><td>
<form method="post" action="/approvals/requests/${esc(r.id)}/approve"><input type="hidden" name="csrf" value="${csrf}">
<input type="text" name="comment" placeholder="comment" aria-label="comment"><button name="do" value="approve">Approve</button></form>
<form method="post" action="/approvals/requests/${esc(r.id)}/deny"><input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="comment" value=""><button name="do" value="deny">Deny</button></form></td></tr>`,
    )
    .join('');
  const grantRows = grants
    .map(
      (g) => `<tr data-grant="${esc(g.id)}"><td>${esc(g.subject)}</td><td>${esc(g.role)}</td>
<td>${esc(new Date(g.expiresAt).toISOString())}</td><td class="left">${left(Math.max(0, Math.floor((g.expiresAt - now) / 1000)))}</td><td>
<form method="post" action="/approvals/grants/${esc(g.id)}/revoke"><input type="hidden" name="csrf" value="${csrf}">
<button>Revoke</button></form></td></tr>`,
    )
    .join('');
  page(
    res,
    200,
    `<h1>Access approvals</h1><p>Signed in as <b>${esc(principal.subject)}</b>${
      deps.signIn?.() === true
        ? ` <form method="post" action="/logout"><input type="hidden" name="csrf" value="${csrf}"><button id="signout">Sign out</button></form>`
        : ''
    }</p>
${notice ? `<p role="status">${esc(notice)}</p>` : ''}
<h2>Pending requests</h2>${
      pending.length === 0
        ? '<p id="no-pending">No pending requests.</p>'
        : `<table id="pending"><tr><th>Requester</th><th>Role</th><th>Duration</th><th>Reason</th><th>Approvals</th><th></th></tr>${rows}</table>`
    }
<h2>Active grants</h2>${
      grants.length === 0
        ? '<p id="no-grants">No active grants.</p>'
        : `<table id="grants"><tr><th>Holder</th><th>Role</th><th>Expires</th><th>Time left</th><th></th></tr>${grantRows}</table>`
    }`,
  );
}

/** `POST /approvals/requests/{id}/approve|deny`, `POST /approvals/grants/{id}/revoke`. */
export async function pageAction<R extends ApiRequest, P extends ApiPrincipal>(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  authz: R,
  deps: PageDeps<R, P>,
): Promise<void> {
  // From elsewhere: refused whatever the credentials (verified only to name the caller).
  const admission = await admitCaller(authz, deps.authenticate, deps.origins());
  if (!admission.ok) {
    const { principal, refusal } = admission;
    deps.events.refused({
      at: deps.now(),
      action: `POST ${url.pathname}`,
      actor: principal?.subject ?? '',
      issuer: principal?.issuer ?? '',
      ...refusal,
    });
    if (refusal.code === 'ERR_ACCESS_CROSS_SITE') refusedPage(res, refusal.code);
    else signInPage(res, refusal.code, deps.signIn?.() === true);
    return;
  }
  const { principal } = admission;
  const caller = {
    issuer: principal.issuer,
    subject: principal.subject,
    groups: principal.groups ?? [],
  };
  const segments = url.pathname.split('/');
  // Exactly /approvals/<kind>/<id>/<verb>: anything longer names no action.
  const [, , kind, id, verb] = segments.length === 5 ? segments : [];
  try {
    requireContentType(req, 'application/x-www-form-urlencoded');
    const form = parseForm(await readBody(req), FORM_FIELDS);
    const check = await deps.csrf.verify(principal, form.get('csrf'));
    if (!check.ok) throw new AccessInputError('ERR_ACCESS_CSRF', check);
    const authorize = deps.authorizer(authz, principal);
    const comment = form.get('comment') ?? '';
    if (kind === 'requests' && id && verb === 'approve')
      await deps.service.approve(caller, authorize, id, comment);
    else if (kind === 'requests' && id && verb === 'deny')
      await deps.service.deny(caller, authorize, id, comment);
    else if (kind === 'grants' && id && verb === 'revoke')
      await deps.service.revoke(caller, authorize, id);
    else {
      throw new AccessInputError('ERR_ACCESS_NOT_FOUND', {
        expected: 'POST /approvals/requests/{id}/approve|deny or /approvals/grants/{id}/revoke',
        actual: `POST ${url.pathname.slice(0, 120)}`,
      });
    }
  } catch (err) {
    const code = errorCodeOf(err);
    if (err instanceof RolegateError && !isAudited(err)) {
      deps.events.refused({
        at: deps.now(),
        action: `POST ${url.pathname}`,
        code,
        actor: caller.subject,
        issuer: caller.issuer,
        ...(err instanceof AccessInputError
          ? { expected: err.expected, actual: err.actual }
          : { actual: err.message }),
      });
    }
    if (code === 'ERR_INTERNAL') throw err;
    refusedPage(res, code);
    return;
  }
  res
    .writeHead(303, {
      location: `/approvals?done=${encodeURIComponent(`${verb ?? ''} ${id ?? ''}`)}`,
    })
    .end();
}
