/**
 * One image name for everyone: the build script, docker-compose.yml, the
 * Helm chart and the docs all say rolegate:<package.json version>, and the
 * Dockerfile stamps that version and the git commit into the OCI labels. A
 * version bump that misses one of them fails here, not at `helm install`
 * with an image that was never built under that tag.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..', '..');
const read = (...path: string[]): string => readFileSync(join(root, ...path), 'utf8');

const pkg = JSON.parse(read('package.json')) as { version: string; license: string };
const IMAGE = `rolegate:${pkg.version}`;
const chart = parse(read('deploy', 'helm', 'rolegate', 'Chart.yaml')) as { appVersion: unknown };
const values = parse(read('deploy', 'helm', 'rolegate', 'values.yaml')) as {
  image: { repository: string; tag: string };
};
const dockerfile = read('Dockerfile');
/** The runtime stage: what the shipped image is made of. */
const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

/** The LABEL instructions of the runtime stage, continuation lines joined, as key -> value. */
function labels(stage: string): Record<string, string> {
  const joined = stage.replace(/\\\n/g, ' ');
  const out: Record<string, string> = {};
  for (const line of joined.split('\n').filter((l) => l.startsWith('LABEL '))) {
    for (const m of line.matchAll(/([\w.-]+)="([^"]*)"/g)) out[m[1] ?? ''] = m[2] ?? '';
  }
  return out;
}

describe('the image name', () => {
  it("is the chart's appVersion", () => {
    expect(String(chart.appVersion)).toBe(pkg.version);
  });

  it('is what the chart pulls by default (tag empty: appVersion)', () => {
    const template = read('deploy', 'helm', 'rolegate', 'templates', 'deployment.yaml');
    // The expression this test resolves; changing it must change the test.
    expect(template).toContain(
      'image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"',
    );
    const tag = values.image.tag === '' ? String(chart.appVersion) : values.image.tag;
    expect(`${values.image.repository}:${tag}`).toBe(IMAGE);
  });

  it("is scripts/build-image.sh's default", async () => {
    const env = { ...process.env };
    delete env['ROLEGATE_IMAGE'];
    const { stdout } = await run(
      'bash',
      [join(root, 'scripts', 'build-image.sh'), '--print-name'],
      {
        env,
      },
    );
    expect(stdout.trim()).toBe(IMAGE);
  });

  it("is docker-compose.yml's default for rolegate", () => {
    const compose = parse(read('docker-compose.yml')) as {
      services: { rolegate: { image: string } };
    };
    expect(compose.services.rolegate.image).toBe(`\${ROLEGATE_IMAGE:-${IMAGE}}`);
  });

  it('is the one the docs tag and push, and no file names the old rolegate:local', () => {
    const eks = read('docs', 'eks.md');
    expect(eks).toContain(`docker tag ${IMAGE} `);
    for (const file of [
      'README.md',
      'docs/eks.md',
      'docs/ci.md',
      'docker-compose.yml',
      'scripts/build-image.sh',
      '.ci/run',
      'deploy/helm/rolegate/README.md',
      'test/e2e/deploy-container.test.ts',
    ])
      expect({ file, stale: read(file).includes('rolegate:local') }).toEqual({
        file,
        stale: false,
      });
  });
});

describe('Dockerfile', () => {
  it('labels the runtime stage with the OCI annotations', () => {
    const l = labels(runtime);
    expect(l).toMatchObject({
      'org.opencontainers.image.title': 'rolegate',
      'org.opencontainers.image.licenses': pkg.license,
      'org.opencontainers.image.version': '${ROLEGATE_VERSION}',
      'org.opencontainers.image.revision': '${ROLEGATE_REVISION}',
    });
    expect(l['org.opencontainers.image.source']).toMatch(
      /^https:\/\/github\.com\/[\w.-]+\/[\w.-]+$/,
    );
  });

  it('defaults the version label to package.json and takes the revision from the build script', () => {
    expect(/^ARG ROLEGATE_VERSION=(\S+)$/m.exec(runtime)?.[1]).toBe(pkg.version);
    expect(runtime).toMatch(/^ARG ROLEGATE_REVISION(=\S*)?$/m);
    const script = read('scripts', 'build-image.sh');
    expect(script).toContain('--build-arg "ROLEGATE_REVISION=$revision"');
    expect(script).toContain('--build-arg "ROLEGATE_VERSION=$version"');
    expect(script).toMatch(/git -C "\$repo" rev-parse HEAD/);
  });

  it('starts rolegate without a shell: ENTRYPOINT and CMD in exec form', () => {
    for (const instruction of ['ENTRYPOINT', 'CMD']) {
      const line = new RegExp(`^${instruction} (.+)$`, 'm').exec(runtime)?.[1] ?? '';
      const argv = JSON.parse(line) as unknown;
      expect(Array.isArray(argv)).toBe(true);
      expect((argv as string[])[0]).not.toMatch(/(^|\/)(ba|da)?sh$/);
    }
    expect((JSON.parse(/^ENTRYPOINT (.+)$/m.exec(runtime)?.[1] ?? '[]') as string[])[0]).toBe(
      'node',
    );
  });
});
