/**
 * grpc-js logs a failed bind itself ("E No address added out of total 1
 * resolved") before rejecting; rolegate reports that failure as one
 * ERR_LISTEN_* line, so the CLI drops grpc-js's copy and keeps its other
 * logs, written to stderr as grpc-js's default logger writes them.
 */
import * as grpc from '@grpc/grpc-js';

const BIND_FAILURE = /^No address added out of total \d+ resolved/;

let installed = false;

function forward(prefix: string) {
  return (message?: unknown, ...rest: unknown[]): void => {
    if (typeof message === 'string' && BIND_FAILURE.test(message)) return;
    console.error(`${prefix} ${String(message)}`, ...rest);
  };
}

/** Installs (once per process) a grpc-js logger that forwards everything but the bind-failure message. */
export function quietGrpcBindFailures(): void {
  if (installed) return;
  installed = true;
  grpc.setLogger({ error: forward('E'), info: forward('I'), debug: forward('D') });
}
