/**
 * The listeners of one rolegate process, started, drained and stopped
 * together: the access API (when enabled), gRPC ext_authz (+ health), the
 * admin listener, and the HTTP check listener (when enabled). A listener
 * that cannot bind stops every one started before it, so the process can
 * exit with the bind error.
 */
import type { Logger } from 'pino';
import { grpcCheckHandler, type CheckPipeline } from '../check/handler.js';
import { createHttpCheckHandler } from '../check/http-handler.js';
import { errorDocAnchor } from '../errors.js';
import type { LoadedConfig } from '../config/compile.js';
import type { Metrics } from '../observe/metrics.js';
import { DENY_BODY } from '../response/check-response.js';
import type { ServerConfig } from '../transport/options.js';
import { RpcCode, type CheckResponse } from '../wire/ext-authz.js';
import { startGrpcServer, type GrpcServer } from '../transport/grpc/server.js';
import { startAdminServer, type AdminServer } from '../transport/http/admin.js';
import { startHttpCheckServer, type HttpCheckServer } from '../transport/http/check-server.js';
import type { HttpCheckAnswer } from '../wire/http-check.js';
import { listenError, type ListenTarget } from '../transport/listen-error.js';
import { startAccess, type AccessRuntime } from './access.js';
import { fleetReadiness, liveConfigDump } from './config-dump.js';
import { catalogReadiness } from './catalog.js';
import type { Generations } from './generations.js';

/** What {@link openListeners} composes. */
/** Port overrides (0 = any free port; tests), and whether to serve the admin listener. */
export interface ListenerOverrides {
  readonly grpcPort?: number;
  readonly adminPort?: number;
  readonly httpPort?: number;
  readonly accessPort?: number;
  /** Default true; a cluster worker passes false (its primary serves it). */
  readonly admin?: boolean;
}

export interface ListenersOptions {
  readonly options: ListenerOverrides;
  readonly initial: LoadedConfig;
  readonly baseDir: string;
  readonly generations: Generations;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly auditLogger: Logger;
  readonly now: () => number;
  /** Decisions since start; a handler that threw counts as a deny. */
  readonly decisions: { allow: number; deny: number };
  /** Count a handler that threw in the checks metric (observability on). */
  readonly countFailures: boolean;
  /** The one pipeline both check transports run; given the access runtime when enabled. */
  readonly pipeline: (access: AccessRuntime | undefined) => CheckPipeline;
}

/** The open listeners. */
export interface Listeners {
  readonly grpcPort: number;
  /** 0 without an admin listener (a cluster worker). */
  readonly adminPort: number;
  readonly httpPort: number | undefined;
  readonly accessPort: number | undefined;
  /** Health SERVING, /readyz 200. */
  serving(): void;
  /**
   * Health NOT_SERVING (/readyz 503) while Checks are still answered for
   * `shutdownDelaySeconds`, so Envoy's health checker moves traffic away;
   * then drains in-flight calls for up to `drainSeconds` and closes all.
   */
  drain(server: Pick<ServerConfig, 'shutdownDelaySeconds' | 'drainSeconds'>): Promise<void>;
}

/** A deny for a gRPC handler that threw despite the pipeline's own guards. */
function internalErrorResponse(): CheckResponse {
  return {
    status: { code: RpcCode.PERMISSION_DENIED },
    denied_response: { status: { code: 'Forbidden' }, body: DENY_BODY[403] },
  };
}

/** The HTTP check's deny for a handler that threw: the same 403 body. */
function internalErrorAnswer(): HttpCheckAnswer {
  return { status: 403, headers: { 'content-type': 'application/json' }, body: DENY_BODY[403] };
}

/** Started listeners, closed in reverse order when a later one cannot start. */
class Started {
  private readonly closers: (() => Promise<void>)[] = [];

  /** Starts one; a bind failure closes every earlier one and throws the listen error for `target`. */
  async open<T>(
    start: () => Promise<T>,
    close: (started: T) => Promise<void>,
    target?: ListenTarget,
  ): Promise<T> {
    let started: T;
    try {
      started = await start();
    } catch (err) {
      for (const c of this.closers.reverse()) await c().catch(() => undefined);
      throw target === undefined ? err : listenError(err, target);
    }
    this.closers.push(() => close(started));
    return started;
  }
}

/** Just-in-time access: store, grant cache and API, when enabled (docs/access.md). */
function openAccess(o: ListenersOptions, started: Started): Promise<AccessRuntime | undefined> {
  if (!o.initial.settings.access.enabled) return Promise.resolve(undefined);
  return started.open(
    () =>
      startAccess({
        config: o.initial.settings.access,
        baseDir: o.baseDir,
        generation: () => o.generations.current(),
        now: o.now,
        registry: o.metrics.registry,
        auditLogger: o.auditLogger,
        logger: o.logger,
        ...(o.options.accessPort === undefined ? {} : { port: o.options.accessPort }),
      }),
    (a) => a.stop(),
  );
}

/** Opens the listeners the config asks for, in the order probes expect. */
export async function openListeners(o: ListenersOptions): Promise<Listeners> {
  const { server } = o.initial.settings;
  const started = new Started();
  // /readyz says ready only while gRPC health says SERVING: a pod must not
  // count as ready (and let a rolling update stop the next one) before then.
  let serving = false;
  let draining = false;
  const failed = (err: unknown): void => {
    o.decisions.deny++;
    if (o.countFailures) o.metrics.checks.inc({ decision: 'deny', reason: 'ERR_INTERNAL' });
    o.logger.error(
      {
        code: 'ERR_INTERNAL',
        help: errorDocAnchor('ERR_INTERNAL'),
        err: err instanceof Error ? err.message : String(err),
      },
      'check failed',
    );
  };

  const access = await openAccess(o, started);
  const pipeline = o.pipeline(access);

  const grpcPort = o.options.grpcPort ?? server.grpc.port;
  const grpc: GrpcServer = await started.open(
    () =>
      startGrpcServer({
        host: server.grpc.host,
        port: grpcPort,
        handle: grpcCheckHandler(pipeline),
        onHandlerError(err) {
          failed(err);
          return internalErrorResponse();
        },
      }),
    (g) => g.drain(0),
    { listener: 'gRPC', host: server.grpc.host, port: grpcPort, setting: 'server.grpc.port' },
  );

  const adminPort = o.options.adminPort ?? server.admin.port;
  const admin: AdminServer =
    o.options.admin === false
      ? { port: 0, close: () => Promise.resolve() }
      : await started.open(
          () =>
            startAdminServer({
              host: server.admin.host,
              port: adminPort,
              registry: o.metrics.registry,
              ready: () => serving && !draining,
              config: () => liveConfigDump(o.generations, o.now()),
              readyDetail: () => [
                ...fleetReadiness(o.generations.aws.fleet(), o.now()),
                ...catalogReadiness(o.generations.catalog, o.now()),
              ],
            }),
          (a) => a.close(),
          {
            listener: 'admin',
            host: server.admin.host,
            port: adminPort,
            setting: 'server.admin.port',
          },
        );

  const httpPort = o.options.httpPort ?? server.http.port;
  const httpCheck: HttpCheckServer | undefined = server.http.enabled
    ? await started.open(
        () =>
          startHttpCheckServer({
            host: server.http.host,
            port: httpPort,
            options: () => o.generations.current().compiled.settings.server.http,
            handle: createHttpCheckHandler(pipeline),
            onError(err) {
              failed(err);
              return internalErrorAnswer();
            },
          }),
        (h) => h.close(),
        {
          listener: 'HTTP check',
          host: server.http.host,
          port: httpPort,
          setting: 'server.http.port',
        },
      )
    : undefined;

  return {
    grpcPort: grpc.port,
    adminPort: admin.port,
    httpPort: httpCheck?.port,
    accessPort: access?.port,
    serving() {
      grpc.serving();
      serving = true;
    },
    async drain({ shutdownDelaySeconds, drainSeconds }) {
      draining = true;
      grpc.notServing();
      if (shutdownDelaySeconds > 0) {
        await new Promise((resolve) => setTimeout(resolve, shutdownDelaySeconds * 1000));
      }
      await grpc.drain(drainSeconds * 1000);
      await httpCheck?.close();
      await admin.close();
      await access?.stop();
    },
  };
}
