import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { stringify } from 'yaml';
import { startRolegate, type StartOptions } from '../../../src/main.js';
import { createLogger } from '../../../src/observe/logger.js';
import { loadAuthorizationClient } from '../../support/authorization-client.js';
import { JwksIssuer } from '../../harness/jwks.js';
import { listening } from '../../harness/child.js';
import { freePort } from '../../harness/ports.js';
import { checkOnce, healthStatus } from '../../support/check-client.js';
import { allowPolicy, ORDER_ROUTES, webIdentityTrust } from '../../support/fixtures.js';

const sink = () => createLogger('info', new Writable({ write: (_c, _e, done) => done() }));

describe('startRolegate shutdown', () => {
  it('reports NOT_SERVING but keeps answering for the shutdown delay, then stops', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rolegate-main-')), 'rolegate.yaml');
    writeFileSync(file, stringify({ server: { shutdownDelaySeconds: 1, drainSeconds: 1 } }));
    const rolegate = await startRolegate({
      configFile: file,
      grpcPort: 0,
      adminPort: 0,
      logger: sink(),
      auditLogger: sink(),
      defaultMetrics: false,
    });
    expect(await healthStatus(rolegate.grpcPort)).toBe('SERVING');
    const stopped = rolegate.stop();
    await new Promise((r) => setTimeout(r, 200));
    expect(await healthStatus(rolegate.grpcPort)).toBe('NOT_SERVING');
    expect((await fetch(`http://127.0.0.1:${rolegate.adminPort}/readyz`)).status).toBe(503);
    const Client = loadAuthorizationClient();
    const client = new Client(`127.0.0.1:${rolegate.grpcPort}`, grpc.credentials.createInsecure());
    const answer = await new Promise<unknown>((resolve, reject) =>
      client.Check({}, (err, res) => (err ? reject(err) : resolve(res))),
    );
    client.close();
    expect(answer).toMatchObject({ status: { code: 16 } }); // still decided: no credential
    await stopped;
    await expect(healthStatus(rolegate.grpcPort)).rejects.toThrow();
  });
});

describe('startRolegate start-up', () => {
  const idp = new JwksIssuer({ audience: 'orders-api' });
  beforeAll(() => idp.start());
  afterAll(() => idp.stop());

  const start = (issuer: string, options: Partial<StartOptions> = {}) => {
    const file = join(mkdtempSync(join(tmpdir(), 'rolegate-main-')), 'rolegate.yaml');
    writeFileSync(
      file,
      stringify({
        issuers: [{ issuer, audiences: ['orders-api'] }],
        roles: [
          {
            name: 'reader',
            trustPolicy: webIdentityTrust(issuer),
            policies: { read: allowPolicy('orders:Get*') },
          },
        ],
        routes: ORDER_ROUTES,
      }),
    );
    return startRolegate({
      configFile: file,
      grpcPort: 0,
      adminPort: 0,
      logger: sink(),
      auditLogger: sink(),
      defaultMetrics: false,
      ...options,
    });
  };

  /** SERVING, and the very first Check (a token the policy allows) is allowed. */
  const expectServingAndAllowed = async (grpcPort: number) => {
    expect(await healthStatus(grpcPort)).toBe('SERVING');
    const token = await idp.mint({}, { subject: 'alice' });
    expect((await checkOnce(grpcPort, 'GET', '/orders/1', token)).allowed).toBe(true);
  };

  it('reports SERVING (and /readyz 200) only once the issuer keys are in: the first call after a slow key fetch is allowed', async () => {
    // Each issuer answer takes longer than keys.maxWaitMs (250 ms): a Check
    // that had to wait for the keys would be refused with a 401.
    idp.stall(600);
    const adminPort = await freePort();
    let rolegate: Awaited<ReturnType<typeof startRolegate>> | undefined;
    try {
      const starting = start(idp.issuer, { adminPort }).then((r) => (rolegate = r));
      // Until SERVING, /readyz is never 200 (a pod is not ready yet).
      const readyz: number[] = [];
      while (rolegate === undefined) {
        readyz.push(
          await fetch(`http://127.0.0.1:${adminPort}/readyz`).then(
            (res) => res.status,
            () => 0,
          ),
        );
        await new Promise((r) => setTimeout(r, 50));
      }
      await starting;
      expect(readyz).toContain(503);
      expect(readyz).not.toContain(200);
      expect((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status).toBe(200);
      idp.stall(undefined);
      expect(idp.requestCount('/jwks.json')).toBe(1);
      await expectServingAndAllowed(rolegate.grpcPort);
    } finally {
      idp.stall(undefined);
      await rolegate?.stop();
    }
  }, 20_000);

  it('with listenOnceReady (a cluster worker), no listener accepts a connection before the issuer keys are in', async () => {
    // A cluster hands connections to any worker that listens, whatever its
    // health: a worker listening during a slow key fetch would answer 401s.
    idp.stall(600);
    const grpcPort = await freePort();
    let rolegate: Awaited<ReturnType<typeof startRolegate>> | undefined;
    try {
      const starting = start(idp.issuer, { grpcPort, admin: false, listenOnceReady: true }).then(
        (r) => (rolegate = r),
      );
      const probes: boolean[] = [];
      while (rolegate === undefined) {
        probes.push(await listening(grpcPort));
        await new Promise((r) => setTimeout(r, 20));
      }
      await starting;
      // Probed throughout the key fetch (600 ms), and refused every time.
      expect(probes.length).toBeGreaterThan(5);
      expect(probes).not.toContain(true);
      idp.stall(undefined);
      expect(idp.requestCount('/jwks.json')).toBeGreaterThanOrEqual(1);
      await expectServingAndAllowed(rolegate.grpcPort);
    } finally {
      idp.stall(undefined);
      await rolegate?.stop();
    }
  }, 20_000);

  it('still starts when the issuer is down at start-up (its tokens are refused until it is back)', async () => {
    const rolegate = await start('http://127.0.0.1:1');
    try {
      expect(await healthStatus(rolegate.grpcPort)).toBe('SERVING');
    } finally {
      await rolegate.stop();
    }
  }, 20_000);
});
