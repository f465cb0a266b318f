/**
 * Sign-in sessions of the approvals page (`access.signIn`): the browser
 * holds an opaque random session id (256 bits) in a cookie; the store holds
 * only its SHA-256 (`access_sessions.id_hash`) and the token the session
 * carries, sealed with AES-256-GCM under a key derived from the id (HKDF),
 * so whoever reads the store gets neither a cookie that works nor a token.
 * A session ends at `sessionSeconds` or when its token expires, whichever
 * is first, at logout, and as soon as its token no longer verifies (the
 * composition root re-verifies it on every use and ends it then).
 *
 * The cookie: `HttpOnly`, `SameSite=Lax`, `Path=/`; over https `Secure`
 * and named with the `__Host-` prefix (so no subdomain can set or scope
 * it); over plain http only for a loopback origin (development).
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { AccessStore, SessionRow } from './store.js';

/** The session cookie's name over https (Secure, host-only, Path=/). */
export const SECURE_SESSION_COOKIE = '__Host-rolegate-session';

/** The session cookie's name over plain http (loopback development only). */
export const DEV_SESSION_COOKIE = 'rolegate-session';

/** Who a session is for, and the token it carries (never logged). */
export interface SessionIdentity {
  readonly issuer: string;
  readonly subject: string;
  readonly token: string;
}

/** A live session. */
export interface OpenSession extends SessionIdentity {
  /** Epoch ms. */
  readonly expiresAt: number;
}

export interface Sessions {
  /** Opens a session until `expiresAt` (epoch ms); resolves to the new session id (the cookie value). */
  open(who: SessionIdentity, expiresAt: number): Promise<string>;
  /** The session of cookie value `id`, if it exists, is not expired and unseals. */
  find(id: string): Promise<OpenSession | undefined>;
  /** Ends the session of cookie value `id` (idempotent). */
  end(id: string): Promise<void>;
}

/** A cookie value that can be a session id: 43 base64url characters (256 bits). */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** SHA-256 of the id: the only form of it the store sees. */
export function sessionIdHash(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/** The sealing key of session `id`: HKDF-SHA256 of the id, bound to its purpose. */
function sealingKey(id: string): Buffer {
  return Buffer.from(hkdfSync('sha256', id, 'rolegate-session', 'token-seal-v1', 32));
}

/** `token` sealed under the session's key: `<iv>.<ciphertext>.<tag>` (base64url). */
function seal(id: string, token: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(id), iv);
  const data = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return [iv, data, cipher.getAuthTag()].map((b) => b.toString('base64url')).join('.');
}

/** The token sealed by {@link seal}, or undefined when it does not unseal. */
function unseal(id: string, sealed: string): string | undefined {
  const [iv, data, tag] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
  if (iv === undefined || data === undefined || tag === undefined) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(id), iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** Sessions kept in `store`, on the clock `now`. */
export function createSessions(
  store: Pick<AccessStore, 'createSession' | 'getSession' | 'deleteSession'>,
  now: () => number,
): Sessions {
  return {
    async open(who, expiresAt) {
      const id = randomBytes(32).toString('base64url');
      const row: SessionRow = {
        idHash: sessionIdHash(id),
        issuer: who.issuer,
        subject: who.subject,
        sealedToken: seal(id, who.token),
        createdAt: now(),
        expiresAt,
      };
      await store.createSession(row, now());
      return id;
    },
    async find(id) {
      if (!SESSION_ID.test(id)) return undefined;
      const row = await store.getSession(sessionIdHash(id), now());
      const token = row === undefined ? undefined : unseal(id, row.sealedToken);
      if (row === undefined || token === undefined) return undefined;
      return { issuer: row.issuer, subject: row.subject, token, expiresAt: row.expiresAt };
    },
    async end(id) {
      if (SESSION_ID.test(id)) await store.deleteSession(sessionIdHash(id));
    },
  };
}

/** The session cookie's name for an origin: `__Host-` over https. */
export function sessionCookieName(secure: boolean): string {
  return secure ? SECURE_SESSION_COOKIE : DEV_SESSION_COOKIE;
}

/**
 * The `Set-Cookie` value of a session cookie: `value` for `maxAgeSeconds`
 * (0 clears it), HttpOnly, SameSite=Lax, Path=/, Secure over https.
 */
export function sessionCookie(secure: boolean, value: string, maxAgeSeconds: number): string {
  const attrs = [
    `${sessionCookieName(secure)}=${value}`,
    'Path=/',
    `Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`,
    'HttpOnly',
    'SameSite=Lax',
  ];
  return (secure ? [...attrs, 'Secure'] : attrs).join('; ');
}
