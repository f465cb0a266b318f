/**
 * The chart's container spec run for real: the Deployment that `helm template`
 * renders (image, args, env, ports, probes, volume mounts, user, read-only
 * root filesystem, dropped capabilities) becomes a `docker run` of the real
 * image (rolegate:<package.json version>, scripts/build-image.sh) on the host
 * network, with every shell in the image masked by /dev/null: nothing the
 * pod does may need one. The image's OCI labels are checked too. The
 * config volume is laid out the way the kubelet lays out a ConfigMap
 * (`..<timestamp>/rolegate.yaml`, `..data -> ..<timestamp>`,
 * `rolegate.yaml -> ..data/rolegate.yaml`). The test calls the HTTP probes,
 * checks grpc.health.v1 as the kubelet's gRPC probe does, swaps `..data` to a
 * new config as the kubelet does on a ConfigMap update (the hash in
 * rolegate_config_info must change), then sends SIGTERM and checks the pod
 * would leave the rotation and exit 0 inside terminationGracePeriodSeconds.
 */
import { execFile } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { service as healthService } from 'grpc-health-check';
import { parse, stringify } from 'yaml';

import { helmTemplate, parseObjects, type K8sObject } from '../harness/deploy.js';
import { freePort } from '../harness/ports.js';

const run = promisify(execFile);
const VERSION = (
  JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;
/** What scripts/build-image.sh tags by default (test/unit/deploy/image.test.ts holds it to that). */
const IMAGE = process.env['ROLEGATE_IMAGE'] ?? `rolegate:${VERSION}`;

/**
 * `--mount` flags that lay /dev/null over every shell the image has (resolved
 * through symlinks, so /bin/sh -> dash is masked once): a process that execs
 * one gets EACCES. Found by asking node inside the image, which needs no shell.
 */
async function maskShells(): Promise<string[]> {
  const candidates = [
    '/bin/sh',
    '/bin/bash',
    '/bin/dash',
    '/usr/bin/sh',
    '/usr/bin/bash',
    '/usr/bin/dash',
    '/bin/busybox',
  ];
  const { stdout } = await run('docker', [
    'run',
    '--rm',
    '--network',
    'none',
    '--entrypoint',
    'node',
    IMAGE,
    '-e',
    `const fs = require('fs');
     const found = ${JSON.stringify(candidates)}.filter((p) => fs.existsSync(p)).map((p) => fs.realpathSync(p));
     process.stdout.write(JSON.stringify([...new Set(found)]));`,
  ]);
  return (JSON.parse(stdout) as string[]).flatMap((shell) => [
    '--mount',
    `type=bind,source=/dev/null,target=${shell},readonly`,
  ]);
}

interface Probe {
  httpGet?: { path: string; port: string | number };
  grpc?: { port: number; service?: string };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface Container {
  image: string;
  args: string[];
  env: { name: string; value: string }[];
  ports: { name: string; containerPort: number }[];
  startupProbe: Probe;
  livenessProbe: Probe;
  readinessProbe: Probe;
  securityContext: {
    readOnlyRootFilesystem: boolean;
    allowPrivilegeEscalation: boolean;
    capabilities: { drop: string[] };
  };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Pod {
  terminationGracePeriodSeconds: number;
  securityContext: { runAsUser: number; runAsGroup: number };
  containers: Container[];
  volumes: { name: string; configMap?: { name: string }; emptyDir?: unknown }[];
}

/** A directory laid out like a kubelet ConfigMap volume. */
class ConfigMapDir {
  private generation = 0;
  private current: string | undefined;
  constructor(readonly dir: string) {
    mkdirSync(dir, { mode: 0o755 });
    // mkdtemp's parent is 0700: the container's uid 1000 must traverse it.
    chmodSync(join(dir, '..'), 0o755);
  }
  /** Write a new timestamped dir and swap `..data` to it atomically (rename), like atomic_writer.go. */
  publish(files: Record<string, string>): void {
    const ts = `..2026_11_30_00_00_0${this.generation++}.${process.pid}`;
    mkdirSync(join(this.dir, ts), { mode: 0o755 });
    for (const [name, text] of Object.entries(files))
      writeFileSync(join(this.dir, ts, name), text, { mode: 0o644 });
    symlinkSync(ts, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    // The kubelet then deletes the previous version's directory.
    if (this.current !== undefined) rmSync(join(this.dir, this.current), { recursive: true });
    this.current = ts;
    for (const name of Object.keys(files)) {
      try {
        symlinkSync(join('..data', name), join(this.dir, name));
      } catch {
        // already a link to ..data/<name>
      }
    }
  }
}

function healthCheck(port: number, service = ''): Promise<string> {
  const Client = grpc.makeGenericClientConstructor(healthService, 'grpc.health.v1.Health');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as {
    check: (r: object, o: object, cb: (e: Error | null, r?: { status: string }) => void) => void;
    close: () => void;
  };
  return new Promise((resolve, reject) =>
    client.check({ service }, { deadline: Date.now() + 2000 }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res?.status ?? 'missing');
    }),
  );
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}: ${String(last)}`);
}

const configHash = async (adminPort: number): Promise<string | undefined> => {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  return /^rolegate_config_info\{hash="([^"]+)"\} 1$/m.exec(text)?.[1];
};

describe('the chart container spec under Docker', () => {
  const work = mkdtempSync(join(tmpdir(), 'rolegate-pod-'));
  const configDir = new ConfigMapDir(join(work, 'config'));
  let grpcPort = 0;
  let adminPort = 0;
  let pod: Pod;
  let container: Container;
  let configMap: K8sObject;
  let id = '';
  let noShell: string[] = [];

  beforeAll(async () => {
    try {
      await run('docker', ['image', 'inspect', IMAGE]);
    } catch (err) {
      throw new Error(
        `image ${IMAGE} not found or no Docker engine (CI=${process.env['CI'] ?? 'unset'}): ${String(err)}. ` +
          'Start dockerd and run scripts/build-image.sh (bash .ci/run does both; docs/ci.md).',
      );
    }
    noShell = await maskShells();
    grpcPort = await freePort();
    adminPort = await freePort();
    const objects = parseObjects(
      await helmTemplate([
        '--set',
        `image.repository=${IMAGE.split(':')[0]}`,
        '--set',
        `image.tag=${IMAGE.split(':')[1] ?? 'latest'}`,
        // Free ports on the shared host network; the chart must carry them to the container.
        '--set',
        `config.server.grpc.port=${grpcPort}`,
        '--set',
        `config.server.admin.port=${adminPort}`,
      ]),
    );
    const deployment = objects.find((o) => o.kind === 'Deployment') as K8sObject;
    configMap = objects.find((o) => o.kind === 'ConfigMap') as K8sObject;
    pod = (deployment.spec as { template: { spec: Pod } }).template.spec;
    container = pod.containers[0] as Container;
    expect(container.image).toBe(IMAGE);

    configDir.publish(configMap.data ?? {});

    // The pod spec, field by field, as docker run flags.
    const flags = [
      'run',
      '-d',
      '--network',
      'host',
      '--name',
      `rolegate-pod-${process.pid}-${Date.now()}`,
    ];
    flags.push('--user', `${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`);
    if (container.securityContext.readOnlyRootFilesystem) flags.push('--read-only');
    if (!container.securityContext.allowPrivilegeEscalation)
      flags.push('--security-opt', 'no-new-privileges');
    for (const cap of container.securityContext.capabilities.drop) flags.push('--cap-drop', cap);
    for (const e of container.env) flags.push('--env', `${e.name}=${e.value}`);
    // A pod has its own network namespace; here the container shares the
    // host's, and tests stay on loopback. The chart's 0.0.0.0 is asserted on
    // the rendered spec; the run binds what a pod's loopback would.
    expect(container.env).toContainEqual({ name: 'ROLEGATE_LISTEN_HOST', value: '0.0.0.0' });
    flags.push('--env', 'ROLEGATE_LISTEN_HOST=127.0.0.1');
    for (const m of container.volumeMounts) {
      const volume = pod.volumes.find((v) => v.name === m.name);
      if (volume?.configMap !== undefined) {
        expect(volume.configMap.name).toBe(configMap.metadata.name);
        flags.push(
          '--mount',
          `type=bind,source=${configDir.dir},target=${m.mountPath}${m.readOnly === true ? ',readonly' : ''}`,
        );
      } else if (volume?.emptyDir !== undefined) {
        flags.push('--tmpfs', `${m.mountPath}:uid=${pod.securityContext.runAsUser}`);
      } else {
        throw new Error(`volume ${m.name}: only configMap and emptyDir volumes are mapped`);
      }
    }
    flags.push(...noShell);
    flags.push(container.image, ...container.args);
    id = (await run('docker', flags)).stdout.trim();
  }, 60_000);

  afterAll(async () => {
    if (id !== '') await run('docker', ['rm', '-f', id]).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });

  const logs = async () => {
    const { stdout, stderr } = await run('docker', ['logs', id]).catch(() => ({
      stdout: '',
      stderr: '',
    }));
    return stdout + stderr;
  };

  it('masks the shells of the image for the whole run (a masked shell cannot start)', async () => {
    // The image has one (the base images do); were the list empty, nothing would be proven.
    expect(noShell.length).toBeGreaterThan(0);
    const target = /target=([^,]+)/.exec(noShell[1] ?? '')?.[1] ?? '';
    await expect(
      run('docker', [
        'run',
        '--rm',
        '--network',
        'none',
        ...noShell,
        '--entrypoint',
        target,
        IMAGE,
        '-c',
        'true',
      ]),
    ).rejects.toThrow(/permission denied|exec/i);
    // docker run on a busy machine takes seconds: more than jest's default 5 s.
  }, 30_000);

  it('answers --version read-only, as uid 1000, with no shell: ENTRYPOINT and CMD in exec form', async () => {
    const { stdout } = await run('docker', [
      'run',
      '--rm',
      '--network',
      'none',
      '--read-only',
      '--user',
      '1000:1000',
      '--cap-drop',
      'ALL',
      ...noShell,
      IMAGE,
      '--version',
    ]);
    expect(stdout).toContain(VERSION);
    const { stdout: config } = await run('docker', [
      'image',
      'inspect',
      IMAGE,
      '--format',
      '{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{json .Config.Shell}}',
    ]);
    const [entrypoint, cmd] = config
      .trim()
      .split(' ')
      .map((j) => JSON.parse(j) as unknown);
    expect((entrypoint as string[])[0]).toBe('node');
    expect(cmd).toEqual(['serve', '--config', '/etc/rolegate/rolegate.yaml']);
    // docker run on a busy machine takes seconds: more than jest's default 5 s.
  }, 30_000);

  it('carries the OCI labels: version from package.json, revision the git commit', async () => {
    const { stdout } = await run('docker', [
      'image',
      'inspect',
      IMAGE,
      '--format',
      '{{json .Config.Labels}}',
    ]);
    const labels = JSON.parse(stdout) as Record<string, string>;
    const pkg = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8'),
    ) as { license: string };
    expect(labels).toMatchObject({
      'org.opencontainers.image.title': 'rolegate',
      'org.opencontainers.image.version': VERSION,
      'org.opencontainers.image.licenses': pkg.license,
    });
    expect(labels['org.opencontainers.image.source']).toMatch(/^https:\/\/github\.com\//);
    // scripts/build-image.sh passes `git rev-parse HEAD`; the Dockerfile's default is "unknown".
    expect(labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}$/);
    // docker run on a busy machine takes seconds: more than jest's default 5 s.
  }, 30_000);

  it('carries the configured ports into the container spec', () => {
    expect(container.ports.map((p) => [p.name, p.containerPort])).toEqual([
      ['grpc', grpcPort],
      ['admin', adminPort],
    ]);
  });

  it('passes its startup probe: grpc.health.v1 SERVING on the gRPC port', async () => {
    const port = container.startupProbe.grpc?.port;
    expect(port).toBe(grpcPort);
    const status = await until('gRPC health SERVING', async () =>
      (await healthCheck(port as number, container.startupProbe.grpc?.service ?? '')) === 'SERVING'
        ? 'SERVING'
        : undefined,
    ).catch(async (err: unknown) => {
      throw new Error(`${String(err)}\ncontainer log:\n${await logs()}`);
    });
    expect(status).toBe('SERVING');
  }, 40_000);

  // As the kubelet runs them once the startup probe passed: a failed liveness probe restarts the
  // pod, so /healthz must answer 200 at once; readiness only gates traffic, and with several
  // workers the gRPC port says SERVING as soon as one of them does while /readyz waits for all,
  // so it must turn 200 within the window the chart gives it (period x threshold).
  it('passes its liveness probe at once and its readiness probe within its window', async () => {
    const probeUrl = (probe: Probe) => {
      const named = container.ports.find((p) => p.name === probe.httpGet?.port);
      return `http://127.0.0.1:${named?.containerPort}${probe.httpGet?.path}`;
    };
    const liveness = await fetch(probeUrl(container.livenessProbe));
    expect({ path: container.livenessProbe.httpGet?.path, status: liveness.status }).toEqual({
      path: '/healthz',
      status: 200,
    });

    const readiness = container.readinessProbe;
    const windowMs = (readiness.periodSeconds ?? 10) * (readiness.failureThreshold ?? 3) * 1000;
    const seen: number[] = [];
    const status = await until(
      '/readyz 200',
      async () => {
        // 0 stands for a refused connection, so it shows in `seen`.
        const code = await fetch(probeUrl(readiness)).then(
          (res) => res.status,
          () => 0,
        );
        seen.push(code);
        return code === 200 ? code : undefined;
      },
      windowMs,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; statuses seen: ${seen.join(',')}`);
    });
    expect({ path: readiness.httpGet?.path, status }).toEqual({ path: '/readyz', status: 200 });
    // Nothing but "not yet" (503) before it: a refused connection or another status is a defect.
    expect(seen.filter((s) => s !== 200 && s !== 503)).toEqual([]);
  }, 40_000);

  it('runs as the pod user on a read-only root filesystem', async () => {
    const { stdout } = await run('docker', [
      'inspect',
      id,
      '--format',
      '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}',
    ]);
    expect(stdout.trim()).toBe('1000:1000 true');
    await expect(
      run('docker', ['exec', id, 'node', '-e', 'require("fs").writeFileSync("/app/x", "x")']),
    ).rejects.toThrow(/EROFS|read-only/);
  });

  it('reloads its config when the kubelet swaps ..data to a new ConfigMap version', async () => {
    const before = await until('rolegate_config_info', () => configHash(adminPort));
    const config = parse(configMap.data?.['rolegate.yaml'] ?? '') as Record<string, unknown>;
    config['routes'] = [
      {
        method: 'GET',
        path: '/orders/{id}',
        action: 'orders:GetOrder',
        resource: 'arn:rolegate:orders:::order/{id}',
      },
    ];
    configDir.publish({ 'rolegate.yaml': stringify(config) });
    const after = await until('a new config hash', async () => {
      const h = await configHash(adminPort);
      return h !== undefined && h !== before ? h : undefined;
    }).catch(async (err: unknown) => {
      throw new Error(`${String(err)}\ncontainer log:\n${await logs()}`);
    });
    expect(after).not.toBe(before);
    expect((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status).toBe(200);
  }, 40_000);

  it('on SIGTERM leaves the rotation, then exits 0 within terminationGracePeriodSeconds', async () => {
    const started = Date.now();
    await run('docker', ['kill', '--signal', 'TERM', id]);
    await until('/readyz 503', async () =>
      (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status === 503 ? true : undefined,
    );
    expect(await healthCheck(grpcPort)).toBe('NOT_SERVING');
    const { stdout } = await run('docker', ['wait', id], {
      timeout: pod.terminationGracePeriodSeconds * 1000,
    });
    expect(stdout.trim()).toBe('0');
    expect(Date.now() - started).toBeLessThan(pod.terminationGracePeriodSeconds * 1000);
  }, 60_000);
});
