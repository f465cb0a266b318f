/**
 * grpc.health.v1 served over the transport in wire.ts: the status map,
 * watchers and messages are grpc-health-check's own (its
 * HealthImplementation registers on any object with `addService`), so the
 * protocol's behaviour is the library's; this module only carries its
 * calls over HTTP/2 streams.
 */
import { EventEmitter } from 'node:events';
import type { ServerHttp2Stream } from 'node:http2';
import { HealthImplementation, service, type ServingStatus } from 'grpc-health-check';
import {
  type ByteBudget,
  GrpcStatus,
  frameMessage,
  GrpcWireError,
  readSingleMessage,
  respondMessage,
  respondStatus,
  respondStreamHeaders,
  writeStreamMessage,
} from './wire.js';

/** A health request is a service name: far below this. */
const MAX_HEALTH_REQUEST_BYTES = 4096;

type Callback = (err: { code?: number; details?: string } | null, value?: unknown) => void;
interface UnaryCall {
  readonly request: unknown;
}
interface WatchCall extends EventEmitter {
  readonly request: unknown;
  write(message: unknown): boolean;
}
interface HealthHandlers {
  check(call: UnaryCall, callback: Callback): void;
  watch(call: WatchCall): void;
  list(call: UnaryCall, callback: Callback): void;
}

/** The health service's method paths, as Envoy and grpc_health_probe call them. */
const METHODS = {
  [service.Check!.path]: 'check',
  [service.Watch!.path]: 'watch',
  [service.List!.path]: 'list',
} as const satisfies Record<string, keyof HealthHandlers>;

export interface HealthService {
  setStatus(serviceName: string, status: ServingStatus): void;
  /** Serves the call when `path` is a health method; false otherwise. */
  handle(path: string, stream: ServerHttp2Stream): boolean;
  /** Ends every open Watch with UNAVAILABLE (the server is going away). */
  closeWatches(): void;
}

/** A health service whose services start with `initial` statuses; requests are read within `budget`. */
export function createHealthService(
  budget: ByteBudget,
  initial: Record<string, ServingStatus>,
): HealthService {
  const health = new HealthImplementation(initial);
  let handlers: HealthHandlers | undefined;
  health.addToServer({
    addService: (_definition: unknown, implementation: unknown) => {
      handlers = implementation as HealthHandlers;
    },
  } as unknown as Parameters<HealthImplementation['addToServer']>[0]);
  if (!handlers) throw new Error('grpc-health-check registered no handlers');
  const registered: HealthHandlers = handlers;
  const watches = new Set<ServerHttp2Stream>();

  async function serve(method: keyof HealthHandlers, stream: ServerHttp2Stream): Promise<void> {
    const definition =
      method === 'check' ? service.Check : method === 'watch' ? service.Watch : service.List;
    const message = await new Promise<Buffer | GrpcWireError>((resolve) =>
      readSingleMessage(stream, MAX_HEALTH_REQUEST_BYTES, budget, (err, body) =>
        resolve(err ?? body),
      ),
    );
    if (message instanceof GrpcWireError) {
      respondStatus(stream, message.status, message.message);
      return;
    }
    let request: unknown;
    try {
      request = definition!.requestDeserialize(message);
    } catch {
      respondStatus(stream, GrpcStatus.INTERNAL, 'cannot decode the health request');
      return;
    }
    if (method === 'watch') {
      if (!respondStreamHeaders(stream)) return;
      const call = new EventEmitter() as WatchCall;
      Object.assign(call, {
        request,
        write: (message: unknown) => {
          writeStreamMessage(stream, definition!.responseSerialize(message as object));
          return true;
        },
      });
      watches.add(stream);
      stream.once('close', () => {
        watches.delete(stream);
        call.emit('cancelled');
      });
      registered.watch(call);
      return;
    }
    registered[method]({ request }, (err, value) => {
      if (err)
        respondStatus(stream, (err.code ?? GrpcStatus.INTERNAL) as GrpcStatus, err.details ?? '');
      else respondMessage(stream, frameMessage(definition!.responseSerialize(value as object)));
    });
  }

  return {
    setStatus: (name, status) => health.setStatus(name, status),
    handle(path, stream) {
      const method = METHODS[path];
      if (method === undefined) return false;
      serve(method, stream).catch(() =>
        respondStatus(stream, GrpcStatus.INTERNAL, 'health check failed'),
      );
      return true;
    },
    closeWatches() {
      for (const stream of watches)
        respondStatus(stream, GrpcStatus.UNAVAILABLE, 'server shutting down');
      watches.clear();
    },
  };
}
