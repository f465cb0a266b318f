/**
 * Sign-in for the approvals page (`access.signIn`): OpenID Connect's
 * authorization-code flow with PKCE against one of the configured issuers,
 * ending in a server-side session (`src/access/sessions.ts`).
 *
 * - `GET /signin` starts a flow: state, nonce and code verifier go into a
 *   short-lived HttpOnly flow cookie (so any replica can finish it), the
 *   browser goes to the issuer.
 * - `GET /signin/callback` checks `state` against that cookie, exchanges the
 *   code with the verifier, verifies the ID token (signature, `aud` =
 *   `clientId`, expiry, `nonce`) with the same verifier code Check uses, and
 *   the access token with Check's own verifier (so it is a token Check
 *   accepts, for the same subject); the access token is what the session
 *   carries and what every decision is made with.
 * - A request with only the session cookie is authenticated by re-verifying
 *   that token each time: an expired token, or one whose key the issuer
 *   dropped, ends the session there and then.
 * - `POST /logout` (a CSRF-checked form) ends the session.
 *
 * Refusals carry the operator's detail (an {@link AccessInputError}); the
 * transport audits them. Sign-ins and sign-outs are audit records too;
 * no token, cookie or session id is ever logged.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { SignInConfig } from '../access/options.js';
import {
  createSessions,
  sessionCookie,
  sessionCookieName,
  type Sessions,
} from '../access/sessions.js';
import type { AccessStore } from '../access/store.js';
import type { Generation } from '../check/check.js';
import type { LoadedConfig } from '../config/compile.js';
import { RolegateError } from '../errors.js';
import { createJwtVerifier, type JwtVerifier, type ResolvedIssuer } from '../identity/jwt.js';
import {
  authorizationUrl,
  discoverEndpoints,
  exchangeCode,
  newLoginFlow,
  type LoginClient,
  type LoginFlow,
  type OidcEndpoints,
  type TokenAnswer,
} from '../identity/oidc-login.js';
import type { Principal } from '../identity/principal.js';
import { cookieValue } from '../request/credentials.js';
import type { AuthzRequest } from '../request/types.js';
import { AccessInputError } from '../transport/http/access-input.js';
import type { Redirect, SignInHandlers } from '../transport/http/signin-routes.js';
import { processEnvironment } from '../config/environment.js';

/** How long a started sign-in may take before its flow cookie expires, seconds. */
export const SIGN_IN_FLOW_SECONDS = 600;

export interface SignInOptions {
  readonly generation: () => Generation<LoadedConfig>;
  readonly store: AccessStore;
  readonly now: () => number;
  readonly auditLogger: Logger;
}

/** What the access API wiring needs: the routes, and the session as a credential. */
export interface SignIn extends SignInHandlers<AuthzRequest> {
  /** True when the request carries a session cookie (and no token elsewhere was found). */
  hasSessionCookie(request: AuthzRequest): boolean;
  /** The caller of a request whose credential is the session cookie. */
  principalOf(request: AuthzRequest): Promise<Principal>;
}

const isLoopback = (hostname: string) => ['127.0.0.1', 'localhost', '[::1]'].includes(hostname);

/** Whether cookies are Secure: `externalUrl` is https. */
const secureOf = (config: SignInConfig) => config.externalUrl?.startsWith('https:') === true;

const refuse = (code: 'ERR_SIGNIN_STATE' | 'ERR_SIGNIN_FAILED', expected: string, actual: string) =>
  new AccessInputError(code, { expected, actual });

/** The origin the browser uses: `externalUrl`, else the Host of a loopback request (development). */
function originOf(config: SignInConfig, request: AuthzRequest): string {
  if (config.externalUrl !== undefined) return new URL(config.externalUrl).origin;
  const host = request.headers['host'] ?? '';
  const parsed = URL.canParse(`http://${host}`) ? new URL(`http://${host}`) : undefined;
  if (parsed === undefined || !isLoopback(parsed.hostname) || parsed.host !== host.toLowerCase()) {
    throw refuse(
      'ERR_SIGNIN_FAILED',
      'access.signIn.externalUrl, or a request to a loopback Host (development)',
      `Host ${JSON.stringify(host.slice(0, 80))} and no access.signIn.externalUrl`,
    );
  }
  return `http://${parsed.host}`;
}

/** The flow cookie: `<state>.<nonce>.<verifier>`, HttpOnly, Lax (sent on the issuer's redirect back). */
function flowCookie(secure: boolean, value: string, maxAge: number): string {
  const name = secure ? '__Host-rolegate-signin' : 'rolegate-signin';
  const attrs = [`${name}=${value}`, 'Path=/', `Max-Age=${maxAge}`, 'HttpOnly', 'SameSite=Lax'];
  return (secure ? [...attrs, 'Secure'] : attrs).join('; ');
}

/** The flow the request's flow cookie holds, or undefined. */
function flowOf(config: SignInConfig, request: AuthzRequest): LoginFlow | undefined {
  const name = secureOf(config) ? '__Host-rolegate-signin' : 'rolegate-signin';
  const [state, nonce, verifier, ...rest] = (
    cookieValue(request.headers['cookie'], name) ?? ''
  ).split('.');
  if (!state || !nonce || !verifier || rest.length > 0) return undefined;
  return { state, nonce, verifier };
}

const sameText = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** Verifies the ID token with the same verifier code Check uses, for `aud` = the client id. */
function idTokenVerifierOf(
  cache: WeakMap<object, JwtVerifier>,
  generation: Generation<LoadedConfig>,
  issuer: ResolvedIssuer,
  config: SignInConfig,
  now: () => number,
): JwtVerifier {
  const known = cache.get(generation);
  if (known !== undefined) return known;
  // requiredClaims are rules for the tokens Check decides with, not for the ID token.
  const verifier = createJwtVerifier({
    issuers: [{ ...issuer, audiences: [config.clientId], requiredClaims: {} }],
    maxTokenBytes: 65_536,
    cacheEntries: 0,
    now,
  });
  cache.set(generation, verifier);
  return verifier;
}

/** Creates the sign-in routes and the session credential. */
export function createSignIn(options: SignInOptions): SignIn {
  return new SessionSignIn(options);
}

/** How long the issuer's discovered endpoints are used before discovery is read again: 5 minutes. */
const DISCOVERY_CACHE_MS = 300_000;

/** Who an audit record of a sign-in or sign-out is about. */
type Who = { readonly issuer: string; readonly subject: string };

/** The flow and the sessions over the store: one method per step. */
class SessionSignIn implements SignIn {
  private readonly options: SignInOptions;
  private readonly sessions: Sessions;
  /** The ID token verifier of each generation (its issuer's keys and settings). */
  private readonly idVerifiers = new WeakMap<object, JwtVerifier>();
  /**
   * The issuer's endpoints, read again after {@link DISCOVERY_CACHE_MS}: every
   * unauthenticated `GET /signin` fetching discovery let anyone make rolegate
   * send requests out at their pace.
   */
  private discovered: { issuer: string; at: number; endpoints: Promise<OidcEndpoints> } | undefined;

  constructor(options: SignInOptions) {
    this.options = options;
    this.sessions = createSessions(options.store, options.now);
  }

  async begin(request: AuthzRequest): Promise<Redirect> {
    const config = this.config();
    const flow = newLoginFlow();
    const scopes = config.scopes.includes('openid') ? config.scopes : ['openid', ...config.scopes];
    const client = this.client(config, originOf(config, request));
    const location = authorizationUrl(await this.endpoints(config.issuer), client, scopes, flow);
    const value = `${flow.state}.${flow.nonce}.${flow.verifier}`;
    return { location, cookies: [flowCookie(secureOf(config), value, SIGN_IN_FLOW_SECONDS)] };
  }

  async finish(request: AuthzRequest, query: URLSearchParams): Promise<Redirect> {
    const config = this.config();
    const origin = originOf(config, request);
    const flow = flowOf(config, request);
    const want = 'a state equal to the one this browser started the sign-in with (flow cookie)';
    if (flow === undefined) throw refuse('ERR_SIGNIN_STATE', want, 'no sign-in flow cookie');
    const state = query.get('state') ?? '';
    if (!sameText(state, flow.state)) {
      throw refuse('ERR_SIGNIN_STATE', want, state ? 'another state' : 'no state');
    }
    // RFC 9207: an issuer that names itself on the way back must be the one asked (mix-up).
    const iss = query.get('iss');
    if (iss !== null && iss !== config.issuer) {
      throw refuse(
        'ERR_SIGNIN_FAILED',
        `iss ${config.issuer}`,
        `iss ${JSON.stringify(iss.slice(0, 120))}`,
      );
    }
    const error = query.get('error');
    const code = query.get('code');
    if (error !== null || !code) {
      const actual = error === null ? 'no code' : `error ${JSON.stringify(error.slice(0, 60))}`;
      throw refuse('ERR_SIGNIN_FAILED', 'a code from the issuer', `the issuer answered ${actual}`);
    }
    const endpoints = await this.endpoints(config.issuer);
    const tokens = await exchangeCode(endpoints, this.client(config, origin), code, flow.verifier);
    const principal = await this.verified(config, tokens, flow.nonce);
    return this.open(config, principal, tokens.accessToken as string);
  }

  /** The issuer's endpoints, from discovery at most every {@link DISCOVERY_CACHE_MS}; a failure is not kept. */
  private endpoints(issuer: string): Promise<OidcEndpoints> {
    const now = this.options.now();
    const held = this.discovered;
    if (held !== undefined && held.issuer === issuer && now - held.at < DISCOVERY_CACHE_MS) {
      return held.endpoints;
    }
    const endpoints = discoverEndpoints(issuer);
    this.discovered = { issuer, at: now, endpoints };
    endpoints.catch(() => {
      if (this.discovered?.endpoints === endpoints) this.discovered = undefined;
    });
    return endpoints;
  }

  async end(request: AuthzRequest): Promise<readonly string[]> {
    const config = this.config();
    const id = cookieValue(request.headers['cookie'], sessionCookieName(secureOf(config)));
    if (id !== undefined) {
      const session = await this.sessions.find(id);
      await this.sessions.end(id);
      if (session !== undefined) this.audit('signout', session);
    }
    return [sessionCookie(secureOf(config), '', 0)];
  }

  hasSessionCookie(request: AuthzRequest): boolean {
    const config = this.options.generation().compiled.settings.access.signIn;
    const name = config === undefined ? undefined : sessionCookieName(secureOf(config));
    return name !== undefined && cookieValue(request.headers['cookie'], name) !== undefined;
  }

  async principalOf(request: AuthzRequest): Promise<Principal> {
    const config = this.config();
    const id = cookieValue(request.headers['cookie'], sessionCookieName(secureOf(config)));
    if (id === undefined) throw new RolegateError('ERR_CREDENTIAL_MISSING');
    const session = await this.sessions.find(id).catch((err: unknown) => {
      const why = err instanceof Error ? err.message : String(err);
      throw new RolegateError('ERR_ACCESS_STORE', `the session could not be read: ${why}`);
    });
    if (session === undefined) {
      throw new RolegateError(
        'ERR_SIGNIN_SESSION',
        'no live session for this cookie (forged, signed out, or expired)',
      );
    }
    try {
      return await this.options.generation().verifier.verify(session.token);
    } catch (err) {
      // The token would no longer be accepted (expired, its key gone): neither is the session.
      await this.sessions.end(id).catch(() => undefined);
      this.audit('signout', session, {
        reason: err instanceof RolegateError ? err.code : 'ERR_INTERNAL',
      });
      throw err;
    }
  }

  /** Opens the session of a finished flow: never longer than the token it carries. */
  private async open(config: SignInConfig, principal: Principal, token: string): Promise<Redirect> {
    const at = this.options.now();
    const tokenEnd = (principal.expiresAt ?? Infinity) * 1000;
    const expiresAt = Math.min(at + config.sessionSeconds * 1000, tokenEnd);
    const who = { issuer: principal.issuer, subject: principal.subject };
    const id = await this.sessions.open({ ...who, token }, expiresAt);
    this.audit('signin', who, { expires_at: new Date(expiresAt).toISOString() });
    const secure = secureOf(config);
    return {
      location: '/approvals',
      cookies: [flowCookie(secure, '', 0), sessionCookie(secure, id, (expiresAt - at) / 1000)],
    };
  }

  /** The verified ID and access tokens of a finished flow: the principal the session is for. */
  private async verified(
    config: SignInConfig,
    tokens: TokenAnswer,
    nonce: string,
  ): Promise<Principal> {
    const generation = this.options.generation();
    const issuer = generation.compiled.issuers.find((i) => i.issuer === config.issuer);
    const expected = `an ID token for ${config.clientId} with the flow's nonce, and an access token Check accepts for the same subject`;
    const fail = (actual: string) => refuse('ERR_SIGNIN_FAILED', expected, actual);
    if (issuer === undefined)
      throw fail(`access.signIn.issuer ${config.issuer} is not under issuers`);
    if (tokens.idToken === undefined) throw fail('no id_token in the answer');
    const verifier = idTokenVerifierOf(
      this.idVerifiers,
      generation,
      issuer,
      config,
      this.options.now,
    );
    const id = await verifier.verify(tokens.idToken).catch((err: unknown) => {
      throw fail(`the ID token did not verify: ${(err as Error).message}`);
    });
    const claimed = id.claims['nonce'];
    if (typeof claimed !== 'string' || !sameText(claimed, nonce)) {
      throw fail("the ID token's nonce is not the flow's");
    }
    if (tokens.accessToken === undefined) throw fail('no access_token in the answer');
    const access = await generation.verifier.verify(tokens.accessToken).catch((err: unknown) => {
      throw fail(`the access token is not one Check accepts: ${(err as Error).message}`);
    });
    if (access.issuer !== id.issuer || access.subject !== id.subject) {
      throw fail(`the access token is for ${access.subject}, the ID token for ${id.subject}`);
    }
    return access;
  }

  /** `access.signIn`; none configured is no such endpoint. */
  private config(): SignInConfig {
    const config = this.options.generation().compiled.settings.access.signIn;
    if (config === undefined) throw new RolegateError('ERR_ACCESS_NOT_FOUND');
    return config;
  }

  /** The client rolegate is at the issuer, sending browsers back to `origin`. */
  private client(config: SignInConfig, origin: string): LoginClient {
    const secret = config.clientSecretEnv && processEnvironment()[config.clientSecretEnv];
    return {
      clientId: config.clientId,
      redirectUri: `${origin}/signin/callback`,
      ...(secret ? { clientSecret: secret } : {}),
    };
  }

  /** The audit record of a sign-in or sign-out (never a token, cookie or session id). */
  private audit(event: 'signin' | 'signout', who: Who, extra: Record<string, string> = {}): void {
    const at = new Date(this.options.now()).toISOString();
    this.options.auditLogger.info(
      { access: { event, at, subject: who.subject, issuer: who.issuer, ...extra } },
      'access',
    );
  }
}
