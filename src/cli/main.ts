/**
 * The `rolegate` command: serve, validate, simulate. Returns the exit
 * status instead of exiting so tests can call it.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { startRolegate } from '../main.js';
import { runConfigSimulate } from './simulate-config.js';
import { runRawSimulate } from './simulate-raw.js';
import { runValidate } from './validate.js';
import { mintDevToken, startDevIssuer } from './dev-issuer.js';

const USAGE = `usage:
  rolegate serve --config FILE [--dev-issuer]
                                      run the ext_authz gRPC service (--dev-issuer also
                                      serves the example development issuer on :9100)
  rolegate dev-token --sub NAME [--groups a,b] [--email ADDR]
                                      mint a token from the development issuer
  rolegate validate FILE...           check policy files (JSON or YAML)
  rolegate validate --config FILE     check a whole configuration
  rolegate simulate                   JSON Lines of raw policy evaluations on stdin
  rolegate simulate --config FILE     JSON Lines of requests against a configuration
`;

function loadOrReport(file: string): ReturnType<typeof loadConfig> | undefined {
  try {
    return loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`rolegate: ${err.code}: ${err.message}`);
      return undefined;
    }
    throw err;
  }
}

async function serve(configFile: string, devIssuer: boolean): Promise<number> {
  const issuer = devIssuer ? await startDevIssuer() : undefined;
  let instance;
  try {
    instance = await startRolegate({ configFile });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`rolegate: refusing to start: ${err.code}: ${err.message}`);
      issuer?.close();
      return 1;
    }
    throw err;
  }
  const started = instance;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      issuer?.close();
      started.stop().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    process.on('SIGHUP', () => {
      try {
        started.reload();
      } catch {
        // reload() already reported the problem; the last good config stays active.
      }
    });
  });
}

/** Runs the CLI with `argv` (without node and script). Resolves to the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
      'dev-issuer': { type: 'boolean' },
      sub: { type: 'string' },
      groups: { type: 'string' },
      email: { type: 'string' },
    },
    allowPositionals: true,
  });
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  switch (command) {
    case 'serve':
      if (values.config === undefined) break;
      return serve(values.config, values['dev-issuer'] === true);
    case 'dev-token': {
      if (values.sub === undefined) break;
      const groups = values.groups?.split(',').filter((g) => g !== '') ?? [];
      const extra = values.email === undefined ? {} : { email: values.email };
      process.stdout.write(`${await mintDevToken(values.sub, groups, extra)}\n`);
      return 0;
    }
    case 'validate': {
      if (values.config !== undefined) {
        const config = loadOrReport(values.config);
        if (!config) return 1;
        for (const w of config.warnings) process.stdout.write(`warning: ${w}\n`);
        process.stdout.write(
          `${values.config}: ok (${config.roles.length} roles, ${config.statementCount} statements)\n`,
        );
        return 0;
      }
      if (positionals.length === 0) break;
      return runValidate(positionals, process.stdout, process.stderr);
    }
    case 'simulate': {
      if (values.config === undefined) return runRawSimulate(process.stdin, process.stdout);
      const config = loadOrReport(values.config);
      return config ? runConfigSimulate(config, process.stdin, process.stdout) : 1;
    }
    default:
      break;
  }
  process.stderr.write(USAGE);
  return 2;
}
