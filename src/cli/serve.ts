/**
 * `rolegate serve`: starts rolegate (and optionally the development
 * issuer), then runs until SIGTERM or SIGINT and drains. SIGHUP reloads.
 */
import { loadConfig, type ConfigSource } from '../config/load.js';
import { resolveWorkers } from '../transport/cluster/workers.js';
import { startRolegate, type Rolegate } from '../main.js';
import { createLogger } from '../observe/logger.js';
import { startDevIssuer } from './dev-issuer.js';
import type { CliIo } from './io.js';
import { reportError } from './report.js';
import { runClusterPrimary } from './serve-cluster.js';
import { handleStopSignals } from './stop-signals.js';

/** Options of {@link runServe}. */
export interface ServeOptions {
  readonly source: ConfigSource;
  /** Also serve the example development issuer on 127.0.0.1:9100. Default false. */
  readonly devIssuer?: boolean;
}

/** Serves until a stop signal; resolves to the exit status (1 when it cannot start). */
export async function runServe(options: ServeOptions, io: Pick<CliIo, 'stderr'>): Promise<number> {
  let issuer: Awaited<ReturnType<typeof startDevIssuer>> | undefined;
  let instance: Rolegate;
  const logger = createLogger(process.env['ROLEGATE_LOG_LEVEL'] ?? 'info', 2);
  // `server.workers` > 1: a cluster (docs/workers.md); 1 is this one process, as always.
  let workers: number;
  let initial: ReturnType<typeof loadConfig>;
  try {
    initial = loadConfig(options.source);
    workers = resolveWorkers(initial.settings.server.workers, process.env);
  } catch (err) {
    return reportError(err, io, 'serve');
  }
  if (workers > 1) {
    return runClusterPrimary(
      { source: options.source, initial, workers, devIssuer: options.devIssuer === true },
      io,
    );
  }
  try {
    if (options.devIssuer === true) issuer = await startDevIssuer();
    const { file, text } = options.source;
    instance = await startRolegate({
      configFile: file,
      logger,
      ...(text === undefined ? {} : { configText: text }),
    });
  } catch (err) {
    issuer?.close();
    return reportError(err, io, 'serve');
  }
  const started = instance;
  return new Promise<number>((resolve) => {
    const release = handleStopSignals({
      logger,
      reload: () => {
        try {
          started.reload();
        } catch {
          // reload() already logged the problem; the last good config stays active.
        }
      },
      stop: () => {
        issuer?.close();
        const done = (status: number) => {
          release();
          resolve(status);
        };
        started.stop().then(
          () => done(0),
          (err: unknown) => done(reportError(err, io, 'serve')),
        );
      },
    });
  });
}
