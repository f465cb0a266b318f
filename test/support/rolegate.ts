/** Starting rolegate in-process for a test: config written to a temp dir, logs captured. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startRolegate, type Rolegate, type StartOptions } from '../../src/main.js';
import type { Logger } from '../../src/observe/logger.js';

/** Writes `config` as YAML to a fresh temp dir; returns the file (tests may rewrite it). */
export function writeTempConfig(config: object): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rolegate-test-')), 'rolegate.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

/**
 * rolegate with the given loggers and no process metrics, every listener on
 * a port the OS picks (gRPC, admin, HTTP check and access API all default to
 * port 0; read the bound ones from the returned `rolegate`). A config's own
 * ports never apply: a test must not bind what a developer's `npm start`
 * holds. `extra` overrides any of these, ports included.
 */
export async function startTestRolegate(
  config: object,
  logs: { readonly ops: { logger: Logger }; readonly audit: { logger: Logger } },
  extra: Partial<StartOptions> = {},
): Promise<{ rolegate: Rolegate; configFile: string }> {
  const configFile = writeTempConfig(config);
  const rolegate = await startRolegate({
    configFile,
    grpcPort: 0,
    adminPort: 0,
    // Only bound when the config enables them; then never on the default 9003 / 9004.
    httpPort: 0,
    accessPort: 0,
    logger: logs.ops.logger,
    auditLogger: logs.audit.logger,
    defaultMetrics: false,
    ...extra,
  });
  return { rolegate, configFile };
}
