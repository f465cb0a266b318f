/**
 * The test bed the per-proxy front-door suites share (test/e2e/nginx,
 * caddy, traefik, envoy-http): a JWKS issuer, the echo upstream, rolegate
 * with {@link frontDoorConfig} and its HTTP check listener, and one
 * {@link FrontDoor} in front, started before the suite's tests and stopped
 * after them.
 */
import { afterAll, beforeAll } from '@jest/globals';
import { credentialHeaderNames } from '../../src/aws/config.js';
import type { Rolegate } from '../../src/main.js';
import { headersSchema } from '../../src/request/options.js';
import { ownedHeaders, type OwnedHeader } from '../../src/response/owned-headers.js';
import { EchoUpstream } from '../harness/echo-upstream.js';
import { JwksIssuer } from '../harness/jwks.js';
import { frontDoorConfig, readerToken } from './front-door.js';
import type { FrontDoor, RolegatePorts } from './front-doors.js';
import { captureLogger } from './log-capture.js';
import { startTestRolegate } from './rolegate.js';

/** What a suite reads of its bed. */
export interface FrontDoorBed {
  readonly idp: JwksIssuer;
  readonly upstream: EchoUpstream;
  /** Audit records of every rolegate the bed started. */
  readonly audit: ReturnType<typeof captureLogger>;
  readonly ops: ReturnType<typeof captureLogger>;
  /** The proxy in front of rolegate. */
  readonly door: FrontDoor;
  /** The bed's rolegate (after beforeAll). */
  rolegate(): Rolegate;
  /** The port clients call on the door (after beforeAll). */
  port(): number;
  /** `Authorization` for alice, a reader. */
  bearer(): Promise<{ authorization: string }>;
  /**
   * Starts another rolegate (same config and logs) and `door` in front of
   * it, for a suite's variant of the example; both are stopped after all.
   */
  variant(door: FrontDoor): Promise<Rolegate>;
}

/** Every header rolegate owns under {@link frontDoorConfig}: the one list of owned-headers.ts. */
export function frontDoorOwnedHeaders(): readonly OwnedHeader[] {
  // Only the issuer's URL is read, and the headers section does not depend on it.
  const config = frontDoorConfig({ issuer: 'http://127.0.0.1:1' } as JwksIssuer) as {
    headers: unknown;
  };
  return ownedHeaders(
    { headers: headersSchema.parse(config.headers) },
    credentialHeaderNames(undefined),
  );
}

const portsOf = (rolegate: Rolegate): RolegatePorts => ({
  http: rolegate.httpPort as number,
  grpc: rolegate.grpcPort,
});

/**
 * Registers beforeAll / afterAll that run `door` in front of rolegate.
 * Call it at the top level of a suite. `before` runs first (e.g. the
 * check that the Envoy image exists).
 */
export function useFrontDoor(
  door: FrontDoor,
  options: { timeoutMs?: number; before?: () => Promise<void> } = {},
): FrontDoorBed {
  const idp = new JwksIssuer({ audience: 'orders-api' });
  const upstream = new EchoUpstream();
  const audit = captureLogger();
  const ops = captureLogger('warn');
  let rolegate: Rolegate | undefined;
  const extra: { rolegate: Rolegate; door: FrontDoor }[] = [];

  const start = () =>
    startTestRolegate(frontDoorConfig(idp), { ops, audit }, { httpPort: 0 }).then(
      (r) => r.rolegate,
    );

  beforeAll(async () => {
    await options.before?.();
    await Promise.all([idp.start(), upstream.start()]);
    rolegate = await start();
    await door.start(portsOf(rolegate), upstream.port);
  }, options.timeoutMs ?? 120_000);

  afterAll(async () => {
    for (const v of extra) {
      await v.door.stop();
      await v.rolegate.stop().catch(() => undefined);
    }
    await door.stop();
    await rolegate?.stop().catch(() => undefined);
    await Promise.all([idp.stop(), upstream.stop()]);
  });

  return {
    idp,
    upstream,
    audit,
    ops,
    door,
    rolegate: () => {
      if (rolegate === undefined) throw new Error('front-door bed: not started');
      return rolegate;
    },
    port: () => door.port(),
    bearer: async () => ({ authorization: `Bearer ${await readerToken(idp)}` }),
    async variant(other) {
      const own = await start();
      extra.push({ rolegate: own, door: other });
      await other.start(portsOf(own), upstream.port);
      return own;
    },
  };
}
