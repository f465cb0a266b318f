/**
 * The one record of a config reload's outcome, for a single process and a
 * cluster primary alike: the reload counter, the config gauges, and one
 * log line naming the file at fault and the generation that stays active.
 */
import { ConfigError } from '../config/load.js';
import { errorDocAnchor } from '../errors.js';
import type { LoadedConfig } from '../config/compile.js';
import type { Logger } from '../observe/logger.js';
import type { Metrics } from '../observe/metrics.js';

/** What a reload outcome is recorded into. */
export interface ReloadRecorder {
  readonly logger: Logger;
  readonly metrics: Pick<Metrics, 'configReloads' | 'config' | 'policyStatements'>;
  /** The config file's name in log lines: its absolute path, or the stdin label. */
  readonly configName: string;
  readonly now: () => number;
}

/** Records a generation that loaded; `message` names what happens next. */
export function recordReloaded(
  r: ReloadRecorder,
  loaded: LoadedConfig,
  previousHash: string | undefined,
  message = 'config reloaded',
): void {
  r.metrics.configReloads.inc({ result: 'success' });
  r.metrics.config.applied(loaded.sources?.hash ?? '', r.now());
  r.metrics.policyStatements.set(loaded.statementCount);
  r.logger.info(
    {
      file: r.configName,
      hash: loaded.sources?.hash,
      previousHash,
      statements: loaded.statementCount,
      roles: loaded.roles.length,
    },
    message,
  );
}

/**
 * Records a reload that failed. `activeHash` names the generation that
 * stays; the file is the one at fault (a policy or key file), else the
 * config itself.
 */
export function recordReloadFailed(
  r: ReloadRecorder,
  err: Error,
  activeHash: string | undefined,
  message = 'config reload failed; keeping the last good config',
): void {
  r.metrics.configReloads.inc({ result: 'failure' });
  r.metrics.config.failed();
  const findings = err instanceof ConfigError ? err.findings : [];
  const code = err instanceof ConfigError ? err.code : 'ERR_CONFIG_INVALID';
  r.logger.error(
    {
      file: findings.find((f) => f.file !== undefined)?.file ?? r.configName,
      code,
      help: errorDocAnchor(code),
      problems: err instanceof ConfigError ? err.problems : [err.message],
      hash: activeHash,
    },
    message,
  );
}
