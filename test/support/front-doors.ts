/**
 * Every front door rolegate ships an example for, behind one small
 * interface, so a suite can run the same requests through each: nginx
 * `auth_request`, Caddy `forward_auth`, Traefik ForwardAuth, Envoy
 * `http_service`, and Envoy's gRPC ext_authz with `merge_slashes` on (as
 * shipped) and off. Each runs its shipped example verbatim but for ports
 * (examples/nginx/rolegate.conf, examples/caddy/Caddyfile,
 * examples/traefik/*.yml, examples/envoy-http/envoy.yaml,
 * envoy/envoy.template.yaml), with the real proxy the harnesses find.
 *
 * Also here: the rolegate config of the hostile-request suite
 * (test/e2e/front-doors-hostile.test.ts).
 */
import { readFileSync } from 'node:fs';
import { CaddyPeer } from '../harness/caddy.js';
import { fillTemplate, httpConnectionManager } from '../harness/envoy-config.js';
import { EnvoyPeer } from '../harness/envoy.js';
import type { JwksIssuer } from '../harness/jwks.js';
import { NginxPeer, substitutePorts } from '../harness/nginx.js';
import { freePort } from '../harness/ports.js';
import { TraefikPeer } from '../harness/traefik.js';
import { allowPolicy, webIdentityTrust } from './fixtures.js';
import { hostileRequest } from './hostile-client.js';

const example = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** rolegate's listeners a door may ask. */
export interface RolegatePorts {
  /** The HTTP check listener (`server.http`). */
  readonly http: number;
  /** The gRPC ext_authz listener. */
  readonly grpc: number;
}

/**
 * What a proxy does with the X-Forwarded-For a client sends before
 * rolegate reads it:
 * - `appends`: the client's entries stay and the proxy adds the address it
 *   saw last (nginx `$proxy_add_x_forwarded_for`, Envoy
 *   `use_remote_address`); rolegate takes the right-most untrusted entry.
 * - `replaces`: the proxy drops the client's header and writes the address
 *   it saw (Caddy without `trusted_proxies`, Traefik with
 *   `trustForwardHeader: false`).
 * - `unread`: rolegate takes the client address from Envoy's own
 *   `source.address` (gRPC ext_authz), never from a header.
 */
export type ForwardedForHandling = 'appends' | 'replaces' | 'unread';

/** One proxy in front of rolegate and an upstream. */
export interface FrontDoor {
  /** For test names: `nginx`, `caddy`, `traefik`, `envoy-http`, `envoy-grpc`, `envoy-grpc-unmerged`. */
  readonly name: string;
  readonly forwardedFor: ForwardedForHandling;
  /**
   * Starts the proxy on a free loopback port in front of rolegate (the gRPC
   * door asks `rolegate.grpc`, the others `rolegate.http`) and the upstream;
   * resolves once it routes requests.
   */
  start(rolegate: RolegatePorts, upstreamPort: number): Promise<void>;
  /** The port clients call (after start). */
  port(): number;
  /**
   * The status the client gets when rolegate answers `status`: nginx turns
   * anything but 2xx, 401 and 403 into a 500; the others pass it on.
   */
  clientStatus(status: number): number;
  stop(): Promise<void>;
}

/** Options of the nginx door: a variant of the shipped file (the tests' "what not to do"). */
export interface NginxDoorOptions {
  /** Default `nginx`. */
  readonly name?: string;
  /** Changes the example's text before ports are filled in. Default: none. */
  readonly edit?: (conf: string) => string;
}

function passThrough(status: number): number {
  return status;
}

/** nginx with examples/nginx/rolegate.conf (optionally edited). */
export function nginxDoor(options: NginxDoorOptions = {}): FrontDoor {
  let peer: NginxPeer | undefined;
  let port = 0;
  return {
    name: options.name ?? 'nginx',
    forwardedFor: 'appends',
    async start(rolegate, upstreamPort) {
      port = await freePort();
      const text = (options.edit ?? ((t) => t))(example('examples/nginx/rolegate.conf'));
      peer = new NginxPeer({
        port,
        serverConfig: substitutePorts(text, {
          8080: port,
          9003: rolegate.http,
          8081: upstreamPort,
        }),
      });
      await peer.start();
    },
    port: () => port,
    // auth_request: 2xx allows, 401 and 403 are passed on, anything else is a 500.
    clientStatus: (status) => (status < 300 || status === 401 || status === 403 ? status : 500),
    stop: async () => peer?.stop(),
  };
}

/** Caddy with examples/caddy/Caddyfile. */
export function caddyDoor(): FrontDoor {
  let peer: CaddyPeer | undefined;
  let port = 0;
  return {
    name: 'caddy',
    forwardedFor: 'replaces',
    async start(rolegate, upstreamPort) {
      port = await freePort();
      peer = new CaddyPeer({
        port,
        caddyfile: substitutePorts(example('examples/caddy/Caddyfile'), {
          8080: port,
          9003: rolegate.http,
          8081: upstreamPort,
        }),
      });
      await peer.start();
    },
    port: () => port,
    clientStatus: passThrough,
    stop: async () => peer?.stop(),
  };
}

/** Traefik with examples/traefik/traefik.yml and dynamic.yml. */
export function traefikDoor(): FrontDoor {
  let peer: TraefikPeer | undefined;
  let port = 0;
  return {
    name: 'traefik',
    forwardedFor: 'replaces',
    async start(rolegate, upstreamPort) {
      port = await freePort();
      peer = new TraefikPeer({
        port,
        staticConfig: substitutePorts(example('examples/traefik/traefik.yml'), { 8080: port }),
        dynamicConfig: substitutePorts(example('examples/traefik/dynamic.yml'), {
          9003: rolegate.http,
          8081: upstreamPort,
        }),
      });
      await peer.start();
      // The entry point listens before the file provider has loaded the
      // router (404 meanwhile): wait for an answer from rolegate.
      const deadline = Date.now() + 15_000;
      let status = 404;
      while (status === 404 && Date.now() < deadline) {
        status = (await hostileRequest({ port, target: '/' })).status;
        if (status === 404) await new Promise((r) => setTimeout(r, 100));
      }
      if (status === 404) throw new Error('traefik: the router never loaded (404 after 15 s)');
    },
    port: () => port,
    clientStatus: passThrough,
    stop: async () => peer?.stop(),
  };
}

/** Envoy with examples/envoy-http/envoy.yaml (ext_authz `http_service`), optionally edited. */
export function envoyHttpDoor(
  options: { readonly name?: string; readonly edit?: (yaml: string) => string } = {},
): FrontDoor {
  let peer: EnvoyPeer | undefined;
  return {
    name: options.name ?? 'envoy-http',
    forwardedFor: 'appends',
    async start(rolegate, upstreamPort) {
      const [adminPort, listenerPort] = [await freePort(), await freePort()];
      peer = new EnvoyPeer({
        adminPort,
        listenerPort,
        rolegatePort: rolegate.http,
        upstreamPort,
        configYaml: fillTemplate(
          {
            ADMIN_PORT: adminPort,
            LISTENER_PORT: listenerPort,
            ROLEGATE_HOST: '127.0.0.1',
            ROLEGATE_PORT: rolegate.http,
            UPSTREAM_HOST: '127.0.0.1',
            UPSTREAM_PORT: upstreamPort,
          },
          (options.edit ?? ((t) => t))(example('examples/envoy-http/envoy.yaml')),
        ),
      });
      await peer.start();
    },
    port: () => peer?.listenerPort ?? 0,
    clientStatus: passThrough,
    stop: async () => peer?.stop(),
  };
}

/**
 * Envoy with envoy/envoy.template.yaml (the quickstart's gRPC ext_authz
 * config, rendered with ports), `merge_slashes` as shipped (on) or off.
 */
export function envoyGrpcDoor(
  options: { mergeSlashes: boolean } = { mergeSlashes: true },
): FrontDoor {
  let peer: EnvoyPeer | undefined;
  return {
    name: options.mergeSlashes ? 'envoy-grpc' : 'envoy-grpc-unmerged',
    forwardedFor: 'unread',
    async start(rolegate, upstreamPort) {
      peer = new EnvoyPeer({
        rolegatePort: rolegate.grpc,
        upstreamPort,
        ...(options.mergeSlashes
          ? {}
          : {
              mutate: (config: Record<string, unknown>) => {
                httpConnectionManager(config)['merge_slashes'] = false;
              },
            }),
      });
      await peer.start();
      await peer.waitForCluster('rolegate');
    },
    port: () => peer?.listenerPort ?? 0,
    clientStatus: passThrough,
    stop: async () => peer?.stop(),
  };
}

/** Every shipped door, in a stable order. */
export function shippedDoors(): FrontDoor[] {
  return [
    nginxDoor(),
    caddyDoor(),
    traefikDoor(),
    envoyHttpDoor(),
    envoyGrpcDoor({ mergeSlashes: true }),
    envoyGrpcDoor({ mergeSlashes: false }),
  ];
}

/** The loopback addresses the hostile suite plays its parties from. */
export const ADDRESSES = {
  /** Where every proxy connects to rolegate from: a trusted proxy. */
  proxy: '127.0.0.1',
  /** A load balancer in front of the proxies that rolegate trusts too. */
  balancer: '127.0.0.9',
  /** A client every request of is denied (`aws:SourceIp` Deny). */
  hostile: '127.0.0.66',
  /** A client nothing denies by address: the allowed control. */
  plain: '127.0.0.5',
} as const;

/** The hostile suite's `headers` section: one claim header besides rolegate's own. */
export const HOSTILE_HEADERS: { readonly claims: Readonly<Record<string, string>> } = {
  claims: { 'x-user-email': 'email' },
};

/**
 * The hostile suite's rolegate: readers may `app:Read` anything (a
 * catch-all route, so a path decided as another harmless one would be
 * allowed), `/admin` and `/admin/...` are `app:Admin` (readers lack it:
 * implicit deny), `/secure/...` is denied when the client did not use TLS,
 * and any request from 127.0.0.66 or from 10.0.0.0/8 is denied. Proxies
 * (127.0.0.1) and the load balancer (127.0.0.9) are trusted for
 * X-Forwarded-For and X-Forwarded-Proto.
 */
export function hostileConfig(idp: JwksIssuer): object {
  return {
    server: {
      shutdownDelaySeconds: 0,
      drainSeconds: 1,
      http: {
        enabled: true,
        trustedProxies: [`${ADDRESSES.proxy}/32`, `${ADDRESSES.balancer}/32`],
      },
    },
    issuers: [{ issuer: idp.issuer, audiences: ['app-api'] }],
    headers: HOSTILE_HEADERS,
    guardrails: {
      network: {
        Version: '2012-10-17',
        Statement: [
          { Sid: 'Everything', Effect: 'Allow', Action: '*', Resource: '*' },
          {
            Sid: 'NoHostileNetworks',
            Effect: 'Deny',
            Action: '*',
            Resource: '*',
            Condition: {
              IpAddress: { 'aws:SourceIp': [`${ADDRESSES.hostile}/32`, '10.0.0.0/8'] },
            },
          },
          {
            Sid: 'SecureOnlyOverTls',
            Effect: 'Deny',
            Action: '*',
            Resource: 'arn:rolegate:app:::secure/*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      },
    },
    roles: [
      {
        name: 'app-reader',
        trustPolicy: webIdentityTrust(idp.issuer, {
          'ForAnyValue:StringEquals': { 'jwt:groups': ['readers'] },
        }),
        policies: { read: allowPolicy('app:Read', '*', 'ReadAnything') },
      },
    ],
    routes: [
      { path: '/admin', action: 'app:Admin', resource: 'arn:rolegate:app:::admin' },
      { path: '/admin/{rest+}', action: 'app:Admin', resource: 'arn:rolegate:app:::admin/{rest}' },
      {
        path: '/secure/{rest+}',
        action: 'app:Read',
        resource: 'arn:rolegate:app:::secure/{rest}',
      },
      { path: '/{rest+}', action: 'app:Read', resource: 'arn:rolegate:app:::doc/{rest}' },
      { path: '/', action: 'app:Read', resource: 'arn:rolegate:app:::doc/' },
    ],
  };
}

/** A token of `alice`, a reader. */
export function hostileReaderToken(idp: JwksIssuer): Promise<string> {
  return idp.mint({ groups: ['readers'], email: 'alice@example.com' }, { subject: 'alice' });
}
