/**
 * `rolegate login` end to end against a real OpenID provider
 * (`oidc-provider`): the CLI listens on a loopback port, prints the
 * authorization URL (code flow, PKCE S256, state, nonce), the browser step is
 * driven through the provider's development login, the code comes back to
 * the CLI, which exchanges it as a public client and stores the access token
 * with mode 0600 (never printing it); `rolegate access` then works with no
 * --token and no ROLEGATE_TOKEN, and the access API accepts the token. A
 * callback with another state is refused and does not end the login.
 */
import { existsSync, lstatSync, mkdtempSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { main } from '../../../src/cli/main.js';
import type { Rolegate } from '../../../src/main.js';
import { API_AUDIENCE, OidcProviderPeer } from '../../harness/oidc-provider.js';
import { accessScenario } from '../../support/access.js';
import { until } from '../../support/access.js';
import { captureLogger } from '../../support/log-capture.js';
import { startTestRolegate } from '../../support/rolegate.js';
import { runCli, sink } from '../../unit/cli/cli-io.js';
import { keepEnv } from '../../support/env.js';

const op = new OidcProviderPeer();
let rolegate: Rolegate;
const restoreEnv = keepEnv('ROLEGATE_TOKEN', 'ROLEGATE_TOKEN_FILE');

beforeAll(async () => {
  await op.start();
  op.groups.set('alice', ['engineers']);
  op.addClient({
    client_id: 'rolegate-cli',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // RFC 8252 7.3: any port of the loopback address.
    redirect_uris: ['http://127.0.0.1/callback'],
  });
  const config = accessScenario(op.issuer);
  config.issuers = [{ issuer: op.issuer, audiences: [API_AUDIENCE], groupsClaim: 'groups' }];
  ({ rolegate } = await startTestRolegate(
    config,
    { ops: captureLogger('warn'), audit: captureLogger() },
    { accessPort: 0 },
  ));
}, 30_000);

afterAll(async () => {
  await rolegate?.stop().catch(() => undefined);
  await op.stop();
  restoreEnv();
}, 30_000);

describe('rolegate login', () => {
  it('signs in through the loopback redirect and stores a token rolegate access uses', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rolegate-login-')), 'config', 'token');
    const out = sink();
    const err = sink();
    const run = main(
      [
        'login',
        '--issuer',
        op.issuer,
        '--client-id',
        'rolegate-cli',
        '--scope',
        'openid orders:read',
        '--token-file',
        file,
      ],
      { stdin: Readable.from(['']), stdout: out.stream, stderr: err.stream },
    );
    await until(() => /https?:\/\/\S+/.test(err.text()));
    const authUrl = /https?:\/\/\S+/.exec(err.text())?.[0] as string;
    const auth = new URL(authUrl);
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
    const redirect = auth.searchParams.get('redirect_uri') as string;
    expect(redirect).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);

    // Another page hitting the loopback listener cannot finish the login.
    const stray = await fetch(`${redirect}?code=x&state=forged`);
    expect(stray.status).toBe(400);

    const back = await op.authorize(authUrl, 'alice', redirect);
    const landed = await fetch(back);
    expect(landed.status).toBe(200);
    await expect(landed.text()).resolves.toContain('Signed in');
    await expect(run).resolves.toBe(0);

    const token = readFileSync(file, 'utf8').trim();
    expect(token.split('.')).toHaveLength(3);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(file, '..')).mode & 0o777).toBe(0o700);
    expect(out.text()).toBe('');
    expect(err.text()).not.toContain(token);

    delete process.env['ROLEGATE_TOKEN'];
    process.env['ROLEGATE_TOKEN_FILE'] = file;
    const url = `http://127.0.0.1:${rolegate.accessPort as number}`;
    const created = await runCli([
      'access',
      'request',
      '--url',
      url,
      '--role',
      'staging-admin',
      '--duration',
      '15m',
      '--reason',
      'signed in with rolegate login',
      '--format',
      'json',
    ]);
    expect(created.status).toBe(0);
    expect(JSON.parse(created.out)).toMatchObject({ requester: 'alice', status: 'pending' });
  }, 30_000);

  it('never writes the token through a link planted at a temporary name beside the token file', async () => {
    // ROLEGATE_TOKEN_FILE in a shared directory (/tmp in CI): whoever can write there must
    // not get the token by planting a symlink where the CLI writes its temporary copy.
    const dir = mkdtempSync(join(tmpdir(), 'rolegate-login-'));
    const file = join(dir, 'token');
    const stolen = join(mkdtempSync(join(tmpdir(), 'rolegate-elsewhere-')), 'stolen');
    symlinkSync(stolen, `${file}.${process.pid}.tmp`);
    const err = sink();
    const run = main(
      ['login', '--issuer', op.issuer, '--client-id', 'rolegate-cli', '--token-file', file],
      { stdin: Readable.from(['']), stdout: sink().stream, stderr: err.stream },
    );
    await until(() => /https?:\/\/\S+/.test(err.text()));
    const authUrl = /https?:\/\/\S+/.exec(err.text())?.[0] as string;
    const redirect = new URL(authUrl).searchParams.get('redirect_uri') as string;
    expect((await fetch(await op.authorize(authUrl, 'alice', redirect))).status).toBe(200);
    await expect(run).resolves.toBe(0);
    expect(existsSync(stolen)).toBe(false);
    expect(lstatSync(file).isFile()).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim().split('.')).toHaveLength(3);
  }, 30_000);

  it('refuses an issuer reached over plain http beyond this machine', async () => {
    // The code and code verifier would cross the network in clear, and the ID token's
    // signature is left unchecked only because TLS vouches for the token endpoint.
    const file = join(mkdtempSync(join(tmpdir(), 'rolegate-login-')), 'token');
    const res = await runCli(
      ['login', '--issuer', 'http://idp.example.com', '--client-id', 'rolegate-cli'].concat([
        '--token-file',
        file,
      ]),
    );
    expect(res.status).toBe(2);
    expect(res.err).toContain('must be https');
    expect(() => statSync(file)).toThrow();
  });

  it('fails with ERR_SIGNIN_FAILED when the issuer answers an error', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rolegate-login-')), 'token');
    const err = sink();
    const run = main(
      ['login', '--issuer', op.issuer, '--client-id', 'rolegate-cli', '--token-file', file],
      { stdin: Readable.from(['']), stdout: sink().stream, stderr: err.stream },
    );
    await until(() => /https?:\/\/\S+/.test(err.text()));
    const auth = new URL(/https?:\/\/\S+/.exec(err.text())?.[0] as string);
    const redirect = auth.searchParams.get('redirect_uri') as string;
    const state = auth.searchParams.get('state') as string;
    expect((await fetch(`${redirect}?error=access_denied&state=${state}`)).status).toBe(400);
    await expect(run).resolves.toBe(1);
    expect(err.text()).toContain('ERR_SIGNIN_FAILED');
    expect(() => statSync(file)).toThrow();
  }, 30_000);
});
