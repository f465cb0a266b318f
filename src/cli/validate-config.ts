/**
 * `rolegate validate --config FILE`: loads a whole configuration as `serve`
 * would (policy files, key files, `ROLEGATE_LISTEN_HOST`) and prints every
 * finding with its file, line, column and JSON path.
 */
import { ConfigError, loadConfig, type ConfigSource } from '../config/load.js';
import { writeFindings, type FindingFormat } from './findings-output.js';
import type { CliIo } from './io.js';
import { reportError } from './report.js';

/** Codes that say the configuration could not even be checked: reported as errors on stderr. */
const NOT_CHECKED = new Set(['ERR_CONFIG_READ', 'ERR_LISTEN_HOST_INVALID']);

/**
 * Findings go to `io.stdout` (text lines and a summary, or JSON Lines);
 * an unreadable source goes to `io.stderr`. Exit status 1 on any error.
 */
export function runValidateConfig(
  source: ConfigSource,
  io: Pick<CliIo, 'stdout' | 'stderr'>,
  format: FindingFormat = 'text',
): number {
  try {
    const config = loadConfig(source);
    const warnings = config.warningFindings ?? [];
    writeFindings(warnings, format, io.stdout);
    if (format === 'text') {
      io.stdout.write(
        `${source.file}: ok (${config.roles.length} roles, ${config.statementCount} statements, ${warnings.length} warning(s))\n`,
      );
    }
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError) || NOT_CHECKED.has(err.code)) {
      return reportError(err, io, 'validate');
    }
    writeFindings(err.findings, format, io.stdout);
    if (format === 'text') {
      io.stdout.write(`${source.file}: invalid (${err.findings.length} error(s))\n`);
    }
    return 1;
  }
}
