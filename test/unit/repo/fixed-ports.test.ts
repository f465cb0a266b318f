/**
 * No test listens on, or configures a listener with, a fixed non-zero port:
 * every listener a test starts binds port 0 or a port picked free at run
 * time (test/harness/ports.ts), so `npm test` passes on a fresh clone and
 * beside a developer's `npm start`. The scanner (test/support/port-scan.ts)
 * is tested here too, on planted files (test/fixtures/fixed-ports/).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import {
  allows,
  formatFindings,
  notAllowed,
  scanForFixedPorts,
  type AllowedPort,
  type FixedPort,
} from '../../support/port-scan.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURES = join(ROOT, 'test', 'fixtures', 'fixed-ports');

/** The decoded peer address of a CheckRequest (Envoy's view of the client), never bound. */
const PEER_ADDRESS = 'a CheckRequest source/destination address: decoded data, never bound';
/** A config-parsing or validation test: the number is what the parser must return. */
const PARSED = 'config parsing: the value read back, nothing listens';

/**
 * Literal ports that are data, not listeners: in `file`, the number `value`
 * on a line holding `key`. Keep each entry to the one use it exempts.
 */
const ALLOWED: readonly AllowedPort[] = [
  // The one test comparing envoy/envoy.yaml renders the template with these; nothing starts it.
  ...(
    [
      ['adminPort', 9901],
      ['listenerPort', 8080],
      ['rolegatePort', 9001],
      ['upstreamPort', 8081],
    ] as const
  ).map(([key, value]) => ({
    file: 'test/e2e/envoy-smoke.test.ts',
    key,
    value,
    why: 'example render',
  })),
  // What the Helm chart and the deploy examples must say (rendered manifests), not what a test binds.
  { file: 'test/e2e/deploy-chart.test.ts', key: 'containerPort', value: 9001, why: 'chart output' },
  { file: 'test/e2e/deploy-chart.test.ts', key: 'containerPort', value: 9002, why: 'chart output' },
  { file: 'test/e2e/deploy-examples.test.ts', key: 'port_value', value: 9001, why: 'example' },
  ...(
    [
      ['test/integration/http-parity.test.ts', 40000],
      ['test/integration/simulate-parity.test.ts', 40000],
      ['test/unit/check/hostile-wire.test.ts', 1],
      ['test/unit/fuzz/check-request.test.ts', 40000],
      ['test/unit/request/normalize.test.ts', 5555],
      ['test/unit/request/normalize.test.ts', 1],
      ['test/unit/transport/decode-check-request.test.ts', 51234],
      ['test/unit/transport/decode-check-request.test.ts', 8443],
      ['test/unit/transport/proto-compat.test.ts', 51234],
      ['test/unit/transport/proto-compat.test.ts', 8443],
    ] as const
  ).map(([file, value]) => ({ file, key: 'port_value', value, why: PEER_ADDRESS })),
  ...(
    [
      ['test/unit/config/listen-host.test.ts', 7001],
      ['test/unit/config/listen-host.test.ts', 7002],
      ['test/unit/config/listen-host.test.ts', 9999],
      ['test/unit/config/rules.test.ts', 9999],
      ['test/unit/config/rules.test.ts', 9001],
      ['test/unit/config/rules.test.ts', 9003],
      ['test/unit/config/schema.test.ts', 9001],
      ['test/unit/config/source-position.test.ts', 9001],
    ] as const
  ).map(([file, value]) => ({ file, key: 'port', value, why: PARSED })),
  // The port guard's own parser reads these from a config-shaped object; nothing binds them.
  ...(
    [
      ['port', 9001],
      ['PORT', 8081],
      ['port_value', 8080],
      ['listen-address', 9090],
    ] as const
  ).map(([key, value]) => ({
    file: 'test/unit/repo/port-guard.test.ts',
    key,
    value,
    why: 'parser input',
  })),
  // Takes --dev-issuer out of the compose command, so nothing binds 127.0.0.1:9100.
  {
    file: 'test/e2e/quickstart-compose.test.ts',
    key: '.filter((arg) => arg !== ',
    value: 0,
    why: 'removes the flag',
  },
  // The cluster protocol's messages and a listen error's text: encoded and formatted, not bound.
  {
    file: 'test/unit/transport/cluster/protocol.test.ts',
    key: "kind: 'serving'",
    value: 9001,
    why: 'message codec data',
  },
  {
    file: 'test/unit/transport/cluster/protocol.test.ts',
    key: "kind: 'serving'",
    value: 9003,
    why: 'message codec data',
  },
  {
    file: 'test/unit/transport/cluster/protocol.test.ts',
    key: 'httpPort: -1',
    value: 1,
    why: 'an invalid message',
  },
  {
    file: 'test/unit/transport/listen-error.test.ts',
    key: "setting: 'server.grpc.port'",
    value: 9001,
    why: 'error text',
  },
];

/** Test sources (.ts and .mjs) under `dir`, as paths relative to the repository root with `/`. */
function testSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : testSources(path);
    return /\.(?:ts|mjs)$/.test(entry.name) ? [relative(ROOT, path).split(sep).join('/')] : [];
  });
}

function scanTree(): FixedPort[] {
  return testSources(join(ROOT, 'test')).flatMap((file) =>
    scanForFixedPorts(file, readFileSync(join(ROOT, file), 'utf8')),
  );
}

/** The numbers of the lines of `text` containing `marker`. */
function linesWith(text: string, marker: string): number[] {
  return text.split('\n').flatMap((line, i) => (line.includes(marker) ? [i + 1] : []));
}

/** The failure every fixed port gets: which file and line, and what to do. */
function failOnFixedPorts(found: readonly FixedPort[]): void {
  const bad = notAllowed(found, ALLOWED);
  if (bad.length > 0) {
    throw new Error(
      `a test uses a fixed listen port (bind port 0, or freePort() from test/harness/ports.ts, and read the bound port back; ` +
        `if the number is data, not a listener, add it to ALLOWED in test/unit/repo/fixed-ports.test.ts with why):\n${formatFindings(bad)}`,
    );
  }
}

describe('fixed listen ports in tests', () => {
  it('no test listens on, or configures a listener with, a fixed non-zero port', () => {
    const found = scanTree();
    expect(() => failOnFixedPorts(found)).not.toThrow();
  });

  it('every allowlist entry still matches a line (no stale exemptions)', () => {
    const found = scanTree();
    const stale = ALLOWED.filter((a) => !found.some((f) => allows(a, f)));
    expect(stale).toEqual([]);
  });
});

describe('the fixed-port scanner', () => {
  const planted = readFileSync(join(FIXTURES, 'planted.ts.txt'), 'utf8');
  const clean = readFileSync(join(FIXTURES, 'clean.ts.txt'), 'utf8');

  it('finds every planted fixed port, naming the file and line', () => {
    const found = scanForFixedPorts('test/e2e/planted.test.ts', planted);
    const lines = linesWith(planted, '// planted');
    expect(lines).toHaveLength(11);
    expect([...new Set(found.map((f) => f.line))]).toEqual(lines);
    expect(found.every((f) => f.file === 'test/e2e/planted.test.ts')).toBe(true);
    expect(found.map((f) => f.port)).toEqual([
      9003, 9001, 9003, 9003, 9002, 8081, 8080, 9090, 7001, 0, 0,
    ]);
    const first = planted.split('\n')[4]?.trim() ?? '';
    expect(formatFindings(found.slice(0, 1))).toBe(
      `test/e2e/planted.test.ts:5: listen call on a fixed port (port 9003): ${first}`,
    );
  });

  it('finds nothing in listeners on port 0 or a free port, in comments, or in data', () => {
    expect(scanForFixedPorts('test/e2e/clean.test.ts', clean)).toEqual([]);
  });

  it('fails the repository check when a planted file joins the tree, and only then', () => {
    const tree = scanTree();
    expect(() => failOnFixedPorts(tree)).not.toThrow();
    const withPlanted = [...tree, ...scanForFixedPorts('test/e2e/planted.test.ts', planted)];
    expect(() => failOnFixedPorts(withPlanted)).toThrow(
      /^test\/e2e\/planted\.test\.ts:6: fixed port in a config \(port 9001\): server\.listen/m,
    );
    // An allowlist entry exempts its own file only.
    const elsewhere = scanForFixedPorts('test/unit/config/rules.test.ts', planted);
    expect(notAllowed(elsewhere, ALLOWED).length).toBeGreaterThan(0);
  });
});
