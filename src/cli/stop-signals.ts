/**
 * The signals `rolegate serve` answers: SIGTERM and SIGINT drain once, SIGHUP reloads.
 *
 * The handlers stay installed for the whole drain. Removing them at the first
 * stop signal gave the second one (Ctrl-C reaches the whole process group while
 * a supervisor such as `npm run demo` forwards SIGTERM too) Node's default
 * action: the process died mid-drain, cutting calls in flight, losing the audit
 * tail and, in a cluster, orphaning workers that were still draining. The drain
 * is bounded already; SIGKILL remains the way to force an exit.
 */
import type { Logger } from '../observe/logger.js';

/** What {@link handleStopSignals} calls. */
export interface StopSignalHandlers {
  /** The first SIGTERM or SIGINT: start the drain. Called once. */
  readonly stop: () => void;
  /** SIGHUP before any stop signal. Ignored while draining: there is nothing left to reload. */
  readonly reload: () => void;
  /** Where a repeated stop signal is reported (info level); omitted, it is ignored silently. */
  readonly logger?: Pick<Logger, 'info'>;
}

/**
 * Installs the handlers; returns the function that removes them, to call once
 * the drain has finished (tests run several servers in one process).
 */
export function handleStopSignals(handlers: StopSignalHandlers): () => void {
  let stopping = false;
  const onStop = (signal: NodeJS.Signals) => {
    if (stopping) {
      handlers.logger?.info({ signal }, 'already draining; the signal is ignored (SIGKILL forces)');
      return;
    }
    stopping = true;
    handlers.stop();
  };
  const onHangup = () => {
    if (!stopping) handlers.reload();
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHangup);
  return () => {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onHangup);
  };
}
