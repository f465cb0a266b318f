import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';

import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';

import { closeNow, listenLoopback } from './http-server.js';
import { joinUrl, type Peer } from './peer.js';

export interface MintOptions {
  /** `iss`; default: this issuer's URL. `null` leaves it out. */
  issuer?: string | null;
  /** `aud`; default: the constructor's audience (if any). `null` leaves it out. */
  audience?: string | string[] | null;
  /** `sub`. */
  subject?: string;
  /** `exp`: seconds from now (number) or a jose time span like '5m'; default '5m'. `null` leaves it out. */
  expiresIn?: number | string | null;
  /** `nbf`: absolute epoch seconds. */
  notBefore?: number;
  /** `iat`: absolute epoch seconds; default now. `null` leaves it out. */
  issuedAt?: number | null;
  /** `kid` header; default the current key's kid. `null` leaves it out. */
  kid?: string | null;
  /** Sign with a throw-away key that is not in the JWKS (bad-signature tests). */
  foreignKey?: boolean;
  /** Extra protected-header fields. */
  header?: Record<string, unknown>;
}

interface SigningKey {
  kid: string;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  publicJwk: JWK;
}

async function newKey(kid: string = randomUUID()): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicJwk };
}

/**
 * A test OIDC issuer on 127.0.0.1: serves `/.well-known/openid-configuration`
 * and `/jwks.json`, signs RS256 tokens with `mint()`, and counts requests.
 */
export class JwksIssuer implements Peer {
  /** Requests served, by path (e.g. '/jwks.json'). */
  readonly hits = new Map<string, number>();
  /** Epoch ms of the last answer sent, by path (outage tests time windows from it). */
  readonly answeredAt = new Map<string, number>();
  private keys: SigningKey[] = [];
  private server: Server | undefined;
  private boundPort = 0;
  private failStatus: number | undefined;
  private stallMs: number | undefined;

  constructor(private readonly options: { audience?: string; port?: number } = {}) {}

  async start(): Promise<void> {
    if (this.server !== undefined) return;
    if (this.keys.length === 0) this.keys.push(await newKey());
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
      // A hanging issuer: the connection is accepted, the answer never comes
      // (stop() closes such connections).
      if (this.stallMs === Number.POSITIVE_INFINITY) return;
      const send = (status: number, body: unknown): void => {
        const text = JSON.stringify(body);
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
        this.answeredAt.set(path, Date.now());
      };
      const delayed = (status: number, body: unknown): void => {
        if (this.stallMs === undefined) send(status, body);
        else setTimeout(() => send(status, body), this.stallMs);
      };
      if (this.failStatus !== undefined) {
        delayed(this.failStatus, { error: 'configured failure' });
      } else if (path === '/.well-known/openid-configuration') {
        delayed(200, {
          issuer: this.issuer,
          jwks_uri: this.jwksUri,
          id_token_signing_alg_values_supported: ['RS256'],
        });
      } else if (path === '/jwks.json') {
        delayed(200, this.jwks());
      } else {
        delayed(404, { error: 'not found' });
      }
    });
    this.boundPort = await listenLoopback(server, this.options.port ?? 0);
    this.server = server;
  }

  get port(): number {
    if (this.server === undefined) throw new Error('JwksIssuer: not started');
    return this.boundPort;
  }

  url(path = '/'): string {
    return joinUrl(`http://127.0.0.1:${this.port}`, path);
  }

  /** The `iss` value: `http://127.0.0.1:PORT` (no trailing slash). */
  get issuer(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get jwksUri(): string {
    return this.url('/jwks.json');
  }

  /** kid of the key `mint()` signs with. */
  get kid(): string {
    const key = this.keys.at(-1);
    if (key === undefined) throw new Error('JwksIssuer: not started');
    return key.kid;
  }

  /** The JWKS document currently served. */
  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  /** Total requests served (all paths), or for one path. */
  requestCount(path?: string): number {
    if (path !== undefined) return this.hits.get(path) ?? 0;
    let total = 0;
    for (const n of this.hits.values()) total += n;
    return total;
  }

  /** Answer every request with this status (e.g. 500) until called with undefined. */
  failWith(status: number | undefined): void {
    this.failStatus = status;
  }

  /**
   * Answer every request `ms` late until called with undefined;
   * `Infinity` accepts each request and never answers (a hanging issuer).
   */
  stall(ms: number | undefined): void {
    this.stallMs = ms;
  }

  /** Add a new signing key (served in the JWKS from now on) and return its kid. */
  async rotateKey(options: { dropOld?: boolean; kid?: string } = {}): Promise<string> {
    const key = await newKey(options.kid);
    this.keys = options.dropOld === true ? [key] : [...this.keys, key];
    return key.kid;
  }

  /** Sign an RS256 JWT with `claims` (kid header set). */
  async mint(
    claims: JWTPayload & Record<string, unknown> = {},
    opts: MintOptions = {},
  ): Promise<string> {
    const current = this.keys.at(-1);
    if (current === undefined) throw new Error('JwksIssuer: start() before mint()');
    const signer =
      opts.foreignKey === true ? (await newKey(current.kid)).privateKey : current.privateKey;
    const kid = opts.kid === undefined ? current.kid : opts.kid;
    const header: Record<string, unknown> = { ...opts.header, alg: 'RS256', typ: 'JWT' };
    if (kid !== null) header['kid'] = kid;
    const jwt = new SignJWT(claims).setProtectedHeader(header as { alg: string });
    if (opts.issuedAt !== null) jwt.setIssuedAt(opts.issuedAt ?? Math.floor(Date.now() / 1000));
    const issuer = opts.issuer === undefined ? this.issuer : opts.issuer;
    if (issuer !== null) jwt.setIssuer(issuer);
    const audience = opts.audience === undefined ? this.options.audience : opts.audience;
    if (audience !== undefined && audience !== null) jwt.setAudience(audience);
    if (opts.subject !== undefined) jwt.setSubject(opts.subject);
    if (opts.notBefore !== undefined) jwt.setNotBefore(opts.notBefore);
    const exp = opts.expiresIn === undefined ? '5m' : opts.expiresIn;
    if (exp !== null) {
      jwt.setExpirationTime(typeof exp === 'number' ? Math.floor(Date.now() / 1000) + exp : exp);
    }
    return jwt.sign(signer);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    await closeNow(server);
  }
}
