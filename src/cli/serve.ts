/**
 * `rolegate serve`: starts rolegate (one process, or a cluster primary with
 * `server.workers` > 1, docs/workers.md) and optionally the development
 * issuer, then runs until SIGTERM or SIGINT and drains. SIGHUP reloads.
 */
import { logLevelOf, processEnvironment } from '../config/environment.js';
import { loadConfig, type ConfigSource } from '../config/load.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { startClusterPrimary } from '../serve/cluster-primary.js';
import { startRolegate } from '../serve/start.js';
import { resolveWorkers } from '../transport/cluster/workers.js';
import { startDevIssuer } from './dev-issuer.js';
import type { CliIo } from './io.js';
import { reportError } from './report.js';
import { handleStopSignals } from './stop-signals.js';

/** Options of {@link runServe}. */
export interface ServeOptions {
  readonly source: ConfigSource;
  /** Also serve the example development issuer on 127.0.0.1:9100. Default false. */
  readonly devIssuer?: boolean;
}

/** What serves until a stop signal: one process or a cluster primary. */
interface Served {
  reload(): void;
  stop(): Promise<void>;
}

async function startServed(options: ServeOptions, logger: Logger): Promise<Served> {
  const env = processEnvironment();
  const initial = loadConfig(options.source);
  // `server.workers` > 1: a cluster (docs/workers.md); 1 is this one process, as always.
  const workers = resolveWorkers(initial.settings.server.workers, env);
  if (workers > 1) {
    return startClusterPrimary({ source: options.source, initial, workers, logger });
  }
  const { file, text } = options.source;
  const instance = await startRolegate({
    configFile: file,
    logger,
    ...(text === undefined ? {} : { configText: text }),
  });
  return {
    reload() {
      try {
        instance.reload();
      } catch {
        // reload() already logged the problem; the last good config stays active.
      }
    },
    stop: () => instance.stop(),
  };
}

/** Serves until a stop signal; resolves to the exit status (1 when it cannot start). */
export async function runServe(options: ServeOptions, io: Pick<CliIo, 'stderr'>): Promise<number> {
  const logger = createLogger(logLevelOf(), 2);
  let issuer: Awaited<ReturnType<typeof startDevIssuer>> | undefined;
  let served: Served;
  try {
    if (options.devIssuer === true) issuer = await startDevIssuer();
    served = await startServed(options, logger);
  } catch (err) {
    issuer?.close();
    return reportError(err, io, 'serve');
  }
  return new Promise<number>((resolve) => {
    const release = handleStopSignals({
      logger,
      reload: () => served.reload(),
      stop: () => {
        issuer?.close();
        const done = (status: number) => {
          release();
          resolve(status);
        };
        served.stop().then(
          () => done(0),
          (err: unknown) => done(reportError(err, io, 'serve')),
        );
      },
    });
  });
}
