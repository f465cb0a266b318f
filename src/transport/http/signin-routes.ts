/**
 * The sign-in routes of the access listener (`access.signIn`, see
 * `src/serve/signin.ts` for the flow): `GET /signin` (to the issuer),
 * `GET /signin/callback` (back from it: a session cookie, then the
 * approvals page), `POST /logout` (a form from the page: origin checks,
 * form content type, only the `csrf` field, a CSRF token bound to the
 * caller; then the session ends). Every refusal is audited with what was
 * expected and found, and answered with the code only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorCodeOf, RolegateError } from '../../errors.js';
import {
  AccessInputError,
  admitCaller,
  parseForm,
  readBody,
  requireContentType,
  type ApiPrincipal,
  type ApiRequest,
} from './access-input.js';
import { page, refusedPage, type PageDeps } from './access-page.js';

/** Where to send the browser, with the cookies to set on the way. */
export interface Redirect {
  readonly location: string;
  readonly cookies: readonly string[];
}

/** The flow itself, supplied by the composition root. */
export interface SignInHandlers<R> {
  /** `GET /signin`: a new flow, to the issuer. */
  begin(request: R): Promise<Redirect>;
  /** `GET /signin/callback`: the flow finished, a session opened. */
  finish(request: R, query: URLSearchParams): Promise<Redirect>;
  /** `POST /logout` once admitted: ends the session; the cookies that clear it. */
  end(request: R): Promise<readonly string[]>;
}

/** Audits a refusal of `action` and answers it with the code's page. */
function refuse<R extends ApiRequest, P extends ApiPrincipal>(
  res: ServerResponse,
  deps: PageDeps<R, P>,
  action: string,
  err: unknown,
  principal?: ApiPrincipal,
): void {
  const code = errorCodeOf(err);
  if (code === 'ERR_INTERNAL' || !(err instanceof RolegateError)) throw err;
  deps.events.refused({
    at: deps.now(),
    action,
    code,
    actor: principal?.subject ?? '',
    issuer: principal?.issuer ?? '',
    ...(err instanceof AccessInputError
      ? { expected: err.expected, actual: err.actual }
      : { actual: err.message }),
  });
  refusedPage(res, code);
}

function redirect(res: ServerResponse, to: Redirect): void {
  res
    .writeHead(303, {
      location: to.location,
      'set-cookie': [...to.cookies],
      'cache-control': 'no-store',
    })
    .end();
}

/** `GET /signin` and `GET /signin/callback`. */
export async function signInRoute<R extends ApiRequest, P extends ApiPrincipal>(
  res: ServerResponse,
  url: URL,
  authz: R,
  deps: PageDeps<R, P>,
  handlers: SignInHandlers<R>,
): Promise<void> {
  const action = `GET ${url.pathname}`;
  try {
    if (url.pathname === '/signin') {
      if ([...url.searchParams.keys()].length > 0) {
        throw new AccessInputError('ERR_ACCESS_UNKNOWN_FIELD', {
          expected: 'no query',
          actual: 'a query',
        });
      }
      redirect(res, await handlers.begin(authz));
    } else {
      redirect(res, await handlers.finish(authz, url.searchParams));
    }
  } catch (err) {
    refuse(res, deps, action, err);
  }
}

/** `POST /logout`: a CSRF-checked form post from the page of the signed-in caller. */
export async function signOutRoute<R extends ApiRequest, P extends ApiPrincipal>(
  req: IncomingMessage,
  res: ServerResponse,
  authz: R,
  deps: PageDeps<R, P>,
  handlers: SignInHandlers<R>,
): Promise<void> {
  const action = 'POST /logout';
  const admission = await admitCaller(authz, deps.authenticate, deps.origins());
  if (!admission.ok) {
    const err = new AccessInputError(admission.refusal.code, admission.refusal);
    refuse(res, deps, action, err, admission.principal);
    return;
  }
  const { principal } = admission;
  try {
    requireContentType(req, 'application/x-www-form-urlencoded');
    const form = parseForm(await readBody(req), ['csrf']);
    const check = await deps.csrf.verify(principal, form.get('csrf'));
    if (!check.ok) throw new AccessInputError('ERR_ACCESS_CSRF', check);
    const cookies = await handlers.end(authz);
    res.setHeader('set-cookie', [...cookies]);
    page(res, 200, '<h1>Signed out</h1><p><a id="signin" href="/signin">Sign in</a></p>');
  } catch (err) {
    refuse(res, deps, action, err, principal);
  }
}
