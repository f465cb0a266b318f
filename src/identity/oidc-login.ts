/**
 * The client side of OpenID Connect's authorization-code flow with PKCE
 * (RFC 7636, S256), shared by the approvals page's sign-in and `rolegate
 * login`: the issuer's endpoints from discovery, a fresh flow (`state`,
 * `nonce`, code verifier: 256 random bits each), the authorization URL, and
 * the code exchange. Verifying what comes back is the caller's job, with
 * the same verifier Check uses. Every remote call is bounded in time and
 * size; a failure is `ERR_SIGNIN_FAILED` whose message says what was
 * expected and found, never a token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { RolegateError } from '../errors.js';

/** Longest wait for the issuer's discovery document or token endpoint, ms. */
export const LOGIN_FETCH_TIMEOUT_MS = 10_000;

/** Largest discovery or token answer read, bytes. */
const MAX_ANSWER_BYTES = 262_144;

/** The issuer's endpoints the flow uses. */
export interface OidcEndpoints {
  readonly authorization: string;
  readonly token: string;
}

/** One sign-in attempt's secrets: checked when the browser comes back. */
export interface LoginFlow {
  readonly state: string;
  readonly nonce: string;
  /** The PKCE code verifier; only its S256 challenge leaves before the exchange. */
  readonly verifier: string;
}

/** What the client is and where the issuer sends the browser back to. */
export interface LoginClient {
  readonly clientId: string;
  /** A confidential client's secret; absent: a public client (PKCE only). */
  readonly clientSecret?: string;
  readonly redirectUri: string;
}

/** The tokens the exchange returned. */
export interface TokenAnswer {
  readonly idToken: string | undefined;
  readonly accessToken: string | undefined;
}

const random = () => randomBytes(32).toString('base64url');

/** A fresh flow: state, nonce and code verifier of 256 random bits each. */
export function newLoginFlow(): LoginFlow {
  return { state: random(), nonce: random(), verifier: random() };
}

/** The S256 code challenge of `verifier`. */
export function codeChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

const failed = (message: string, cause?: unknown) =>
  new RolegateError('ERR_SIGNIN_FAILED', message, cause === undefined ? undefined : { cause });

/** `url`'s JSON object answer (bounded), or a refusal saying what came back. */
async function fetchJson(
  url: string,
  init: RequestInit,
  what: string,
): Promise<Record<string, unknown>> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(LOGIN_FETCH_TIMEOUT_MS) });
    text = await res.text();
  } catch (err) {
    throw failed(`${what} at ${url} could not be reached: ${(err as Error).message}`, err);
  }
  if (text.length > MAX_ANSWER_BYTES)
    throw failed(`${what} at ${url} answered more than ${MAX_ANSWER_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw failed(`${what} at ${url} answered HTTP ${res.status} without a JSON object`);
  }
  const body = json as Record<string, unknown>;
  if (!res.ok) {
    // The issuer's error code only: its description may echo what was sent.
    throw failed(
      `${what} at ${url} answered HTTP ${res.status} error ${JSON.stringify(String(body['error']).slice(0, 60))}`,
    );
  }
  return body;
}

/** The authorization and token endpoints of `issuer`, from its discovery document. */
export async function discoverEndpoints(issuer: string): Promise<OidcEndpoints> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const doc = await fetchJson(url, {}, 'discovery');
  const authorization = doc['authorization_endpoint'];
  const token = doc['token_endpoint'];
  if (doc['issuer'] !== issuer || typeof authorization !== 'string' || typeof token !== 'string') {
    throw failed(
      `discovery at ${url} does not name issuer ${issuer} with authorization_endpoint and token_endpoint`,
    );
  }
  return { authorization, token };
}

/** The URL the browser is sent to: code flow, S256 PKCE, state and nonce. */
export function authorizationUrl(
  endpoints: OidcEndpoints,
  client: LoginClient,
  scopes: readonly string[],
  flow: LoginFlow,
): string {
  const url = new URL(endpoints.authorization);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', client.clientId);
  url.searchParams.set('redirect_uri', client.redirectUri);
  url.searchParams.set('scope', scopes.join(' '));
  url.searchParams.set('state', flow.state);
  url.searchParams.set('nonce', flow.nonce);
  url.searchParams.set('code_challenge', codeChallenge(flow.verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  return url.toString();
}

/** Exchanges `code` (with the flow's code verifier) at the token endpoint. */
export async function exchangeCode(
  endpoints: OidcEndpoints,
  client: LoginClient,
  code: string,
  verifier: string,
): Promise<TokenAnswer> {
  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: client.redirectUri,
    client_id: client.clientId,
    code_verifier: verifier,
    ...(client.clientSecret === undefined ? {} : { client_secret: client.clientSecret }),
  });
  const body = await fetchJson(
    endpoints.token,
    {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form,
    },
    'the token endpoint',
  );
  const text = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined);
  return { idToken: text('id_token'), accessToken: text('access_token') };
}
