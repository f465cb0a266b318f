/**
 * A real OpenID provider (`oidc-provider`) on 127.0.0.1, issuing JWT access
 * tokens through the client-credentials grant and ID tokens through the
 * authorization-code flow (driven programmatically through its development
 * login). Keys can be rotated and the provider stopped and restarted on the
 * same port; every request it serves is counted by path. Tests can register
 * clients of their own (`addClient`, e.g. with a redirect URI they listen
 * on), give accounts groups (`groups`, also carried in access tokens of
 * the authorization-code flow), and drive a login from any authorization URL
 * (`authorize`).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider, { type ClientMetadata } from 'oidc-provider';
import { closeNow, listenLoopback } from './http-server.js';
import { joinUrl, type Peer } from './peer.js';

export const API_AUDIENCE = 'urn:rolegate:api';
export const SERVICE_CLIENT = {
  id: 'orders-service',
  secret: 'orders-service-secret-0123456789abcdef',
};
export const WEB_CLIENT = {
  id: 'web-app',
  secret: 'web-app-secret-0123456789abcdef0123',
  redirect: 'http://127.0.0.1:1/callback',
};

async function signingKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A form post of `fields`. */
const form = (fields: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields),
});

export class OidcProviderPeer implements Peer {
  /** Requests served, by path. */
  readonly hits = new Map<string, number>();
  private server: Server | undefined;
  private handler: Handler | undefined;
  private port_ = 0;
  /** Signing keys, newest first (the provider signs with the first). */
  private keys: JWK[] = [];
  /** Clients registered by tests, besides the two built in. */
  private extraClients: ClientMetadata[] = [];
  /** Groups of each account (login); an account not listed is in `readers`. */
  readonly groups = new Map<string, string[]>();

  async start(): Promise<void> {
    if (this.server) return;
    if (this.keys.length === 0) this.keys = [await signingKey()];
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
      if (this.handler) this.handler(req, res);
      else res.writeHead(503).end();
    });
    this.port_ = await listenLoopback(server, this.port_);
    this.server = server;
    this.handler = this.provider().callback() as Handler;
  }

  get issuer(): string {
    return `http://127.0.0.1:${this.port_}`;
  }

  url(path = '/'): string {
    return joinUrl(this.issuer, path);
  }

  requestCount(path?: string): number {
    if (path !== undefined) return this.hits.get(path) ?? 0;
    return [...this.hits.values()].reduce((a, b) => a + b, 0);
  }

  /** kid of the key new tokens are signed with. */
  get currentKid(): string {
    return String(this.keys[0]?.kid);
  }

  /** Publishes a new key first (new tokens use it) and keeps the old ones in the JWKS. */
  async rotateKeys(): Promise<string> {
    this.keys = [await signingKey(), ...this.keys];
    this.handler = this.provider().callback() as Handler;
    return this.currentKid;
  }

  /** Registers another client (the provider is rebuilt; sign-ins in progress are lost). */
  addClient(client: ClientMetadata): void {
    this.extraClients.push(client);
    if (this.server) this.handler = this.provider().callback() as Handler;
  }

  /** Drops every signing key but the newest (tokens signed with the others stop verifying). */
  async dropOldKeys(): Promise<void> {
    this.keys = this.keys.slice(0, 1);
    this.handler = this.provider().callback() as Handler;
  }

  private groupsOf(login: string): string[] {
    return this.groups.get(login) ?? ['readers'];
  }

  private provider(): Provider {
    const provider = new Provider(this.issuer, {
      jwks: { keys: this.keys as never },
      clients: [
        {
          client_id: SERVICE_CLIENT.id,
          client_secret: SERVICE_CLIENT.secret,
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          token_endpoint_auth_method: 'client_secret_post',
        },
        {
          client_id: WEB_CLIENT.id,
          client_secret: WEB_CLIENT.secret,
          grant_types: ['authorization_code'],
          response_types: ['code'],
          redirect_uris: [WEB_CLIENT.redirect],
          token_endpoint_auth_method: 'client_secret_post',
        },
        ...this.extraClients,
      ],
      features: {
        clientCredentials: { enabled: true },
        devInteractions: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => API_AUDIENCE,
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({
            scope: 'orders:read',
            audience: API_AUDIENCE,
            accessTokenFormat: 'jwt',
            accessTokenTTL: 300,
            jwt: { sign: { alg: 'RS256' } },
          }),
        },
      },
      pkce: { required: () => false },
      findAccount: (_ctx, sub) => ({
        accountId: sub,
        claims: () => ({ sub, email: `${sub}@example.com`, groups: this.groupsOf(sub) }),
      }),
      // Access tokens of a signed-in account carry its groups, as many providers can be told to.
      extraTokenClaims: (_ctx, token) =>
        'accountId' in token && typeof token.accountId === 'string'
          ? { groups: this.groupsOf(token.accountId) }
          : undefined,
      claims: { openid: ['sub'], email: ['email'], groups: ['groups'] },
      conformIdTokenClaims: false,
    });
    provider.proxy = false;
    return provider;
  }

  /** A JWT access token for the service client (client-credentials grant). */
  async clientCredentialsToken(): Promise<string> {
    const res = await fetch(this.url('/token'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: SERVICE_CLIENT.id,
        client_secret: SERVICE_CLIENT.secret,
        scope: 'orders:read',
        resource: API_AUDIENCE,
      }),
    });
    const body = (await res.json()) as { access_token?: string; error?: string };
    if (!body.access_token) throw new Error(`token request failed: ${JSON.stringify(body)}`);
    return body.access_token;
  }

  /**
   * Drives the provider's development login and consent pages for `login`,
   * like a browser, from `authUrl` until the provider redirects to
   * `redirectUri`; resolves to that redirect (with its code and state).
   */
  async authorize(authUrl: string, login: string, redirectUri: string): Promise<string> {
    const jar = new Map<string, string>();
    const send = async (url: string, init: RequestInit = {}): Promise<Response> => {
      const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      const res = await fetch(url, {
        ...init,
        redirect: 'manual',
        headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
      });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const eq = pair?.indexOf('=') ?? -1;
        if (pair && eq > 0) jar.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      return res;
    };
    const absolute = (location: string | null) => new URL(location ?? '/', this.issuer).toString();
    let res = await send(authUrl);
    // Follow the interaction pages (login, then consent) until the redirect leaves the provider.
    for (let step = 0; step < 10; step++) {
      const location = res.headers.get('location');
      if (location?.startsWith(redirectUri)) return location;
      if (location) {
        res = await send(absolute(location));
        continue;
      }
      const html = await res.text();
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      if (!action) throw new Error(`unexpected page in the login flow (HTTP ${res.status})`);
      const fields: Record<string, string> = {};
      for (const [tag] of html.matchAll(/<input[^>]*>/g)) {
        const name = /name="([^"]+)"/.exec(tag)?.[1];
        if (name) fields[name] = /value="([^"]*)"/.exec(tag)?.[1] ?? '';
      }
      if ('login' in fields || /name="login"/.test(html)) {
        fields['login'] = login;
        fields['password'] = 'any';
      }
      res = await send(absolute(action), form(fields));
    }
    throw new Error('the login flow did not redirect back');
  }

  /**
   * An ID token for `login`, through the authorization-code flow with the
   * provider's development login and consent pages, driven like a browser.
   */
  async idToken(login: string): Promise<string> {
    const auth = new URL(this.url('/auth'));
    auth.search = new URLSearchParams({
      client_id: WEB_CLIENT.id,
      response_type: 'code',
      scope: 'openid email groups',
      redirect_uri: WEB_CLIENT.redirect,
      state: randomUUID(),
      nonce: randomUUID(),
    }).toString();
    const back = await this.authorize(auth.toString(), login, WEB_CLIENT.redirect);
    const code = new URL(back).searchParams.get('code');
    if (!code) throw new Error('the login flow did not return a code');
    const token = await fetch(
      this.url('/token'),
      form({
        grant_type: 'authorization_code',
        code,
        redirect_uri: WEB_CLIENT.redirect,
        client_id: WEB_CLIENT.id,
        client_secret: WEB_CLIENT.secret,
      }),
    );
    const body = (await token.json()) as { id_token?: string; error?: string };
    if (!body.id_token) throw new Error(`code exchange failed: ${JSON.stringify(body)}`);
    return body.id_token;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.handler = undefined;
    await closeNow(server);
  }
}
