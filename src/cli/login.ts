/**
 * `rolegate login`: signs a person in with an OpenID provider from the
 * command line, the way RFC 8252 has native apps do it: a listener on the
 * loopback interface (127.0.0.1, a port the OS picks) is the redirect URI,
 * the authorization URL (code flow, PKCE S256, state, nonce) is printed for
 * the user to open, and the code that comes back is exchanged by this
 * process, a public client, with its code verifier. The ID token's issuer,
 * audience and nonce are checked (it came straight from the token endpoint,
 * so OpenID Connect Core 3.1.3.7 lets its signature go unchecked here; the
 * access API verifies the access token on every call anyway).
 *
 * The access token is written to the token file (`--token-file`, else
 * `ROLEGATE_TOKEN_FILE`, else `~/.config/rolegate/token`) with mode 0600 in a
 * 0700 directory, replaced atomically; `rolegate access` and `rolegate
 * credentials` (so AWS's `credential_process`) read it when neither
 * `--token` nor `ROLEGATE_TOKEN` is given. The token is never printed.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { decodeJwt } from 'jose';
import { processEnvironment, type Environment } from '../config/environment.js';
import { RolegateError } from '../errors.js';
import {
  authorizationUrl,
  discoverEndpoints,
  exchangeCode,
  newLoginFlow,
  type LoginFlow,
} from '../identity/oidc-login.js';
import { stringFlag, type ParsedArgs } from './args.js';
import type { CliIo } from './io.js';
import { UsageError } from './usage-error.js';

/** The variable naming the token file. */
export const TOKEN_FILE_ENV = 'ROLEGATE_TOKEN_FILE';

/** How long `rolegate login` waits for the browser to come back: 5 minutes. */
export const LOGIN_WAIT_MS = 300_000;

/** The token file: `flag`, else `ROLEGATE_TOKEN_FILE`, else `~/.config/rolegate/token`. */
export function tokenFilePath(env: Environment, flag?: string): string {
  return flag ?? env[TOKEN_FILE_ENV] ?? join(homedir(), '.config', 'rolegate', 'token');
}

/** The token `rolegate login` stored at `path`, or undefined when there is none. */
export function readStoredToken(path: string): string | undefined {
  try {
    const token = readFileSync(path, 'utf8').trim();
    return token === '' ? undefined : token;
  } catch {
    return undefined;
  }
}

/** Writes `token` to `path` (0600, directory 0700), replacing any old one atomically. */
function storeToken(path: string, token: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // The token file may sit in a directory others can write (/tmp): the temporary copy gets
  // an unguessable name and is created exclusively ('wx': O_CREAT|O_EXCL, which never
  // follows a symlink nor opens a file someone planted), so the token goes nowhere else.
  const temp = `${path}.${randomBytes(12).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    // Through the descriptor: exactly 0600 (whatever the umask), on the file just created.
    fchmodSync(fd, 0o600);
    writeFileSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

/** https, or plain http to this machine (a provider on a loopback address, development). */
function overTls(url: string): boolean {
  const u = URL.canParse(url) ? new URL(url) : undefined;
  if (u === undefined) return false;
  return (
    u.protocol === 'https:' ||
    (u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname))
  );
}

const same = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** The page the browser is left on. */
function answer(res: ServerResponse, status: number, text: string): void {
  res
    .writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'none'",
      'cache-control': 'no-store',
    })
    .end(`<!doctype html><title>rolegate login</title><p>${text}</p>`);
}

/** The code of the one callback that carries the flow's state, or why it failed. */
function awaitCode(server: Server, flow: LoginFlow, waitMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new RolegateError('ERR_SIGNIN_FAILED', `no sign-in came back within ${waitMs / 1000} s`),
        ),
      waitMs,
    );
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== '/callback') return answer(res, 404, 'Not found.');
      const state = url.searchParams.get('state') ?? '';
      // Another page cannot finish this login: only the state printed in the URL counts.
      if (!same(state, flow.state))
        return answer(res, 400, 'This is not the sign-in rolegate started.');
      clearTimeout(timer);
      const code = url.searchParams.get('code');
      const error = url.searchParams.get('error');
      if (code === null || error !== null) {
        answer(res, 400, 'Sign-in failed; see the terminal.');
        reject(
          new RolegateError(
            'ERR_SIGNIN_FAILED',
            `the issuer answered error ${JSON.stringify((error ?? 'no code').slice(0, 60))}`,
          ),
        );
        return;
      }
      answer(res, 200, 'Signed in. You can close this tab and return to the terminal.');
      resolve(code);
    });
  });
}

/** Refuses an ID token not issued by `issuer` to `clientId` for this flow's nonce. */
function checkIdToken(
  idToken: string | undefined,
  issuer: string,
  clientId: string,
  nonce: string,
): void {
  const fail = (why: string) => new RolegateError('ERR_SIGNIN_FAILED', `the ID token ${why}`);
  if (idToken === undefined) throw fail('is missing from the token answer');
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(idToken);
  } catch {
    throw fail('is not a JWT');
  }
  const aud = claims['aud'];
  if (claims['iss'] !== issuer)
    throw fail(`is from ${JSON.stringify(claims['iss'])}, not ${issuer}`);
  if (!(aud === clientId || (Array.isArray(aud) && aud.includes(clientId))))
    throw fail(`is not for ${clientId}`);
  if (typeof claims['nonce'] !== 'string' || !same(claims['nonce'], nonce))
    throw fail("does not carry this login's nonce");
}

/** Runs `rolegate login --issuer URL --client-id ID [--scope S] [--token-file PATH]`. */
export async function runLogin(
  args: ParsedArgs,
  io: CliIo,
  env: Environment = processEnvironment(),
  waitMs = LOGIN_WAIT_MS,
): Promise<number> {
  const issuer = stringFlag(args, 'issuer', 'login', true);
  const clientId = stringFlag(args, 'client-id', 'login', true);
  const scopes = (stringFlag(args, 'scope', 'login') ?? 'openid').split(/\s+/).filter(Boolean);
  if (!scopes.includes('openid')) scopes.unshift('openid');
  if (!URL.canParse(issuer))
    throw new UsageError(`--issuer ${JSON.stringify(issuer)} is not a URL`, 'login');
  // The code, the code verifier and the tokens travel to the issuer, and the ID token's
  // signature goes unchecked only because TLS vouches for it (OpenID Connect Core 3.1.3.7).
  if (!overTls(issuer))
    throw new UsageError(
      `--issuer ${JSON.stringify(issuer)} must be https (plain http only for 127.0.0.1, localhost or [::1])`,
      'login',
    );
  const path = tokenFilePath(env, stringFlag(args, 'token-file', 'login'));
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  try {
    const client = {
      clientId,
      redirectUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`,
    };
    const endpoints = await discoverEndpoints(issuer);
    if (!overTls(endpoints.token))
      throw new RolegateError(
        'ERR_SIGNIN_FAILED',
        `the issuer's token_endpoint ${JSON.stringify(endpoints.token.slice(0, 120))} is not https`,
      );
    const flow = newLoginFlow();
    const code = awaitCode(server, flow, waitMs);
    io.stderr.write(
      `Open this URL in a browser to sign in:\n${authorizationUrl(endpoints, client, scopes, flow)}\n`,
    );
    const tokens = await exchangeCode(endpoints, client, await code, flow.verifier);
    checkIdToken(tokens.idToken, issuer, clientId, flow.nonce);
    if (tokens.accessToken === undefined)
      throw new RolegateError('ERR_SIGNIN_FAILED', 'the token answer has no access_token');
    storeToken(path, tokens.accessToken);
    io.stderr.write(`Signed in; the token is in ${path} (mode 0600).\n`);
    return 0;
  } finally {
    server.closeAllConnections();
    server.close();
  }
}
