/**
 * The port guard (jest `globalSetup` of both projects, see jest.config.js):
 * for the whole run it holds a listening socket on 127.0.0.1 for every port
 * a developer's `npm start` and the README quickstarts use, read from the
 * example configs. A test that binds one of them then fails with
 * EADDRINUSE in every run, exactly as it would beside `npm start`, instead
 * of only on the machine where that port happens to be busy.
 *
 * Jest loads this file on its own (CommonJS, without the moduleNameMapper),
 * so it imports only Node built-ins and npm packages, never a sibling module.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * Listen ports rolegate takes from its schema when `examples/rolegate.yaml`
 * names none: `server.http.port` and `access.listen.port`
 * (test/unit/repo/port-guard.test.ts checks them against the schema).
 */
export const SCHEMA_DEFAULT_PORTS = { http: 9003, access: 9004 } as const;

/** Files whose loopback ports `npm start` and the quickstarts bind, relative to the repository root. */
export const RESERVED_PORT_SOURCES = [
  'examples/rolegate.yaml',
  'envoy/envoy.yaml',
  'docker-compose.yml',
  'observe/prometheus.yml',
] as const;

/** Keys whose numeric value is a port. */
const PORT_KEYS = new Set(['port', 'port_value', 'PORT']);
/** A loopback address with a port inside a string (URLs, `--web.listen-address=`, targets, condition keys). */
const LOOPBACK_PORT = /\b(?:127\.0\.0\.1|localhost):(\d{1,5})\b/g;

/** Every port under a `port` / `port_value` / `PORT` key or after a loopback address in `node`. */
export function portsIn(node: unknown, into = new Set<number>()): Set<number> {
  if (typeof node === 'string') {
    for (const m of node.matchAll(LOOPBACK_PORT)) into.add(Number(m[1]));
  } else if (Array.isArray(node)) {
    for (const item of node) portsIn(item, into);
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      const port = PORT_KEYS.has(key) ? Number(value) : NaN;
      if (Number.isInteger(port) && port > 0 && port < 65_536) into.add(port);
      else portsIn(value, into);
    }
  }
  return into;
}

/**
 * The ports the guard holds, ascending: every port in {@link RESERVED_PORT_SOURCES}
 * under `root` plus {@link SCHEMA_DEFAULT_PORTS}.
 */
export function reservedPorts(root: string): number[] {
  const ports = new Set<number>(Object.values(SCHEMA_DEFAULT_PORTS));
  for (const file of RESERVED_PORT_SOURCES) {
    portsIn(parse(readFileSync(join(root, file), 'utf8')) as unknown, ports);
  }
  return [...ports].sort((a, b) => a - b);
}

/** What {@link holdPorts} got. */
export interface PortGuard {
  /** Ports this process listens on now. */
  readonly held: readonly number[];
  /** Ports another process already listens on (e.g. a running `npm start`): held either way. */
  readonly busy: readonly number[];
  /** Closes this process's sockets. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port`; undefined when something else already does. */
function hold(port: number): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve(undefined);
      else reject(new Error(`port guard: cannot hold 127.0.0.1:${port}: ${err.message}`));
    });
    // exclusive: a cluster worker in this process must not share it either.
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      // Never what keeps jest alive if the teardown does not run.
      server.unref();
      resolve(server);
    });
  });
}

/** Holds every port of `ports` on 127.0.0.1 (a busy one counts as held). */
export async function holdPorts(ports: readonly number[]): Promise<PortGuard> {
  const servers: Server[] = [];
  const held: number[] = [];
  const busy: number[] = [];
  try {
    for (const port of ports) {
      const server = await hold(port);
      if (server === undefined) busy.push(port);
      else {
        servers.push(server);
        held.push(port);
      }
    }
  } catch (err) {
    for (const server of servers) server.close();
    throw err;
  }
  const close = async (): Promise<void> => {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  };
  return { held, busy, close };
}

/** The one line the setup prints. */
export function describeGuard(guard: Pick<PortGuard, 'held' | 'busy'>): string {
  const all = [...guard.held, ...guard.busy].sort((a, b) => a - b);
  const busy =
    guard.busy.length === 0 ? '' : ` (${guard.busy.join(', ')} already in use by another process)`;
  return `port guard: 127.0.0.1 ports ${all.join(', ')} are taken for this run${busy}; a test that binds one fails with EADDRINUSE`;
}

/** Where the guard waits for the teardown: the same key in port-guard-teardown.ts. */
const GUARD_KEY = Symbol.for('rolegate.test.portGuard');

/** jest `globalSetup`: holds {@link reservedPorts} until `globalTeardown`. */
export default async function setup(globalConfig: { rootDir: string }): Promise<void> {
  const registry = globalThis as Record<symbol, PortGuard | undefined>;
  // Watch mode runs the setup again while the first guard still holds the ports.
  if (registry[GUARD_KEY] !== undefined) return;
  const guard = await holdPorts(reservedPorts(globalConfig.rootDir));
  registry[GUARD_KEY] = guard;
  console.log(describeGuard(guard));
}
