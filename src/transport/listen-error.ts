/**
 * A listener that failed to bind, as one catalogue error: which listener,
 * which address, why, and what to change. Never the library's raw message.
 */
import { RolegateError, type ErrorCode } from '../errors.js';

/** Where a listener tried to bind, for the message. */
export interface ListenTarget {
  /** Human name, e.g. `gRPC`, `admin`, `development issuer`. */
  readonly listener: string;
  readonly host: string;
  readonly port: number;
  /** The setting that chooses the port, e.g. `server.grpc.port`. */
  readonly setting?: string;
}

function errnoOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  // grpc-js folds the errno into its message ("... [listen EADDRINUSE: ...]").
  const message = err instanceof Error ? err.message : String(err);
  return /\b(EADDRINUSE|EADDRNOTAVAIL|EACCES|EPERM)\b/.exec(message)?.[1];
}

/** Maps a bind failure to `ERR_LISTEN_ADDRESS_IN_USE`, `ERR_LISTEN_ADDRESS_UNAVAILABLE` or `ERR_LISTEN_FAILED`. */
export function listenError(err: unknown, target: ListenTarget): RolegateError {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const where = `the ${target.listener} listener cannot bind ${host}:${target.port}`;
  const setting = target.setting ?? 'the port';
  let code: ErrorCode;
  let message: string;
  switch (errnoOf(err)) {
    case 'EADDRINUSE':
      code = 'ERR_LISTEN_ADDRESS_IN_USE';
      message = `${where}: the address is already in use (stop the other process, or choose another ${setting})`;
      break;
    case 'EADDRNOTAVAIL':
      code = 'ERR_LISTEN_ADDRESS_UNAVAILABLE';
      message = `${where}: the host is not an address of this machine (check the host, or ROLEGATE_LISTEN_HOST)`;
      break;
    case 'EACCES':
    case 'EPERM':
      code = 'ERR_LISTEN_ADDRESS_UNAVAILABLE';
      message = `${where}: permission denied (ports below 1024 need privileges; choose another ${setting})`;
      break;
    default:
      code = 'ERR_LISTEN_FAILED';
      message = `${where}`;
  }
  return new RolegateError(code, message, { cause: err });
}
