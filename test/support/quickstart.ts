/**
 * What the two README quickstarts (docker-compose and `npm run demo`) share
 * in tests: the README's shell blocks, the loopback ports the example
 * configs fix and copies of those configs with every listen port moved to a
 * free one (the fixed ones belong to a developer's `npm start`, and the port
 * guard holds them during a test run), waiting until Envoy routes to a
 * healthy rolegate, running a shell line as a user would and reading
 * `curl -i` output.
 *
 * Nothing here prints a response body or a token: the echo upstream's body
 * contains the Authorization header it received.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort } from '../harness/ports.js';
import { portsIn } from './port-guard.js';

/** The repository root. */
export const REPO = join(import.meta.dirname, '..', '..');

/** The fenced ```sh blocks (as lines) of the README section under `heading` (e.g. `### Quickstart without Docker`). */
export function readmeShellBlocks(heading: string): string[][] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no section "${heading}"`);
  const level = /^#+/.exec(heading)?.[0].length ?? 2;
  const after = readme.slice(start + heading.length + 2);
  const next = new RegExp(`^#{1,${level}} `, 'm').exec(after);
  const section = next === null ? after : after.slice(0, next.index);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) =>
    (m[1] ?? '').split('\n').filter((line) => line.trim() !== ''),
  );
}

/** Loopback ports of the quickstart, read from envoy/envoy.yaml and examples/rolegate.yaml. */
export interface QuickstartPorts {
  /** Envoy's HTTP listener (what the curls call). */
  readonly listener: number;
  readonly envoyAdmin: number;
  /** The echo upstream. */
  readonly upstream: number;
  /** rolegate gRPC (ext_authz). */
  readonly grpc: number;
  /** rolegate admin (/readyz, /metrics). */
  readonly admin: number;
  /** rolegate's HTTP check (`server.http`, enabled in the example). */
  readonly http: number;
  /** The development issuer (`--dev-issuer`); in a remapped copy, where its keys are served. */
  readonly issuer: number;
}

interface SocketAddress {
  socket_address: { port_value: number };
}
interface EnvoyYaml {
  admin: { address: SocketAddress };
  static_resources: {
    listeners: { address: SocketAddress }[];
    clusters: {
      name: string;
      load_assignment: {
        endpoints: { lb_endpoints: { endpoint: { address: SocketAddress } }[] }[];
      };
    }[];
  };
}
interface RolegateYaml {
  server: { grpc: { port: number }; admin: { port: number }; http: { port: number } };
  issuers: { issuer: string; jwksUri?: string }[];
}

/** The example configs the quickstarts run, relative to the repository root. */
export const EXAMPLE_ROLEGATE_CONFIG = 'examples/rolegate.yaml';
export const EXAMPLE_ENVOY_CONFIG = 'envoy/envoy.yaml';

/** The ports the example configs fix. */
export function quickstartPorts(): QuickstartPorts {
  return portsOf(
    readFileSync(join(REPO, EXAMPLE_ROLEGATE_CONFIG), 'utf8'),
    readFileSync(join(REPO, EXAMPLE_ENVOY_CONFIG), 'utf8'),
  );
}

/** The quickstart ports the given rolegate and Envoy configs (YAML text) name. */
function portsOf(rolegateText: string, envoyText: string): QuickstartPorts {
  const envoy = parse(envoyText) as EnvoyYaml;
  const rolegate = parse(rolegateText) as RolegateYaml;
  const keys = rolegate.issuers[0]?.jwksUri ?? rolegate.issuers[0]?.issuer ?? 'http://invalid';
  const upstream = envoy.static_resources.clusters.find((c) => c.name === 'upstream');
  const port = (a: SocketAddress | undefined): number => Number(a?.socket_address.port_value);
  return {
    listener: port(envoy.static_resources.listeners[0]?.address),
    envoyAdmin: port(envoy.admin.address),
    upstream: port(upstream?.load_assignment.endpoints[0]?.lb_endpoints[0]?.endpoint.address),
    grpc: rolegate.server.grpc.port,
    admin: rolegate.server.admin.port,
    http: rolegate.server.http.port,
    issuer: Number(new URL(keys).port),
  };
}

/** The ports of `ports` the quickstart's own processes listen on: all but the issuer's (served by the test). */
export function listenPorts(ports: QuickstartPorts): Record<string, number> {
  const { issuer: _servedByTheTest, ...listen } = ports;
  return listen;
}

/** Every example listen port (not the dev issuer's) -> the free port that replaces it. */
export type PortMap = ReadonlyMap<number, number>;

/**
 * `node` (parsed YAML) with every port of `map` replaced: values of `port`,
 * `port_value` and `PORT` keys, and `127.0.0.1:<port>` inside strings.
 */
export function remapPorts(node: unknown, map: PortMap): unknown {
  if (typeof node === 'string') return remapText(node, map);
  if (Array.isArray(node)) return node.map((item) => remapPorts(item, map));
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => {
      const to = ['port', 'port_value', 'PORT'].includes(key) ? map.get(Number(value)) : undefined;
      if (to === undefined) return [key, remapPorts(value, map)];
      return [key, typeof value === 'string' ? String(to) : to];
    }),
  );
}

/** `text` with every `127.0.0.1:<port>` of `map` moved to its new port (a README line, a flag). */
export function remapText(text: string, map: PortMap): string {
  return text.replace(/\b127\.0\.0\.1:(\d+)\b/g, (whole, port: string) => {
    const to = map.get(Number(port));
    return to === undefined ? whole : `127.0.0.1:${to}`;
  });
}

/** The quickstart's example configs, copied with every listen port moved to a free one. */
export interface RemappedQuickstart {
  /** The ports the copies use; `issuer` is where the development issuer's keys are served. */
  readonly ports: QuickstartPorts;
  /** Example port -> its replacement. */
  readonly map: PortMap;
  /** A directory of its own holding the copy of examples/rolegate.yaml, as `rolegate.yaml`. */
  readonly rolegateDir: string;
  readonly rolegateConfig: string;
  readonly envoyConfig: string;
  /** The directory the copies are in (readable by any user, for containers). */
  readonly dir: string;
}

/** Writes `text` to `file`, readable by anyone (a container's non-root user mounts it). */
function writeShared(file: string, text: string): void {
  writeFileSync(file, text);
  chmodSync(file, 0o644);
}

/** A directory of its own under the system temp dir, readable by anyone. */
function sharedTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * Copies examples/rolegate.yaml and envoy/envoy.yaml with every listen port
 * (rolegate gRPC, admin, HTTP check; Envoy listener, admin; the upstream)
 * replaced by a free one, plus any `extra` ports (e.g. Prometheus's).
 *
 * The development issuer keeps its name, `http://127.0.0.1:9100`: `dev-token`
 * writes exactly that into `iss`, and the trust policies name it. What
 * moves is where its keys come from: `jwksUri` is `keys` (the JWKS of the
 * development issuer, served by the test on a free port), so nothing needs
 * 127.0.0.1:9100, which `--dev-issuer` always binds.
 * Throws if an example port is left anywhere in a copy.
 */
export async function remapQuickstart(
  keys: string,
  extra: readonly number[] = [],
): Promise<RemappedQuickstart> {
  const example = quickstartPorts();
  const listen = [
    example.listener,
    example.envoyAdmin,
    example.upstream,
    example.grpc,
    example.admin,
    example.http,
    ...extra,
  ];
  const map = new Map<number, number>();
  for (const port of listen) if (!map.has(port)) map.set(port, await freePort());

  const rolegate = remapPorts(
    parse(readFileSync(join(REPO, EXAMPLE_ROLEGATE_CONFIG), 'utf8')),
    map,
  ) as RolegateYaml;
  const devIssuer = `http://127.0.0.1:${example.issuer}`;
  const issuer = rolegate.issuers.find((i) => i.issuer === devIssuer);
  if (issuer === undefined) throw new Error(`${EXAMPLE_ROLEGATE_CONFIG} trusts no ${devIssuer}`);
  issuer.jwksUri = keys;
  const envoy = remapPorts(parse(readFileSync(join(REPO, EXAMPLE_ENVOY_CONFIG), 'utf8')), map);

  const dir = sharedTempDir('rolegate-quickstart-');
  const rolegateDir = join(dir, 'rolegate');
  mkdirSync(rolegateDir, { mode: 0o755 });
  chmodSync(rolegateDir, 0o755);
  const rolegateConfig = join(rolegateDir, 'rolegate.yaml');
  const envoyConfig = join(dir, 'envoy.yaml');
  const rolegateText = stringify(rolegate);
  const envoyText = stringify(envoy);
  writeShared(rolegateConfig, rolegateText);
  writeShared(envoyConfig, envoyText);
  assertNoneLeft({ [rolegateConfig]: rolegate, [envoyConfig]: envoy }, map);
  return {
    ports: portsOf(rolegateText, envoyText),
    map,
    rolegateDir,
    rolegateConfig,
    envoyConfig,
    dir,
  };
}

/** Throws when a port of `map` (an example's listen port) is still in one of `copies`. */
export function assertNoneLeft(copies: Readonly<Record<string, unknown>>, map: PortMap): void {
  for (const [file, parsed] of Object.entries(copies)) {
    const left = [...portsIn(parsed)].filter((port) => map.has(port));
    if (left.length > 0) throw new Error(`${file} still uses example port(s) ${left.join(', ')}`);
  }
}

/** Writes `text` as a file anyone can read into `dir`; returns its path. */
export function writeSharedFile(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeShared(file, text);
  return file;
}

/** Whether nothing listens on 127.0.0.1:`port`. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () =>
      server.close(() => resolve(true)),
    );
  });
}

/** The ports of `ports` that something listens on, as `port (name)`. */
export async function busyPorts(ports: Readonly<Record<string, number>>): Promise<string[]> {
  const busy: string[] = [];
  for (const [name, port] of Object.entries(ports)) {
    if (!(await portFree(port))) busy.push(`${port} (${name})`);
  }
  return busy;
}

/**
 * Resolves once Envoy's admin says LIVE, its `rolegate` cluster is healthy
 * and the echo upstream answers; throws after `timeoutMs` (default 60 s)
 * with what was seen last.
 */
export async function waitForQuickstart(ports: QuickstartPorts, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing yet';
  while (Date.now() < deadline) {
    try {
      const ready = await fetch(`http://127.0.0.1:${ports.envoyAdmin}/ready`);
      const readyText = (await ready.text()).trim();
      const clusters = await (await fetch(`http://127.0.0.1:${ports.envoyAdmin}/clusters`)).text();
      const health = /^rolegate::[^:\n]+:\d+::health_flags::(.*)$/m.exec(clusters)?.[1];
      const upstream = await fetch(`http://127.0.0.1:${ports.upstream}/`);
      await upstream.arrayBuffer();
      last = `envoy /ready ${ready.status} ${readyText}, rolegate cluster ${health ?? 'missing'}, upstream ${upstream.status}`;
      if (ready.ok && readyText === 'LIVE' && health === 'healthy' && upstream.ok) return;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`quickstart not ready after ${timeoutMs} ms: ${last}`);
}

/** Output of a shell run. */
export interface ShellResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `script` with bash in the repository root, as a user would type it.
 * `env` defaults to this process's environment; `timeoutMs` (default 120 s)
 * kills bash and rejects.
 */
export function runShell(
  script: string,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 120_000,
): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], {
      cwd: REPO,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`shell timed out after ${timeoutMs} ms: ${script.split('\n')[0] ?? ''}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** One response as `curl -i` printed it. */
export interface CurlResponse {
  readonly status: number;
  /** Lower-cased header names. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

/** Parses `curl -i` output (the last status line wins, after any 1xx). */
export function parseCurlI(output: string): CurlResponse {
  const text = output.replace(/\r\n/g, '\n');
  const blocks = text.split(/\n\n/);
  let i = 0;
  let status = 0;
  const headers = new Map<string, string>();
  while (i < blocks.length && /^HTTP\/[\d.]+ \d{3}/.test(blocks[i] ?? '')) {
    const lines = (blocks[i] ?? '').split('\n');
    status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(lines[0] ?? '')?.[1]);
    headers.clear();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    i++;
    if (status >= 200) break;
  }
  if (status === 0) throw new Error('no HTTP status line in curl output');
  return { status, headers, body: blocks.slice(i).join('\n\n') };
}

/** The headers the echo upstream reports it received, from its JSON body. */
export function echoedHeaders(body: string): Record<string, string> {
  const parsed = JSON.parse(body) as { headers?: Record<string, string> };
  return parsed.headers ?? {};
}

/** A quickstart's "try it" lines: the token line and the curls, in order. */
export interface TryLines {
  readonly token: string;
  readonly curls: readonly string[];
}

/** Picks the `TOKEN=...` line and the `curl ...` lines out of `lines`. */
export function tryLines(lines: readonly string[]): TryLines {
  const token = lines.find((l) => l.startsWith('TOKEN='));
  if (token === undefined) throw new Error('no TOKEN= line');
  return { token, curls: lines.filter((l) => l.startsWith('curl ')) };
}

/**
 * Runs the token line, then each curl line, in one bash (so `$TOKEN` carries
 * over, as in a user's shell), and returns each curl's parsed response.
 * `prelude` goes first (exports, a `docker` wrapper).
 */
export async function runTryLines(
  lines: TryLines,
  prelude = '',
  env: NodeJS.ProcessEnv = process.env,
): Promise<CurlResponse[]> {
  const marker = '@@rolegate-quickstart-curl@@';
  const script = [
    'set -e',
    prelude,
    lines.token,
    '[ -n "$TOKEN" ] || { echo "the TOKEN line produced no token" >&2; exit 3; }',
    ...lines.curls.flatMap((c) => [`printf '\\n${marker}\\n'`, c]),
  ].join('\n');
  const result = await runShell(script, env);
  if (result.code !== 0) {
    throw new Error(`the quickstart lines failed (exit ${result.code}): ${result.stderr.trim()}`);
  }
  return result.stdout
    .split(`\n${marker}\n`)
    .slice(1)
    .map((out) => parseCurlI(out));
}
