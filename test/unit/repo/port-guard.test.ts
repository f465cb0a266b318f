/**
 * The port guard (test/support/port-guard.ts, jest globalSetup) holds every
 * port `npm start` and the README quickstarts use, for the whole run: this
 * checks the list against the configs and the schema, and that the ports are
 * in fact taken while the tests run (whoever holds them: the guard, or a
 * developer's `npm start`).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { DEV_ISSUER } from '../../../src/cli/dev-issuer.js';
import { loadConfig } from '../../../src/config/load.js';
import { validateConfig } from '../../../src/config/schema.js';
import { freePort } from '../../harness/ports.js';
import {
  describeGuard,
  holdPorts,
  portsIn,
  reservedPorts,
  SCHEMA_DEFAULT_PORTS,
} from '../../support/port-guard.js';
import { quickstartPorts, REPO } from '../../support/quickstart.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/rolegate.yaml', import.meta.url));

/** Prometheus's `--web.listen-address` port in docker-compose.yml. */
function prometheusPort(): number {
  const compose = parse(readFileSync(join(REPO, 'docker-compose.yml'), 'utf8')) as {
    services: { prometheus: { command: string[] } };
  };
  const flag = compose.services.prometheus.command.find((c) =>
    c.startsWith('--web.listen-address='),
  );
  return Number(flag?.split(':').pop());
}

/** The error code binding 127.0.0.1:`port` gets now, or 'bound' when it succeeds. */
function tryBind(port: number): Promise<string> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () =>
      server.close(() => resolve('bound')),
    );
  });
}

describe('the port guard', () => {
  const reserved = reservedPorts(REPO);

  it('holds every port of npm start and the quickstarts, read from their configs', () => {
    const example = loadConfig(EXAMPLE).settings;
    const quickstart = quickstartPorts();
    const expected = [
      example.server.grpc.port,
      example.server.admin.port,
      example.server.http.port,
      example.access.listen.port,
      Number(new URL(DEV_ISSUER).port),
      ...Object.values(quickstart),
      prometheusPort(),
    ];
    expect(reserved).toEqual(expect.arrayContaining(expected));
    expect(reserved).toEqual([...new Set(reserved)].sort((a, b) => a - b));
  });

  it('falls back on the schema defaults for the listeners the example leaves out', () => {
    const { config } = validateConfig({});
    expect(SCHEMA_DEFAULT_PORTS).toEqual({
      http: config?.server.http.port,
      access: config?.access.listen.port,
    });
  });

  it('finds ports under port keys and after loopback addresses only', () => {
    const found = portsIn({
      server: { grpc: { port: 9001 }, workers: 2 },
      env: { PORT: '8081' },
      cluster: [{ port_value: 8080 }],
      command: ['--web.listen-address=127.0.0.1:9090', 'http://10.0.0.1:1234'],
      off: { port: 0 },
    });
    expect([...found].sort((a, b) => a - b)).toEqual([8080, 8081, 9001, 9090]);
  });

  it('has every reserved port taken while the tests run: binding one fails with EADDRINUSE', async () => {
    const results = await Promise.all(reserved.map(async (port) => [port, await tryBind(port)]));
    expect(results).toEqual(reserved.map((port) => [port, 'EADDRINUSE']));
  });

  it('holds a free port, counts one another process holds as busy, and frees its own on close', async () => {
    const port = await freePort();
    const first = await holdPorts([port]);
    try {
      expect(first).toMatchObject({ held: [port], busy: [] });
      expect(await tryBind(port)).toBe('EADDRINUSE');
      const second = await holdPorts([port]);
      expect(second).toMatchObject({ held: [], busy: [port] });
      await second.close();
      expect(describeGuard(second)).toBe(
        `port guard: 127.0.0.1 ports ${port} are taken for this run (${port} already in use by another process); a test that binds one fails with EADDRINUSE`,
      );
    } finally {
      await first.close();
    }
    expect(await tryBind(port)).toBe('bound');
  });
});
