/**
 * `rolegate validate --config FILE`: loads a whole configuration as `serve`
 * would (policy files, key files, `ROLEGATE_LISTEN_HOST`) and prints every
 * finding with its file, line, column and JSON path.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { baseDirOf, ConfigError, loadConfig, type ConfigSource } from '../config/load.js';
import { withPosition, type Finding } from '../config/finding.js';
import { securityFindings } from '../config/security.js';
import { sourceMapOf } from '../config/source-position.js';
import { failsOn, writeFindings, type FailOn, type FindingFormat } from './findings-output.js';
import type { CliIo } from './io.js';
import { reportError } from './report.js';

/** Codes that say the configuration could not even be checked: reported as errors on stderr. */
const NOT_CHECKED = new Set(['ERR_CONFIG_READ', 'ERR_LISTEN_HOST_INVALID']);

/** Adds line and column to findings in files that can be read (the config text itself when given). */
function positioned(findings: readonly Finding[], source: ConfigSource): Finding[] {
  const maps = new Map<string, ReturnType<typeof sourceMapOf> | undefined>();
  return findings.map((f) => {
    if (f.file === undefined || f.line !== undefined) return f;
    if (!maps.has(f.file)) {
      let text: string | undefined;
      try {
        text =
          f.file === source.file && source.text !== undefined
            ? source.text
            : readFileSync(f.file, 'utf8');
      } catch {
        text = undefined;
      }
      maps.set(f.file, text === undefined ? undefined : sourceMapOf(text));
    }
    return withPosition(f, maps.get(f.file));
  });
}

/**
 * Findings go to `io.stdout` (text lines and a summary, or JSON Lines):
 * policy warnings and the security findings of docs/findings.md; an
 * unreadable source goes to `io.stderr`. The `shadow.config` candidate,
 * when named, is loaded and checked the same way. Exit status 1 on any error, and
 * with `failOn` `warning` (default `error`) on any warning too.
 */
export function runValidateConfig(
  source: ConfigSource,
  io: Pick<CliIo, 'stdout' | 'stderr'>,
  format: FindingFormat = 'text',
  failOn: FailOn = 'error',
): number {
  try {
    const config = loadConfig(source);
    const warnings = [
      ...(config.warningFindings ?? []),
      ...positioned(securityFindings(config, source.file), source),
    ];
    // The shadow candidate is checked too: a broken one would only be logged by serve.
    const shadow = config.settings.shadow.config;
    if (shadow !== undefined) {
      const file = resolve(baseDirOf(source), shadow);
      try {
        const candidate = loadConfig(file);
        warnings.push(
          ...(candidate.warningFindings ?? []),
          ...positioned(securityFindings(candidate, file), { file }),
        );
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        writeFindings(warnings, format, io.stdout);
        writeFindings(err.findings, format, io.stdout);
        if (format === 'text') {
          io.stdout.write(`${file}: invalid shadow candidate (${err.findings.length} error(s))\n`);
        }
        return 1;
      }
    }
    writeFindings(warnings, format, io.stdout);
    if (format === 'text') {
      io.stdout.write(
        `${source.file}: ok (${config.roles.length} roles, ${config.statementCount} statements, ${warnings.length} warning(s))\n`,
      );
    }
    return failsOn(warnings, failOn) ? 1 : 0;
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
