/**
 * The e2e test bed's own proof: a real Envoy (rolegate-envoy:local, in Docker)
 * in front of the echo upstream, calling a minimal in-test ext_authz gRPC
 * server built from Envoy's own protos. rolegate itself is not involved.
 */
import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { parse } from 'yaml';

import { EchoUpstream } from '../harness/echo-upstream.js';
import { EnvoyPeer, ENVOY_IMAGE } from '../harness/envoy.js';
import { ENVOY_EXAMPLE_PATH, renderEnvoyConfig, route } from '../harness/envoy-config.js';
import { extAuthzService } from '../harness/ext-authz-protos.js';
import { JwksIssuer } from '../harness/jwks.js';

interface CheckRequest {
  attributes?: {
    request?: { http?: { path?: string; headers?: Record<string, string> } };
    context_extensions?: Record<string, string>;
  };
}

/** A tiny ext_authz server: allows `x-allow: yes` (adding a header), denies the rest with 403. */
class FakeAuthz {
  readonly checks: CheckRequest[] = [];
  readonly health = new HealthImplementation({ '': 'SERVING' });
  private server = new Server();
  port = 0;

  async start(): Promise<void> {
    this.server.addService(extAuthzService().service, {
      Check: (call: ServerUnaryCall<CheckRequest, unknown>, callback: sendUnaryData<unknown>) => {
        this.checks.push(call.request);
        const headers = call.request.attributes?.request?.http?.headers ?? {};
        if (headers['x-allow'] === 'yes') {
          callback(null, {
            status: { code: status.OK },
            ok_response: { headers: [{ header: { key: 'x-authz-test', value: 'allowed' } }] },
          });
        } else {
          callback(null, {
            status: { code: status.PERMISSION_DENIED, message: 'denied' },
            denied_response: {
              status: { code: 'Forbidden' },
              body: 'denied by smoke test',
              headers: [{ header: { key: 'x-authz-test', value: 'denied' } }],
            },
          });
        }
      },
    });
    this.health.addToServer(this.server);
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) =>
        err === null ? resolve(port) : reject(err),
      ),
    );
  }

  checksFor(path: string): CheckRequest[] {
    return this.checks.filter((c) => c.attributes?.request?.http?.path === path);
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

describe(`Envoy test bed (${ENVOY_IMAGE})`, () => {
  const upstream = new EchoUpstream();
  const authz = new FakeAuthz();
  let envoy: EnvoyPeer;

  beforeAll(async () => {
    await upstream.start();
    await authz.start();
    envoy = new EnvoyPeer({
      rolegatePort: authz.port,
      upstreamPort: upstream.port,
      routes: [route({ prefix: '/open/', disableExtAuthz: true })],
    });
    await envoy.start();
    await envoy.waitForCluster('rolegate', true);
  }, 60_000);

  afterAll(async () => {
    await envoy?.stop();
    authz.stop();
    await upstream.stop();
  });

  it('sees the rolegate cluster healthy via gRPC health checks', async () => {
    const hosts = await envoy.clusterHosts('rolegate');
    expect(hosts).toEqual([
      {
        cluster: 'rolegate',
        address: `127.0.0.1:${authz.port}`,
        healthFlags: 'healthy',
        healthy: true,
      },
    ]);
    const stats = await envoy.stats('^cluster\\.rolegate\\.health_check\\.');
    expect(stats.get('cluster.rolegate.health_check.success')).toBeGreaterThan(0);
  });

  it('forwards an allowed request to the upstream with the header ext_authz added', async () => {
    const res = await fetch(envoy.url('/orders/1?x=1'), { headers: { 'x-allow': 'yes' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      method: string;
      path: string;
      headers: Record<string, string>;
    };
    expect(body.method).toBe('GET');
    expect(body.path).toBe('/orders/1?x=1');
    expect(body.headers['x-authz-test']).toBe('allowed');
    expect(upstream.requestsTo('/orders/1')).toHaveLength(1);
    const [check] = authz.checksFor('/orders/1?x=1');
    expect(check?.attributes?.context_extensions).toEqual({});
  });

  it('answers a denied request with 403 and never reaches the upstream', async () => {
    const res = await fetch(envoy.url('/orders/2'), { method: 'DELETE' });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-authz-test')).toBe('denied');
    expect(await res.text()).toBe('denied by smoke test');
    expect(upstream.requestsTo('/orders/2')).toHaveLength(0);
    expect(authz.checksFor('/orders/2')).toHaveLength(1);
  });

  it('sends the per-route context_extensions to ext_authz', async () => {
    const res = await fetch(envoy.url('/ctx/orders'), { headers: { 'x-allow': 'yes' } });
    expect(res.status).toBe(200);
    const [check] = authz.checksFor('/ctx/orders');
    expect(check?.attributes?.context_extensions).toEqual({
      action: 'orders:ListOrders',
      resource: 'arn:rolegate:orders:::order/*',
    });
  });

  it('lets tests add routes: ext_authz disabled on /open/', async () => {
    const before = authz.checks.length;
    const res = await fetch(envoy.url('/open/thing'));
    expect(res.status).toBe(200);
    expect(authz.checks.length).toBe(before);
  });

  it('marks the cluster unhealthy when the health service says NOT_SERVING, and healthy again', async () => {
    authz.health.setStatus('', 'NOT_SERVING');
    try {
      await envoy.waitForCluster('rolegate', false);
      const [host] = await envoy.clusterHosts('rolegate');
      expect(host?.healthFlags).toContain('failed_active_hc');
    } finally {
      // Leave the shared cluster healthy for the other tests, whatever happened.
      authz.health.setStatus('', 'SERVING');
      await envoy.waitForCluster('rolegate', true);
    }
  });

  it('fails closed (403, upstream untouched) when the ext_authz server is gone', async () => {
    // Its own ext_authz server and Envoy: the shared pair stays up for the other tests.
    const gone = new FakeAuthz();
    await gone.start();
    const proxy = new EnvoyPeer({ rolegatePort: gone.port, upstreamPort: upstream.port });
    try {
      await proxy.start();
      await proxy.waitForCluster('rolegate', true);
      const before = await fetch(proxy.url('/orders/4'), { headers: { 'x-allow': 'yes' } });
      expect(before.status).toBe(200);
      gone.stop();
      const res = await fetch(proxy.url('/orders/3'), { headers: { 'x-allow': 'yes' } });
      expect(res.status).toBe(403);
      expect(upstream.requestsTo('/orders/3')).toHaveLength(0);
    } finally {
      await proxy.stop();
      gone.stop();
    }
  }, 60_000);
});

describe('envoy/envoy.yaml example', () => {
  it('is the template rendered with the quickstart ports', () => {
    // Text compared with the committed example (the ports of
    // examples/rolegate.yaml and the quickstart), never ports this test binds.
    const quickstart = {
      adminPort: 9901,
      listenerPort: 8080,
      rolegatePort: 9001,
      upstreamPort: 8081,
      healthCheckInterval: '5s',
    };
    const example = parse(readFileSync(ENVOY_EXAMPLE_PATH, 'utf8')) as unknown;
    expect(example).toEqual(renderEnvoyConfig(quickstart));
  });

  it('is accepted by Envoy (--mode validate)', async () => {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer(ENVOY_IMAGE)
      .withNetworkMode('host')
      .withCopyContentToContainer([
        { content: readFileSync(ENVOY_EXAMPLE_PATH, 'utf8'), target: '/etc/envoy/envoy.yaml' },
      ])
      .withCommand(['--mode', 'validate', '-c', '/etc/envoy/envoy.yaml'])
      .withWaitStrategy(Wait.forOneShotStartup())
      .withStartupTimeout(30_000)
      .start();
    await container.stop();
  }, 60_000);
});

describe('JwksIssuer', () => {
  const issuer = new JwksIssuer({ audience: 'rolegate' });
  beforeAll(() => issuer.start());
  afterAll(() => issuer.stop());

  it('serves discovery + JWKS, and its tokens verify against them', async () => {
    // Counted from here: the other tests of this issuer may have fetched keys before.
    const jwksBefore = issuer.requestCount('/jwks.json');
    const allBefore = issuer.requestCount();
    const discovery = (await (
      await fetch(issuer.url('/.well-known/openid-configuration'))
    ).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    expect(discovery).toMatchObject({ issuer: issuer.issuer, jwks_uri: issuer.jwksUri });
    const token = await issuer.mint({ sub: 'alice', groups: ['admins'] });
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', kid: issuer.kid });
    const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
    const { payload } = await jwtVerify(token, jwks, {
      issuer: issuer.issuer,
      audience: 'rolegate',
    });
    expect(payload).toMatchObject({ sub: 'alice', groups: ['admins'] });
    expect(issuer.requestCount('/jwks.json') - jwksBefore).toBe(1);
    expect(issuer.requestCount() - allBefore).toBe(2);
  });

  it('signs with a foreign key on request (bad signature)', async () => {
    const token = await issuer.mint({ sub: 'mallory' }, { foreignKey: true });
    const jwks = createRemoteJWKSet(new URL(issuer.jwksUri));
    await expect(jwtVerify(token, jwks)).rejects.toThrow(/signature/);
  });

  it('rotates keys, keeping the old one unless told otherwise', async () => {
    const old = issuer.kid;
    const kid = await issuer.rotateKey();
    expect(issuer.jwks().keys.map((k) => k.kid)).toEqual([old, kid]);
    await issuer.rotateKey({ dropOld: true });
    expect(issuer.jwks().keys).toHaveLength(1);
  });
});
